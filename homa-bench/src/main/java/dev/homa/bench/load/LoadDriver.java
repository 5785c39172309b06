package dev.homa.bench.load;

import org.agrona.collections.IntArrayQueue;
import org.agrona.collections.LongArrayQueue;

import java.util.SplittableRandom;

/**
 * A load client's logic, whatever transport carries it; single-threaded, driven by the transport's own loop.
 * <p>
 * K slots, one per RPC in flight. Closed loop: every free slot sends at once, so K requests are always outstanding.
 * Open loop: requests fall due at Poisson arrivals of the given rate; a due request takes a free slot, or waits in a
 * FIFO backlog while all K are busy. Either way a request's latency runs from the time it fell due (open loop) or
 * was issued (closed loop) to its response, so a stall delays the samples of every request due meanwhile (no
 * coordinated omission in the open loop).
 * <p>
 * Phases, set by the runner: {@link #start} (warm-up: requests flow, nothing recorded), {@link #measure} (counters
 * and histograms from zero, the open loop's backlog dropped), {@link #stop} (no new requests; RPCs in flight still
 * complete and count). Goodput counts the request and response bytes of RPCs completed between measure and stop;
 * latency, every RPC due in that window (including those that complete after the stop).
 */
final class LoadDriver
{
    /**
     * How requests leave: the transport writes the slot's prepared request and sends it.
     */
    interface Sender
    {
        /**
         * @param slot           the slot (its buffer holds the pattern; the header is to be written).
         * @param sequence       the RPC's sequence number.
         * @param requestLength  bytes of request.
         * @param responseLength bytes wanted back.
         * @return false if the transport cannot take it now (the request is tried again on the next poll).
         */
        boolean send(int slot, long sequence, int requestLength, int responseLength);
    }

    private static final int BACKLOG_LIMIT = 1 << 20;

    private final LoadSpec spec;
    private final MessageSizes sizes;
    private final LoadSpec.Baseline baseline;
    private final int fixedResponse;
    private final SplittableRandom random;
    private final double meanGapNs;
    private final LoadStats stats;
    private Sender sender;

    private final long[] slotSequence;
    private final long[] slotDueNs;
    private final int[] slotRequestLength;
    private final int[] slotResponseLength;
    private final boolean[] slotBusy;
    private final IntArrayQueue freeSlots;
    private final LongArrayQueue backlogDue = new LongArrayQueue();
    private final IntArrayQueue backlogLength = new IntArrayQueue();

    private boolean running;
    private boolean measuring;
    private long measureStartNs = Long.MAX_VALUE;
    private long stopNs = Long.MAX_VALUE;
    private long nextArrivalNs;
    private long nextSequence = 1;
    private int inFlight;

    LoadDriver(final LoadSpec spec)
    {
        this.spec = spec;
        this.sizes = MessageSizes.parse(spec.sizes);
        this.baseline = LoadSpec.Baseline.parse(spec.baseline);
        this.fixedResponse = spec.responseLength();
        this.random = new SplittableRandom(spec.seed);
        this.meanGapNs = spec.rate > 0 ? 1e9 / spec.rate : 0;
        this.stats = new LoadStats(sizes.bucketCount());
        final int k = spec.outstanding;
        if (k < 1)
        {
            throw new IllegalArgumentException("outstanding must be >= 1: " + k);
        }
        slotSequence = new long[k];
        slotDueNs = new long[k];
        slotRequestLength = new int[k];
        slotResponseLength = new int[k];
        slotBusy = new boolean[k];
        freeSlots = new IntArrayQueue(Math.max(IntArrayQueue.MIN_CAPACITY, k), -1);
        for (int i = 0; i < k; i++)
        {
            freeSlots.addInt(i);
        }
    }

    void sender(final Sender sender)
    {
        this.sender = sender;
    }

    /**
     * @return the largest request or response a slot's buffer must hold.
     */
    int maxMessageLength()
    {
        return Math.max(sizes.maxLength(), fixedResponse);
    }

    int slots()
    {
        return spec.outstanding;
    }

    LoadStats stats()
    {
        return stats;
    }

    void start(final long nowNs)
    {
        running = true;
        nextArrivalNs = nowNs;
    }

    void measure(final long nowNs)
    {
        stats.reset();
        measuring = true;
        measureStartNs = nowNs;
        // What a cold process fell behind by during the warm-up is not part of the load being measured: arrivals
        // start afresh, so the window shows the steady state at the offered rate.
        backlogDue.clear();
        backlogLength.clear();
        if (meanGapNs > 0)
        {
            nextArrivalNs = nowNs;
        }
    }

    void stop(final long nowNs)
    {
        running = false;
        if (measuring)
        {
            stopNs = nowNs;
            stats.windowNs = nowNs - measureStartNs;
        }
        backlogDue.clear();
        backlogLength.clear();
    }

    boolean isRunning()
    {
        return running;
    }

