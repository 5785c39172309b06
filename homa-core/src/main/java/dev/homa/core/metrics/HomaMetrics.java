package dev.homa.core.metrics;

import dev.homa.core.wire.PacketType;
import dev.homa.nic.NicDriver;
import dev.homa.nic.frame.PriorityMapping;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The transport's counters: one slot per {@link HomaCounter} (engine and grant scheduler), then one per counter of
 * the driver ({@link NicDriver#counterCount()}), so that every counter is registered in one place, under one label,
 * for the application ({@link #snapshot()}), the counters file and {@code homa-stat} alike.
 * <p>
 * Single writer: only the protocol thread calls the mutators; each is a plain read plus an opaque write of one
 * 64-bit array slot (a plain store on x86: no fence, no lock, no allocation; an ordered store cost a visible
 * share of a small RPC's engine time), and readers on other threads see every slot's value without tearing,
 * at most a moment late. The driver's counters are copied into their slots on the protocol thread
 * ({@link #copyDriverCounters()}), every counters interval. A {@link MetricsSnapshot} copies all slots; slots are
 * read one by one, so a snapshot is consistent per counter, not across counters ("consistent enough" for
 * monitoring, as Aeron's counters are).
 * <p>
 * The int constants below are the slots of the {@link HomaCounter} of the same name, for the data path; per-type
 * counters take a Homa opcode ({@link #packetsSent(int)}), per-priority counters a level, drop counters a reject
 * reason ({@link #decoderDrop(int)}).
 */
public final class HomaMetrics
{
    /** Slot of {@link HomaCounter#PACKETS_SENT}. */
    public static final int PACKETS_SENT = HomaCounter.PACKETS_SENT.id();
    /** Slot of {@link HomaCounter#BYTES_SENT}. */
    public static final int BYTES_SENT = HomaCounter.BYTES_SENT.id();
    /** Slot of {@link HomaCounter#PACKETS_RECEIVED}. */
    public static final int PACKETS_RECEIVED = HomaCounter.PACKETS_RECEIVED.id();
    /** Slot of {@link HomaCounter#BYTES_RECEIVED}. */
    public static final int BYTES_RECEIVED = HomaCounter.BYTES_RECEIVED.id();
    /** Slot of {@link HomaCounter#PACKETS_SENT_PRIORITY}. */
    public static final int PACKETS_SENT_PRIORITY = HomaCounter.PACKETS_SENT_PRIORITY.id();
    /** Slot of {@link HomaCounter#PACKETS_RECEIVED_PRIORITY}. */
    public static final int PACKETS_RECEIVED_PRIORITY = HomaCounter.PACKETS_RECEIVED_PRIORITY.id();
    /** Slot of {@link HomaCounter#RETRANSMITTED_PACKETS}. */
    public static final int RETRANSMITTED_PACKETS = HomaCounter.RETRANSMITTED_PACKETS.id();
    /** Slot of {@link HomaCounter#RESENDS_REQUESTED}. */
    public static final int RESENDS_REQUESTED = HomaCounter.RESENDS_REQUESTED.id();
    /** Slot of {@link HomaCounter#RESENDS_DEFERRED}. */
    public static final int RESENDS_DEFERRED = HomaCounter.RESENDS_DEFERRED.id();
    /** Slot of {@link HomaCounter#TIMER_BACKLOGGED_TICKS}. */
    public static final int TIMER_BACKLOGGED_TICKS = HomaCounter.TIMER_BACKLOGGED_TICKS.id();
    /** Slot of {@link HomaCounter#TIMER_BUSY_TICKS}. */
    public static final int TIMER_BUSY_TICKS = HomaCounter.TIMER_BUSY_TICKS.id();
    /** Slot of {@link HomaCounter#CLIENT_TIMEOUTS}. */
    public static final int CLIENT_TIMEOUTS = HomaCounter.CLIENT_TIMEOUTS.id();
    /** Slot of {@link HomaCounter#SERVER_TIMEOUTS}. */
    public static final int SERVER_TIMEOUTS = HomaCounter.SERVER_TIMEOUTS.id();
    /** Slot of {@link HomaCounter#BUSY_ANSWERS}. */
    public static final int BUSY_ANSWERS = HomaCounter.BUSY_ANSWERS.id();
    /** Slot of {@link HomaCounter#UNKNOWN_ANSWERS}. */
    public static final int UNKNOWN_ANSWERS = HomaCounter.UNKNOWN_ANSWERS.id();
    /** Slot of {@link HomaCounter#UNKNOWN_BUSY_ANSWERS}. */
    public static final int UNKNOWN_BUSY_ANSWERS = HomaCounter.UNKNOWN_BUSY_ANSWERS.id();
    /** Slot of {@link HomaCounter#CLIENT_RESTARTS}. */
    public static final int CLIENT_RESTARTS = HomaCounter.CLIENT_RESTARTS.id();
    /** Slot of {@link HomaCounter#CLIENT_RPCS_CREATED}. */
    public static final int CLIENT_RPCS_CREATED = HomaCounter.CLIENT_RPCS_CREATED.id();
    /** Slot of {@link HomaCounter#SERVER_RPCS_CREATED}. */
    public static final int SERVER_RPCS_CREATED = HomaCounter.SERVER_RPCS_CREATED.id();
    /** Slot of {@link HomaCounter#CLIENT_RPCS_COMPLETED}. */
    public static final int CLIENT_RPCS_COMPLETED = HomaCounter.CLIENT_RPCS_COMPLETED.id();
    /** Slot of {@link HomaCounter#SERVER_RPCS_ACKED}. */
    public static final int SERVER_RPCS_ACKED = HomaCounter.SERVER_RPCS_ACKED.id();
    /** Slot of {@link HomaCounter#RPCS_ABORTED}. */
    public static final int RPCS_ABORTED = HomaCounter.RPCS_ABORTED.id();
    /** Slot of {@link HomaCounter#ACTIVE_RPCS}. */
    public static final int ACTIVE_RPCS = HomaCounter.ACTIVE_RPCS.id();
    /** Slot of {@link HomaCounter#ACTIVE_SERVER_RPCS}. */
    public static final int ACTIVE_SERVER_RPCS = HomaCounter.ACTIVE_SERVER_RPCS.id();
    /** Slot of {@link HomaCounter#PEERS}. */
    public static final int PEERS = HomaCounter.PEERS.id();
    /** Slot of {@link HomaCounter#PEERS_EVICTED}. */
    public static final int PEERS_EVICTED = HomaCounter.PEERS_EVICTED.id();
    /** Slot of {@link HomaCounter#RECEIVE_PAGES_IN_USE}. */
    public static final int RECEIVE_PAGES_IN_USE = HomaCounter.RECEIVE_PAGES_IN_USE.id();
    /** Slot of {@link HomaCounter#SEND_PAGES_IN_USE}. */
    public static final int SEND_PAGES_IN_USE = HomaCounter.SEND_PAGES_IN_USE.id();
    /** Slot of {@link HomaCounter#RECEIVE_POOL_WAITS}. */
    public static final int RECEIVE_POOL_WAITS = HomaCounter.RECEIVE_POOL_WAITS.id();
    /** Slot of {@link HomaCounter#MESSAGES_RECEIVED}. */
    public static final int MESSAGES_RECEIVED = HomaCounter.MESSAGES_RECEIVED.id();
    /** Slot of {@link HomaCounter#MESSAGE_BYTES_RECEIVED}. */
    public static final int MESSAGE_BYTES_RECEIVED = HomaCounter.MESSAGE_BYTES_RECEIVED.id();
    /** Slot of {@link HomaCounter#DUPLICATE_BYTES}. */
    public static final int DUPLICATE_BYTES = HomaCounter.DUPLICATE_BYTES.id();
    /** Slot of {@link HomaCounter#CUTOFF_CHANGES}. */
    public static final int CUTOFF_CHANGES = HomaCounter.CUTOFF_CHANGES.id();
    /** Slot of {@link HomaCounter#INCAST_MARKED_REQUESTS}. */
    public static final int INCAST_MARKED_REQUESTS = HomaCounter.INCAST_MARKED_REQUESTS.id();
    /** Slot of {@link HomaCounter#INCAST_LIMITED_RESPONSES}. */
    public static final int INCAST_LIMITED_RESPONSES = HomaCounter.INCAST_LIMITED_RESPONSES.id();
    /** Slot of {@link HomaCounter#PACER_THROTTLED}. */
    public static final int PACER_THROTTLED = HomaCounter.PACER_THROTTLED.id();
    /** Slot of {@link HomaCounter#ERRORS}. */
    public static final int ERRORS = HomaCounter.ERRORS.id();
    /** Slot of {@link HomaCounter#ACKS_IGNORED}. */
    public static final int ACKS_IGNORED = HomaCounter.ACKS_IGNORED.id();
    /** Slot of {@link HomaCounter#SEND_POOL_FRAGMENTED}. */
    public static final int SEND_POOL_FRAGMENTED = HomaCounter.SEND_POOL_FRAGMENTED.id();
    /** Slot of {@link HomaCounter#FORWARDED_REPLIES}. */
    public static final int FORWARDED_REPLIES = HomaCounter.FORWARDED_REPLIES.id();
    /** Slot of {@link HomaCounter#LENT_REQUESTS}. */
    public static final int LENT_REQUESTS = HomaCounter.LENT_REQUESTS.id();
    /** Slot of {@link HomaCounter#PEER_TIMEOUTS}. */
    public static final int PEER_TIMEOUTS = HomaCounter.PEER_TIMEOUTS.id();
    /** Slot of {@link HomaCounter#SERVER_RPCS_RECLAIMED}. */
    public static final int SERVER_RPCS_RECLAIMED = HomaCounter.SERVER_RPCS_RECLAIMED.id();
    /** Slot of {@link HomaCounter#RETRANSMIT_BUDGET_SPENT}. */
    public static final int RETRANSMIT_BUDGET_SPENT = HomaCounter.RETRANSMIT_BUDGET_SPENT.id();
    /** Slot of {@link HomaCounter#ANSWERS_LIMITED}. */
    public static final int ANSWERS_LIMITED = HomaCounter.ANSWERS_LIMITED.id();
    /** Slot of {@link HomaCounter#RECEIVE_PEER_LIMIT_WAITS}. */
    public static final int RECEIVE_PEER_LIMIT_WAITS = HomaCounter.RECEIVE_PEER_LIMIT_WAITS.id();
    /** Slot of {@link HomaCounter#UNREACHABLE_ANSWERS}. */
    public static final int UNREACHABLE_ANSWERS = HomaCounter.UNREACHABLE_ANSWERS.id();
    /** Slot of {@link HomaCounter#RPCS_UNREACHABLE}. */
    public static final int RPCS_UNREACHABLE = HomaCounter.RPCS_UNREACHABLE.id();
    /** Slot of {@link HomaCounter#DEADLINES_EXPIRED}. */
    public static final int DEADLINES_EXPIRED = HomaCounter.DEADLINES_EXPIRED.id();
    /** Slot of {@link HomaCounter#DROP_UNKNOWN_PORT}. */
    public static final int DROP_UNKNOWN_PORT = HomaCounter.DROP_UNKNOWN_PORT.id();
    /** Slot of {@link HomaCounter#DROP_UNKNOWN_RPC}. */
    public static final int DROP_UNKNOWN_RPC = HomaCounter.DROP_UNKNOWN_RPC.id();
    /** Slot of {@link HomaCounter#DROP_MAX_SERVER_RPCS}. */
    public static final int DROP_MAX_SERVER_RPCS = HomaCounter.DROP_MAX_SERVER_RPCS.id();
    /** Slot of {@link HomaCounter#DROP_MAX_PEERS}. */
    public static final int DROP_MAX_PEERS = HomaCounter.DROP_MAX_PEERS.id();
    /** Slot of {@link HomaCounter#DROP_RECEIVE_POOL}. */
    public static final int DROP_RECEIVE_POOL = HomaCounter.DROP_RECEIVE_POOL.id();
    /** Slot of {@link HomaCounter#DROP_LENGTH_MISMATCH}. */
    public static final int DROP_LENGTH_MISMATCH = HomaCounter.DROP_LENGTH_MISMATCH.id();
    /** Slot of {@link HomaCounter#DROP_TOO_MANY_GAPS}. */
    public static final int DROP_TOO_MANY_GAPS = HomaCounter.DROP_TOO_MANY_GAPS.id();
    /** Slot of {@link HomaCounter#DROP_COMPLETE_MESSAGE}. */
    public static final int DROP_COMPLETE_MESSAGE = HomaCounter.DROP_COMPLETE_MESSAGE.id();
    /** Slot of {@link HomaCounter#DROP_TX_FULL}. */
    public static final int DROP_TX_FULL = HomaCounter.DROP_TX_FULL.id();
    /** Slot of {@link HomaCounter#DROP_WRONG_STATE}. */
    public static final int DROP_WRONG_STATE = HomaCounter.DROP_WRONG_STATE.id();
    /** Slot of {@link HomaCounter#DROP_PEER_INCOMING_REQUESTS}. */
    public static final int DROP_PEER_INCOMING_REQUESTS = HomaCounter.DROP_PEER_INCOMING_REQUESTS.id();
    /** Slot of {@link HomaCounter#DROP_UNKNOWN_PEER}. */
    public static final int DROP_UNKNOWN_PEER = HomaCounter.DROP_UNKNOWN_PEER.id();
    /** Slot of {@link HomaCounter#GRANTS_SENT}. */
    public static final int GRANTS_SENT = HomaCounter.GRANTS_SENT.id();
    /** Slot of {@link HomaCounter#GRANTED_BYTES}. */
    public static final int GRANTED_BYTES = HomaCounter.GRANTED_BYTES.id();
    /** Slot of {@link HomaCounter#FIFO_GRANTS}. */
    public static final int FIFO_GRANTS = HomaCounter.FIFO_GRANTS.id();
    /** Slot of {@link HomaCounter#PRIORITY_GRANTS}. */
    public static final int PRIORITY_GRANTS = HomaCounter.PRIORITY_GRANTS.id();
    /** Slot of {@link HomaCounter#BUDGET_LIMITED_GRANTS}. */
    public static final int BUDGET_LIMITED_GRANTS = HomaCounter.BUDGET_LIMITED_GRANTS.id();
    /** Slot of {@link HomaCounter#PEER_LIMITED_GRANTS}. */
    public static final int PEER_LIMITED_GRANTS = HomaCounter.PEER_LIMITED_GRANTS.id();
    /** Slot of {@link HomaCounter#GRANT_PROMOTIONS}. */
    public static final int GRANT_PROMOTIONS = HomaCounter.GRANT_PROMOTIONS.id();
    /** Slot of {@link HomaCounter#GRANT_DEMOTIONS}. */
    public static final int GRANT_DEMOTIONS = HomaCounter.GRANT_DEMOTIONS.id();
    /** Slot of {@link HomaCounter#GRANT_RECALCULATIONS}. */
    public static final int GRANT_RECALCULATIONS = HomaCounter.GRANT_RECALCULATIONS.id();
    /** Slot of {@link HomaCounter#FULLY_GRANTED_MESSAGES}. */
    public static final int FULLY_GRANTED_MESSAGES = HomaCounter.FULLY_GRANTED_MESSAGES.id();
    /** Slot of {@link HomaCounter#GRANT_PEER_QUEUES}. */
    public static final int GRANT_PEER_QUEUES = HomaCounter.GRANT_PEER_QUEUES.id();
    /** Slot of {@link HomaCounter#STRICT_DEFERRALS}. */
    public static final int STRICT_DEFERRALS = HomaCounter.STRICT_DEFERRALS.id();
    /** Slot of {@link HomaCounter#INCOMING_BUDGET_WIDENED}. */
    public static final int INCOMING_BUDGET_WIDENED = HomaCounter.INCOMING_BUDGET_WIDENED.id();
    /** Slot of {@link HomaCounter#UNSCHEDULED_RAISES}. */
    public static final int UNSCHEDULED_RAISES = HomaCounter.UNSCHEDULED_RAISES.id();
    /** Slot of {@link HomaCounter#UNSCHEDULED_ADMISSION_WAITS}. */
    public static final int UNSCHEDULED_ADMISSION_WAITS = HomaCounter.UNSCHEDULED_ADMISSION_WAITS.id();
    /** Slot of {@link HomaCounter#RECEIVE_PREFIX_HOLDS}. */
    public static final int RECEIVE_PREFIX_HOLDS = HomaCounter.RECEIVE_PREFIX_HOLDS.id();
    /** Slot of {@link HomaCounter#RECEIVE_GRANT_WAITS}. */
    public static final int RECEIVE_GRANT_WAITS = HomaCounter.RECEIVE_GRANT_WAITS.id();
    /** Slot of {@link HomaCounter#DUTY_CYCLE_STALLS}. */
    public static final int DUTY_CYCLE_STALLS = HomaCounter.DUTY_CYCLE_STALLS.id();
    /** Slot of {@link HomaCounter#DUTY_CYCLE_MAX_NS}. */
    public static final int DUTY_CYCLE_MAX_NS = HomaCounter.DUTY_CYCLE_MAX_NS.id();

    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);

    private final NicDriver driver;
    private final int length;
    /** One writer (the protocol thread) with plain-cost opaque stores; readers on any thread see whole values. */
    private final long[] counters;

    /**
     * Counters of the engine alone.
     */
    public HomaMetrics()
    {
        this(null);
    }

    /**
     * @param driver the driver whose counters follow the engine's, or null for none.
     */
    public HomaMetrics(final NicDriver driver)
    {
        this.driver = driver;
        this.length = HomaCounter.ENGINE_COUNTERS + (null == driver ? 0 : driver.counterCount());
        this.counters = new long[length];
    }

    /**
     * @return number of counter slots: the engine's, then the driver's.
     */
    public int length()
    {
        return length;
    }

    /**
     * @param reasonOrdinal ordinal of the decoder's reject reason.
     * @return the counter id for packets the decoder rejected for that reason.
     */
    public static int decoderDrop(final int reasonOrdinal)
    {
        return HomaCounter.DROP_DECODER.id(reasonOrdinal);
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
     * Protocol thread only: raise a gauge that holds a maximum.
     *
     * @param id    counter id.
     * @param value a new observation.
     */
    public void max(final int id, final long value)
    {
        if (value > counters[id])
        {
            COUNTER.setOpaque(counters, id, value);
        }
    }

    /**
     * Protocol thread only (the driver's thread): copy the driver's counters into their slots.
     */
    public void copyDriverCounters()
    {
        if (null != driver)
        {
            for (int i = 0, n = length - HomaCounter.ENGINE_COUNTERS; i < n; i++)
            {
                set(HomaCounter.ENGINE_COUNTERS + i, driver.counterValue(i));
            }
        }
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
        final int t = type - PacketType.MIN_TYPE;
        if (t >= 0 && t < PacketType.TYPE_COUNT)
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
        final int t = type - PacketType.MIN_TYPE;
        if (t >= 0 && t < PacketType.TYPE_COUNT)
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
     * Any thread: read one counter.
     *
     * @param counter a single counter (the first member of a group).
     * @return its latest value.
     */
    public long get(final HomaCounter counter)
    {
        return get(counter.id());
    }

    /**
     * Any thread: read the packets-sent counter of one type.
     *
     * @param type opcode.
     * @return packets sent.
     */
    public long packetsSent(final int type)
    {
        return get(PACKETS_SENT + type - PacketType.MIN_TYPE);
    }

    /**
     * Any thread: read the packets-received counter of one type.
     *
     * @param type opcode.
     * @return packets accepted.
     */
    public long packetsReceived(final int type)
    {
        return get(PACKETS_RECEIVED + type - PacketType.MIN_TYPE);
    }

    /**
     * Any thread.
     *
     * @param type opcode.
     * @return bytes of the packets of that type accepted (Homa header and payload).
     */
    public long bytesReceived(final int type)
    {
        return get(BYTES_RECEIVED + type - PacketType.MIN_TYPE);
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
     * @return the label of every counter slot, index = id: the {@link HomaCounter} labels, then {@code driver.}
     * and the driver's names.
     */
    public String[] names()
    {
        final String[] names = new String[length];
        for (final HomaCounter counter : HomaCounter.values())
        {
            for (int member = 0; member < counter.count(); member++)
            {
                names[counter.id(member)] = counter.label(member);
            }
        }
        for (int i = HomaCounter.ENGINE_COUNTERS; i < length; i++)
        {
            names[i] = "driver." + driver.counterName(i - HomaCounter.ENGINE_COUNTERS);
        }
        return names;
    }

    /**
     * @param id a counter id.
     * @return true if it belongs to the driver (after every {@link HomaCounter}).
     */
    public static boolean isDriverCounter(final int id)
    {
        return id >= HomaCounter.ENGINE_COUNTERS;
    }
}
