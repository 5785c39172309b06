package dev.homa.core.metrics;

import dev.homa.core.wire.RejectReason;
import dev.homa.nic.frame.PriorityMapping;

/**
 * Every counter a transport keeps, engine and grant scheduler alike, with its id (its slot in {@link HomaMetrics})
 * and its label (its name in {@code homa-stat}, the counters file and {@link MetricsSnapshot}), in the style of
 * the kernel's {@code homa_metrics}. Most entries are one counter; a few are a group of counters, one per packet
 * type, priority level or decoder reject reason, whose members follow each other from {@link #id()} and are
 * labelled {@code label.member}. The driver's own counters follow the last entry ({@link HomaMetrics}).
 * <p>
 * Gauges ({@link #isGauge()}) hold a current value, set by the protocol thread; the others only grow.
 */
public enum HomaCounter
{
    /** Packets sent, per type. */
    PACKETS_SENT("packets_sent", Members.TYPES),
    /** Bytes (Homa header + payload) sent, per type. */
    BYTES_SENT("bytes_sent", Members.TYPES),
    /** Packets received and accepted, per type. */
    PACKETS_RECEIVED("packets_received", Members.TYPES),
    /** Bytes received and accepted, per type. */
    BYTES_RECEIVED("bytes_received", Members.TYPES),
    /** Packets sent, per priority level. */
    PACKETS_SENT_PRIORITY("packets_sent", Members.LEVELS),
    /** Packets received, per priority level the driver saw (packets without a level are not counted here). */
    PACKETS_RECEIVED_PRIORITY("packets_received", Members.LEVELS),

    /** DATA packets sent again in answer to a RESEND or an RPC_UNKNOWN. */
    RETRANSMITTED_PACKETS("retransmitted_packets"),
    /** RESEND packets this host asked for because of silence. */
    RESENDS_REQUESTED("resends_requested"),
    /** Client RPCs whose RESEND waited for a later tick: maxResendsPerPeerPerTick had gone to their peer's others. */
    RESENDS_DEFERRED("resends_deferred"),
    /** Timer ticks that counted no silence: packets waited unread in the driver throughout the tick. */
    TIMER_BACKLOGGED_TICKS("timer_backlogged_ticks"),
    /** Timer ticks that counted no silence: DATA came at nearly the link's rate, so what is missing may be queued. */
    TIMER_BUSY_TICKS("timer_busy_ticks"),
    /** Client RPCs aborted because the server stayed silent for timeout_ticks. */
    CLIENT_TIMEOUTS("client_timeouts"),
    /** Server RPCs discarded because the client stayed silent for timeout_ticks. */
    SERVER_TIMEOUTS("server_timeouts"),
    /** BUSY packets sent in answer to a RESEND. */
    BUSY_ANSWERS("busy_answers"),
    /** RPC_UNKNOWN packets sent in answer to a RESEND for an unknown RPC. */
    UNKNOWN_ANSWERS("unknown_answers"),
    /** BUSY packets sent, instead of RPC_UNKNOWN, for an unknown server RPC while the driver was dropping packets. */
    UNKNOWN_BUSY_ANSWERS("unknown_busy_answers"),
    /** Client RPCs restarted because the server answered RPC_UNKNOWN. */
    CLIENT_RESTARTS("client_restarts"),
    /** Client RPCs created (homaSend). */
    CLIENT_RPCS_CREATED("client_rpcs_created"),
    /** Server RPCs created (first DATA of a new request). */
    SERVER_RPCS_CREATED("server_rpcs_created"),
    /** Client RPCs completed with a response. */
    CLIENT_RPCS_COMPLETED("client_rpcs_completed"),
    /** Server RPCs freed by an ACK. */
    SERVER_RPCS_ACKED("server_rpcs_acked"),
    /** RPCs aborted by the application or by closing a socket. */
    RPCS_ABORTED("rpcs_aborted"),
    /** RPCs alive on the protocol thread (client and server). */
    ACTIVE_RPCS("active_rpcs", true),
    /** Server RPCs alive. */
    ACTIVE_SERVER_RPCS("active_server_rpcs", true),
    /** Peers in the peer table. */
    PEERS("peers", true),
    /** Peers evicted (idle or least recently used when the table was full). */
    PEERS_EVICTED("peers_evicted"),
    /** Receive-pool pages in use (by messages being reassembled or loaned to the application). */
    RECEIVE_PAGES_IN_USE("receive_pages_in_use", true),
    /** Send-pool pages in use. */
    SEND_PAGES_IN_USE("send_pages_in_use", true),
    /** Messages that had to wait because the receive pool was exhausted. */
    RECEIVE_POOL_WAITS("receive_pool_waits"),
    /** Incoming messages completely reassembled. */
    MESSAGES_RECEIVED("messages_received"),
    /** Payload bytes of incoming messages completely reassembled. */
    MESSAGE_BYTES_RECEIVED("message_bytes_received"),
    /** DATA payload bytes that duplicated bytes already received. */
    DUPLICATE_BYTES("duplicate_bytes"),
    /** Times the cutoff calculator installed a new cutoff set. */
    CUTOFF_CHANGES("cutoff_changes"),
    /** Requests marked FLAG_INCAST by this host as a client. */
    INCAST_MARKED_REQUESTS("incast_marked_requests"),
    /** Responses this host sent with the reduced (incast) unscheduled limit. */
    INCAST_LIMITED_RESPONSES("incast_limited_responses"),
    /** Times the pacer held packets back because the NIC queue was at its cap. */
    PACER_THROTTLED("pacer_throttled"),
    /** Errors thrown inside the duty cycle and handed to the error handler. */
    ERRORS("errors"),
    /** Acks carried by ACK packets that freed nothing: unknown RPCs, client-side ids, ports with no socket. */
    ACKS_IGNORED("acks_ignored"),
    /** Messages refused although reserved: the send pool's free space was split between slot and whole pages. */
    SEND_POOL_FRAGMENTED("send_pool_fragmented"),
    /** Replies that took a received message's receive-pool pages instead of a copy into the send pool. */
    FORWARDED_REPLIES("forwarded_replies"),
    /** Requests sent from the application's own memory (SEND_NO_COPY) instead of a copy in the send pool. */
    LENT_REQUESTS("lent_requests"),
    /** Peers presumed dead after timeout_resends rounds of RESENDs went unanswered (their RPCs were aborted). */
    PEER_TIMEOUTS("peer_timeouts"),
    /** Server RPCs receiving a request reclaimed after maxUnansweredResends RESEND rounds went unanswered. */
    SERVER_RPCS_RECLAIMED("server_rpcs_reclaimed"),
    /** RESENDs answered short or not at all because the RPC had retransmitted its budget (retransmitBudgetPercent). */
    RETRANSMIT_BUDGET_SPENT("retransmit_budget_spent"),
    /**
     * Answers not sent: RPC_UNKNOWN or ACK past a per-peer or unknown-host rate limit (maxAnswersPerPeerPerTick,
     * maxAnswersToUnknownPerTick), a second BUSY for one RPC in a tick, a second restart in a resend interval.
     */
    ANSWERS_LIMITED("answers_limited"),
    /** Messages that had to wait for receive-pool pages because their peer held maxReceiveBytesPerPeer already. */
    RECEIVE_PEER_LIMIT_WAITS("receive_peer_limit_waits"),
    /** Answers to packets for ports without a socket: ICMP port unreachable (raw) or an in-band notice. */
    UNREACHABLE_ANSWERS("unreachable_answers"),
    /** RPCs ended because their peer said nothing listens there (port, protocol or host unreachable). */
    RPCS_UNREACHABLE("rpcs_unreachable"),
    /** Client RPCs ended with a timeout because their deadline passed (HomaSocket.call with a timeout). */
    DEADLINES_EXPIRED("deadlines_expired"),