    /**
     * @return RPCs in flight.
     */
    int inFlight()
    {
        return inFlight;
    }

    /**
     * @return when the next open-loop request falls due; {@link Long#MAX_VALUE} for a closed loop or when stopped.
     */
    long nextDueNs()
    {
        return running && meanGapNs > 0 ? nextArrivalNs : Long.MAX_VALUE;
    }

    /**
     * Issue what is due: in a closed loop a request per free slot, in an open loop the arrivals up to now (into
     * free slots, the rest into the backlog).
     *
     * @param nowNs the time.
     * @return requests sent.
     */
    int poll(final long nowNs)
    {
        if (!running)
        {
            return 0;
        }
        int sent = 0;
        if (0 == meanGapNs)
        {
            while (!freeSlots.isEmpty())
            {
                if (!issue(nowNs, sizes.next(random)))
                {
                    break;
                }
                sent++;
            }
            return sent;
        }
        while (nextArrivalNs - nowNs <= 0)
        {
            if (backlogDue.size() >= BACKLOG_LIMIT)
            {
                stats.backlogOverflows++;
            }
            else
            {
                backlogDue.addLong(nextArrivalNs);
                backlogLength.addInt(sizes.next(random));
            }
            if (measuring && nextArrivalNs - measureStartNs >= 0)
            {
                stats.due++;
            }
            nextArrivalNs += Math.max(1L, (long)(-Math.log(1.0 - random.nextDouble()) * meanGapNs));
        }
        while (!freeSlots.isEmpty() && !backlogDue.isEmpty())
        {
            final long dueNs = backlogDue.peekLong();
            if (!issue(dueNs, backlogLength.peekInt()))
            {
                break;
            }
            if (measuring && dueNs - measureStartNs >= 0)
            {
                stats.recordSlotWait(nowNs - dueNs);
            }
            backlogDue.pollLong();
            backlogLength.pollInt();
            sent++;
        }
        return sent;
    }

    private boolean issue(final long dueNs, final int requestLength)
    {
        final int slot = freeSlots.peekInt();
        final long sequence = nextSequence;
        final int responseLength = fixedResponse < 0 ? requestLength : fixedResponse;
        if (!sender.send(slot, sequence, requestLength, responseLength))
        {
            return false;
        }
        freeSlots.pollInt();
        nextSequence++;
        slotBusy[slot] = true;
        slotSequence[slot] = sequence;
        slotDueNs[slot] = dueNs;
        slotRequestLength[slot] = requestLength;
        slotResponseLength[slot] = responseLength;
        inFlight++;
        if (measuring && dueNs - measureStartNs >= 0)
        {
            stats.started++;
        }
        return true;
    }

    /**
     * @param slot a slot.
     * @return whether an RPC is in flight in it.
     */
    boolean isBusy(final int slot)
    {
        return slot >= 0 && slot < slotBusy.length && slotBusy[slot];
    }

    long sequenceOf(final int slot)
    {
        return slotSequence[slot];
    }

    int responseLengthOf(final int slot)
    {
        return slotResponseLength[slot];
    }

    /**
     * @param slot a busy slot.
     * @return whose pattern its response carries: its own for an echo, the server's otherwise.
     */
    int patternSlotOf(final int slot)
    {
        return slotResponseLength[slot] == slotRequestLength[slot] ? slot : LoadMessage.SERVER_SLOT;
    }

    /**
     * The response of a slot's RPC arrived (or the RPC failed).
     *
     * @param slot   the slot.
     * @param status {@link LoadMessage#OK}, another check result, or -1 for a transport error.
     * @param nowNs  the time.
     */
    void onResponse(final int slot, final int status, final long nowNs)
    {
        if (!isBusy(slot))
        {
            return;
        }
        slotBusy[slot] = false;
        inFlight--;
        freeSlots.addInt(slot);
        final long dueNs = slotDueNs[slot];
        final int requestLength = slotRequestLength[slot];
        if (status < 0 && (!measuring || dueNs - measureStartNs < 0))
        {
            stats.errorsOutsideWindow++;
        }
        if (!measuring)
        {
            return;
        }
        if (LoadMessage.OK == status && nowNs - stopNs < 0)
        {
            stats.completed++;
            stats.bytes += requestLength + slotResponseLength[slot];
        }
        if (dueNs - measureStartNs < 0)
        {
            return;
        }
        if (LoadMessage.OK != status)
        {
            if (status < 0)
            {
                stats.errors++;
            }
            else
            {
                stats.verifyFailures++;
            }
            return;
        }
        final long latencyNs = nowNs - dueNs;
        final long slowdownMilli = null == baseline ? 0 :
            Math.max(1, latencyNs * 1000 / Math.max(1, baseline.nanosFor(requestLength)));
        stats.record(sizes.bucketOf(requestLength), latencyNs, slowdownMilli);
    }
}
