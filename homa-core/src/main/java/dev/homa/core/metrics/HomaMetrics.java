package dev.homa.core.metrics;

import dev.homa.nic.frame.PriorityMapping;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The transport's counters, modelled on the kernel's {@code homa_metrics}: packets and bytes per packet type and
 * per priority level in both directions, retransmissions, timeouts, grants, CUTOFFS, drops by reason, pool use,
 * RPC life cycle and peers.
 * <p>
 * Single writer: only the protocol thread calls the mutators; each is a plain read plus an opaque write of one
 * 64-bit array slot (a plain store on x86: no fence, no lock, no allocation; an ordered store cost a visible
 * share of a small RPC's engine time), and readers on other threads see every slot's value without tearing,
 * at most a moment late. A {@link MetricsSnapshot} copies all slots; slots are
 * read one by one, so a snapshot is consistent per counter, not across counters ("consistent enough" for
 * monitoring, as Aeron's counters are).
 * <p>
 * Counter ids are the {@code int} constants below; per-type counters take a Homa opcode (0x10..0x18), per-priority
 * counters a level 0..7, drop counters an index from {@link #dropReasonCount()}.
 */
public final class HomaMetrics
{
    /** Lowest Homa opcode (DATA). */
    public static final int FIRST_TYPE = 0x10;
    /** Number of opcodes counted (DATA .. ACK). */
    public static final int TYPE_COUNT = 9;

    /** Packets sent, per type: {@code PACKETS_SENT + type - FIRST_TYPE}. */
    public static final int PACKETS_SENT = 0;
    /** Bytes (Homa header + payload) sent, per type. */
    public static final int BYTES_SENT = PACKETS_SENT + TYPE_COUNT;
    /** Packets received and accepted, per type. */
    public static final int PACKETS_RECEIVED = BYTES_SENT + TYPE_COUNT;
    /** Bytes received and accepted, per type. */
    public static final int BYTES_RECEIVED = PACKETS_RECEIVED + TYPE_COUNT;
    /** Packets sent, per priority level. */
    public static final int PACKETS_SENT_PRIORITY = BYTES_RECEIVED + TYPE_COUNT;
    /** Packets received, per priority level the driver saw (packets without a level are not counted here). */
    public static final int PACKETS_RECEIVED_PRIORITY = PACKETS_SENT_PRIORITY + PriorityMapping.LEVELS;

    private static final int SCALARS = PACKETS_RECEIVED_PRIORITY + PriorityMapping.LEVELS;

    /** DATA packets sent again in answer to a RESEND or an RPC_UNKNOWN. */
    public static final int RETRANSMITTED_PACKETS = SCALARS;
    /** RESEND packets this host asked for because of silence. */
    public static final int RESENDS_REQUESTED = SCALARS + 1;
    /** Client RPCs aborted because the server stayed silent for timeout_ticks. */
    public static final int CLIENT_TIMEOUTS = SCALARS + 2;
    /** Server RPCs discarded because the client stayed silent for timeout_ticks. */
    public static final int SERVER_TIMEOUTS = SCALARS + 3;
    /** BUSY packets sent in answer to a RESEND. */
    public static final int BUSY_ANSWERS = SCALARS + 4;
    /** RPC_UNKNOWN packets sent in answer to a RESEND for an unknown RPC. */
    public static final int UNKNOWN_ANSWERS = SCALARS + 5;
    /** Client RPCs restarted because the server answered RPC_UNKNOWN. */
    public static final int CLIENT_RESTARTS = SCALARS + 6;
    /** Client RPCs created (homaSend). */
    public static final int CLIENT_RPCS_CREATED = SCALARS + 7;
    /** Server RPCs created (first DATA of a new request). */
    public static final int SERVER_RPCS_CREATED = SCALARS + 8;
    /** Client RPCs completed with a response. */
    public static final int CLIENT_RPCS_COMPLETED = SCALARS + 9;
    /** Server RPCs freed by an ACK. */
    public static final int SERVER_RPCS_ACKED = SCALARS + 10;
    /** RPCs aborted by the application or by closing a socket. */
    public static final int RPCS_ABORTED = SCALARS + 11;
    /** Gauge: RPCs alive on the protocol thread (client and server). */
    public static final int ACTIVE_RPCS = SCALARS + 12;
    /** Gauge: server RPCs alive. */
    public static final int ACTIVE_SERVER_RPCS = SCALARS + 13;
    /** Gauge: peers in the peer table. */
    public static final int PEERS = SCALARS + 14;
    /** Peers evicted (idle or least recently used when the table was full). */
    public static final int PEERS_EVICTED = SCALARS + 15;
    /** Gauge: receive-pool pages in use (by messages being reassembled or loaned to the application). */
    public static final int RECEIVE_PAGES_IN_USE = SCALARS + 16;
    /** Gauge: send-pool pages in use. */
    public static final int SEND_PAGES_IN_USE = SCALARS + 17;
    /** Messages that had to wait because the receive pool was exhausted. */
    public static final int RECEIVE_POOL_WAITS = SCALARS + 18;
    /** Incoming messages completely reassembled. */
    public static final int MESSAGES_RECEIVED = SCALARS + 19;
    /** Payload bytes of incoming messages completely reassembled. */
    public static final int MESSAGE_BYTES_RECEIVED = SCALARS + 20;
    /** DATA payload bytes that duplicated bytes already received. */
    public static final int DUPLICATE_BYTES = SCALARS + 21;
    /** Times the cutoff calculator installed a new cutoff set. */
    public static final int CUTOFF_CHANGES = SCALARS + 22;
    /** Requests marked FLAG_INCAST by this host as a client. */
    public static final int INCAST_MARKED_REQUESTS = SCALARS + 23;
    /** Responses this host sent with the reduced (incast) unscheduled limit. */
    public static final int INCAST_LIMITED_RESPONSES = SCALARS + 24;
    /** Times the pacer held packets back because the NIC queue was at its cap. */
    public static final int PACER_THROTTLED = SCALARS + 25;
    /** Errors thrown inside the duty cycle and handed to the error handler. */
    public static final int ERRORS = SCALARS + 26;
    /** Explicit ACK packets that freed nothing (unknown ids are ignored). */
    public static final int ACKS_IGNORED = SCALARS + 27;

    /** Messages refused although reserved: the send pool's free space was split between slot and whole pages. */
    public static final int SEND_POOL_FRAGMENTED = SCALARS + 28;
    /** Peers presumed dead after timeout_resends rounds of RESENDs went unanswered (their RPCs were aborted). */
    public static final int PEER_TIMEOUTS = SCALARS + 29;

    /** Server RPCs receiving a request reclaimed after maxUnansweredResends RESEND rounds went unanswered. */
    public static final int SERVER_RPCS_RECLAIMED = SCALARS + 30;
    /** RESENDs answered short or not at all because the RPC had retransmitted its budget (retransmitBudgetPercent). */
    public static final int RETRANSMIT_BUDGET_SPENT = SCALARS + 31;
    /** Answers not sent: RPC_UNKNOWN or ACK past a per-peer or unknown-host rate limit (maxAnswersPerPeerPerTick,
     * maxAnswersToUnknownPerTick), a second BUSY for one RPC in a tick, a second restart in a resend interval. */
    public static final int ANSWERS_LIMITED = SCALARS + 32;
    /** Messages that had to wait for receive-pool pages because their peer held maxReceiveBytesPerPeer already. */
    public static final int RECEIVE_PEER_LIMIT_WAITS = SCALARS + 33;

    /** Answers to packets for ports without a socket: ICMP port unreachable (raw) or an in-band notice. */
    public static final int UNREACHABLE_ANSWERS = SCALARS + 34;
    /** RPCs ended because their peer said nothing listens there (port, protocol or host unreachable). */
    public static final int RPCS_UNREACHABLE = SCALARS + 35;
    /** Client RPCs ended with a timeout because their deadline passed (HomaSocket.call with a timeout). */
    public static final int DEADLINES_EXPIRED = SCALARS + 36;

    private static final int ENGINE_DROPS = SCALARS + 37;

    /** Dropped: no socket bound to the destination port. */
    public static final int DROP_UNKNOWN_PORT = ENGINE_DROPS;
    /** Dropped: packet names an RPC this host does not know (and cannot create). */
    public static final int DROP_UNKNOWN_RPC = ENGINE_DROPS + 1;
    /** Dropped: the server RPC table is full. */
    public static final int DROP_MAX_SERVER_RPCS = ENGINE_DROPS + 2;
    /** Dropped: the peer table is full and no peer could be evicted. */
    public static final int DROP_MAX_PEERS = ENGINE_DROPS + 3;
    /** Dropped: no receive-pool pages for the message (it waits; RESEND recovers the bytes later). */
    public static final int DROP_RECEIVE_POOL = ENGINE_DROPS + 4;
    /** Dropped: DATA whose message length differs from the message's first packet. */
    public static final int DROP_LENGTH_MISMATCH = ENGINE_DROPS + 5;
    /** Dropped: the message already has the maximum number of gaps. */
    public static final int DROP_TOO_MANY_GAPS = ENGINE_DROPS + 6;
    /** Dropped: DATA for a message that is already complete. */
    public static final int DROP_COMPLETE_MESSAGE = ENGINE_DROPS + 7;
    /** Dropped on send: the driver's packet pool or transmit queue was full. */
    public static final int DROP_TX_FULL = ENGINE_DROPS + 8;
    /** Dropped: packet type that needs an RPC in a state that cannot use it (e.g. GRANT for a response). */
    public static final int DROP_WRONG_STATE = ENGINE_DROPS + 9;

    /** Dropped: the first packet of a request from a peer with maxIncomingRequestsPerPeer requests being received. */
    public static final int DROP_PEER_INCOMING_REQUESTS = ENGINE_DROPS + 10;
    /** Dropped: a packet that needs the sender's peer entry (CUTOFFS, NEED_ACK) from a host this host has none for. */
    public static final int DROP_UNKNOWN_PEER = ENGINE_DROPS + 11;

    private static final int DECODER_DROPS = ENGINE_DROPS + 12;

    private final int dropReasonCount;
    private final int length;
    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);

    /** One writer (the protocol thread) with plain-cost opaque stores; readers on any thread see whole values. */
    private final long[] counters;
    private final String[] decoderReasonNames;

    /**
     * @param decoderReasonNames names of the wire decoder's reject reasons, in ordinal order (index 0 = NONE).
     */
    public HomaMetrics(final String[] decoderReasonNames)
    {
        this.decoderReasonNames = decoderReasonNames.clone();
        this.dropReasonCount = decoderReasonNames.length;
        this.length = DECODER_DROPS + dropReasonCount;
        this.counters = new long[length];
    }

    /**
     * @return number of counter slots.
     */
    public int length()
    {
        return length;
    }

    /**
     * @return number of decoder reject reasons (slot {@link #decoderDrop(int)}).
     */
    public int dropReasonCount()
    {
        return dropReasonCount;
    }

    /**
     * @param reasonOrdinal ordinal of the decoder's reject reason.
     * @return the counter id for packets the decoder rejected for that reason.
     */
    public static int decoderDrop(final int reasonOrdinal)
    {
        return DECODER_DROPS + reasonOrdinal;
    }

    /**
     * Protocol thread only: add to a counter.
     *
     * @param id    counter id.
     * @param delta amount, may be negative for gauges.
     */
    public void add(final int id, final long delta)
    {
        final long[] counters = this.counters;
        COUNTER.setOpaque(counters, id, counters[id] + delta);
    }

    /**
     * Protocol thread only: add one.
     *
     * @param id counter id.
     */
    public void increment(final int id)
    {
        add(id, 1);
    }

    /**
     * Protocol thread only: set a gauge.
     *
     * @param id    counter id.
     * @param value new value.
     */
    public void set(final int id, final long value)
    {
        COUNTER.setOpaque(counters, id, value);
    }

    /**
     * Protocol thread only: count one packet sent.
     *
     * @param type     opcode.
     * @param bytes    Homa bytes.
     * @param priority level.
     */
    public void onPacketSent(final int type, final int bytes, final int priority)
    {
        final int t = type - FIRST_TYPE;
        if (t >= 0 && t < TYPE_COUNT)
        {
            increment(PACKETS_SENT + t);
            add(BYTES_SENT + t, bytes);
        }
        if (priority >= 0 && priority < PriorityMapping.LEVELS)
        {
            increment(PACKETS_SENT_PRIORITY + priority);
        }
    }

    /**
     * Protocol thread only: count one packet accepted.
     *
     * @param type     opcode.
     * @param bytes    Homa bytes.
     * @param priority level as received, -1 if unknown.
     */
    public void onPacketReceived(final int type, final int bytes, final int priority)
    {
        final int t = type - FIRST_TYPE;
        if (t >= 0 && t < TYPE_COUNT)
        {
            increment(PACKETS_RECEIVED + t);
            add(BYTES_RECEIVED + t, bytes);
        }
        if (priority >= 0 && priority < PriorityMapping.LEVELS)
        {
            increment(PACKETS_RECEIVED_PRIORITY + priority);
        }
    }

    /**
     * Any thread: read one counter.
     *
     * @param id counter id.
     * @return its latest value.
     */
    public long get(final int id)
    {
        return (long)COUNTER.getOpaque(counters, id);
    }

    /**
     * Any thread: read the packets-sent counter of one type.
     *
     * @param type opcode.
     * @return packets sent.
     */
    public long packetsSent(final int type)
    {
        return get(PACKETS_SENT + type - FIRST_TYPE);
    }

    /**
     * Any thread: read the packets-received counter of one type.
     *
     * @param type opcode.
     * @return packets accepted.
     */
    public long packetsReceived(final int type)
    {
        return get(PACKETS_RECEIVED + type - FIRST_TYPE);
    }

    /**
     * Any thread: copy every counter.
     *
     * @return a new snapshot.
     */
    public MetricsSnapshot snapshot()
    {
        final long[] values = new long[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = get(i);
        }
        return new MetricsSnapshot(values, names());
    }

    /**
     * {@inheritDoc}
     * <p>
     * Every nonzero counter, one {@code name value} per line ({@link MetricsPrinter}).
     */
    @Override
    public String toString()
    {
        return MetricsPrinter.format(snapshot());
    }

    /**
     * @return the printable name of every counter id, index = id.
     */
    public String[] names()
    {
        final String[] names = new String[length];
        final String[] types = {
            "DATA", "GRANT", "RESEND", "RPC_UNKNOWN", "BUSY", "CUTOFFS", "FREEZE", "NEED_ACK", "ACK" };
        for (int t = 0; t < TYPE_COUNT; t++)
        {
            names[PACKETS_SENT + t] = "packets_sent." + types[t];
            names[BYTES_SENT + t] = "bytes_sent." + types[t];
            names[PACKETS_RECEIVED + t] = "packets_received." + types[t];
            names[BYTES_RECEIVED + t] = "bytes_received." + types[t];
        }
        for (int p = 0; p < PriorityMapping.LEVELS; p++)
        {
            names[PACKETS_SENT_PRIORITY + p] = "packets_sent.priority" + p;
            names[PACKETS_RECEIVED_PRIORITY + p] = "packets_received.priority" + p;
        }
        final String[] scalars = {
            "retransmitted_packets", "resends_requested", "client_timeouts", "server_timeouts", "busy_answers",
            "unknown_answers", "client_restarts", "client_rpcs_created", "server_rpcs_created",
            "client_rpcs_completed", "server_rpcs_acked", "rpcs_aborted", "active_rpcs", "active_server_rpcs",
            "peers", "peers_evicted", "receive_pages_in_use", "send_pages_in_use", "receive_pool_waits",
            "messages_received", "message_bytes_received", "duplicate_bytes", "cutoff_changes",
            "incast_marked_requests", "incast_limited_responses", "pacer_throttled", "errors", "acks_ignored",
            "send_pool_fragmented", "peer_timeouts", "server_rpcs_reclaimed", "retransmit_budget_spent",
            "answers_limited", "receive_peer_limit_waits", "unreachable_answers", "rpcs_unreachable",
            "deadlines_expired",
            "drop.unknown_port", "drop.unknown_rpc", "drop.max_server_rpcs", "drop.max_peers", "drop.receive_pool",
            "drop.length_mismatch", "drop.too_many_gaps", "drop.complete_message", "drop.tx_full",
            "drop.wrong_state", "drop.peer_incoming_requests", "drop.unknown_peer" };
        System.arraycopy(scalars, 0, names, SCALARS, scalars.length);
        for (int r = 0; r < dropReasonCount; r++)
        {
            names[DECODER_DROPS + r] = "drop.decoder." + decoderReasonNames[r];
        }
        return names;
    }
}