    /** Dropped: no socket bound to the destination port. */
    DROP_UNKNOWN_PORT("drop.unknown_port"),
    /** Dropped: packet names an RPC this host does not know (and cannot create). */
    DROP_UNKNOWN_RPC("drop.unknown_rpc"),
    /** Dropped: the server RPC table is full. */
    DROP_MAX_SERVER_RPCS("drop.max_server_rpcs"),
    /** Dropped: the peer table is full and no peer could be evicted. */
    DROP_MAX_PEERS("drop.max_peers"),
    /** Dropped: no receive-pool pages for the message (it waits; RESEND recovers the bytes later). */
    DROP_RECEIVE_POOL("drop.receive_pool"),
    /** Dropped: DATA whose message length differs from the message's first packet. */
    DROP_LENGTH_MISMATCH("drop.length_mismatch"),
    /** Dropped: the message already has the maximum number of gaps. */
    DROP_TOO_MANY_GAPS("drop.too_many_gaps"),
    /** Dropped: DATA for a message that is already complete. */
    DROP_COMPLETE_MESSAGE("drop.complete_message"),
    /** Dropped on send: the driver's packet pool or transmit queue was full. */
    DROP_TX_FULL("drop.tx_full"),
    /** Dropped: packet type that needs an RPC in a state that cannot use it (e.g. GRANT for a response). */
    DROP_WRONG_STATE("drop.wrong_state"),
    /** Dropped: the first packet of a request from a peer with maxIncomingRequestsPerPeer requests being received. */
    DROP_PEER_INCOMING_REQUESTS("drop.peer_incoming_requests"),
    /** Dropped: a packet that needs the sender's peer entry (CUTOFFS, NEED_ACK) from a host this host has none for. */
    DROP_UNKNOWN_PEER("drop.unknown_peer"),
    /** Dropped by the wire decoder, per reject reason (its member {@code NONE} stays zero). */
    DROP_DECODER("drop.decoder", Members.REJECT_REASONS),

    /** GRANT packets the grant scheduler emitted (all kinds). */
    GRANTS_SENT("grant.sent"),
    /** Bytes by which grants raised granted offsets, summed. */
    GRANTED_BYTES("grant.granted_bytes"),
    /** FIFO (starvation avoidance) grants. */
    FIFO_GRANTS("grant.fifo"),
    /** Grants sent only because an active message's priority changed. */
    PRIORITY_GRANTS("grant.priority_changes"),
    /** Times a message's window was cut short by the incoming budget. */
    BUDGET_LIMITED_GRANTS("grant.budget_limited"),
    /** Grants cut short by the sending peer's cap on incoming bytes (also counted as budget limited). */
    PEER_LIMITED_GRANTS("grant.peer_limited"),
    /** Messages that entered the active (granted) set. */
    GRANT_PROMOTIONS("grant.promotions"),
    /** Active messages displaced by better ones before being fully granted. */
    GRANT_DEMOTIONS("grant.demotions"),
    /** Recomputations of the active set. */
    GRANT_RECALCULATIONS("grant.recalculations"),
    /** Messages that became fully granted. */
    FULLY_GRANTED_MESSAGES("grant.fully_granted"),
    /** Per-peer queues the scheduler created (its initial capacity, then one per new peer beyond it). */
    GRANT_PEER_QUEUES("grant.peer_queues"),
    /** Grants held back because strict overcommitment allowed no further holder. */
    STRICT_DEFERRALS("grant.strict_deferrals"),
    /**
     * Times the incoming budget widened to the bulk budget, no message too short to need grants having arrived for a
     * while (GrantConfig.bulkIncomingBytes).
     */
    INCOMING_BUDGET_WIDENED("grant.budget_widened"),
    /** Times a peer's unscheduled bytes rose to a shorter round trip measured to it (software paths). */
    UNSCHEDULED_RAISES("unscheduled_raises"),
    /**
     * Messages that waited to start, their receiver already holding as many of this host's messages that await a
     * first GRANT as it may (UnscheduledAdmission).
     */
    UNSCHEDULED_ADMISSION_WAITS("unscheduled_admission_waits"),
    /**
     * Messages that, while they waited for receive-pool pages, held pages for their unscheduled bytes: those bytes
     * were kept, not dropped and asked for again.
     */
    RECEIVE_PREFIX_HOLDS("receive_prefix_holds"),
    /**
     * Messages that had to wait for their receive-pool pages because as many messages that need grants as may hold
     * all theirs at once (twice the overcommitment) held them.
     */
    RECEIVE_GRANT_WAITS("receive_grant_waits"),

    /** Duty cycles that ran longer than the context's dutyCycleStallThresholdNs: the protocol thread stalled. */
    DUTY_CYCLE_STALLS("duty_cycle_stalls"),
    /** Longest duty cycle so far, in ns, among those that did some work. */
    DUTY_CYCLE_MAX_NS("duty_cycle_max_ns", true);

    /** Counter slots the engine keeps: the sum of every entry's {@link #count()}. */
    public static final int ENGINE_COUNTERS;

    static
    {
        int next = 0;
        for (final HomaCounter counter : values())
        {
            counter.id = next;
            next += counter.members.length;
        }
        ENGINE_COUNTERS = next;
    }

    private final String label;
    private final String[] members;
    private final boolean gauge;
    private int id;

    HomaCounter(final String label)
    {
        this(label, false);
    }

    HomaCounter(final String label, final boolean gauge)
    {
        this.label = label;
        this.members = Members.ONE;
        this.gauge = gauge;
    }

    HomaCounter(final String label, final String[] members)
    {
        this.label = label;
        this.members = members;
        this.gauge = false;
    }

    /**
     * @return the slot of this counter, or of the first member of a group.
     */
    public int id()
    {
        return id;
    }

    /**
     * @return how many counters this entry stands for: 1, or the members of a group.
     */
    public int count()
    {
        return members.length;
    }

    /**
     * @param member 0 .. {@link #count()} - 1.
     * @return the slot of that member.
     */
    public int id(final int member)
    {
        return id + member;
    }

    /**
     * @return the label of a single counter, the common prefix of a group's.
     */
    public String label()
    {
        return label;
    }

    /**
     * @param member 0 .. {@link #count()} - 1.
     * @return the label of that member: {@code label.member}, or the label of a single counter.
     */
    public String label(final int member)
    {
        return Members.ONE == members ? label : label + "." + members[member];
    }

    /**
     * @return true for a gauge, which holds a current value instead of a running count.
     */
    public boolean isGauge()
    {
        return gauge;
    }

    /**
     * The members of the groups; a holder, since an enum's constants are built before its other static fields.
     */
    private static final class Members
    {
        static final String[] ONE = { "" };
        static final String[] TYPES = {
            "DATA", "GRANT", "RESEND", "RPC_UNKNOWN", "BUSY", "CUTOFFS", "FREEZE", "NEED_ACK", "ACK" };
        static final String[] LEVELS = levels();
        static final String[] REJECT_REASONS = rejectReasons();

        private static String[] levels()
        {
            final String[] levels = new String[PriorityMapping.LEVELS];
            for (int level = 0; level < levels.length; level++)
            {
                levels[level] = "priority" + level;
            }
            return levels;
        }

        private static String[] rejectReasons()
        {
            final String[] names = new String[RejectReason.count()];
            for (int i = 0; i < names.length; i++)
            {
                names[i] = RejectReason.get(i).name();
            }
            return names;
        }
    }
}
