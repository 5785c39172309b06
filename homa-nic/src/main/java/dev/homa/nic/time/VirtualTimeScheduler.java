package dev.homa.nic.time;

import java.util.Arrays;

/**
 * A deterministic discrete-event scheduler over a {@link VirtualClock}: a binary min-heap of (deadline, sequence)
 * so that events at the same instant fire in the order they were scheduled, run after run.
 * <p>
 * Single-threaded. The heap arrays grow by doubling and are kept, so a steady simulation does not allocate.
 */
public final class VirtualTimeScheduler
{
    private final VirtualClock clock;
    private long[] deadlines = new long[1024];
    private long[] sequences = new long[1024];
    private TimedEvent[] events = new TimedEvent[1024];
    private int size;
    private long nextSequence;

    /**
     * @param clock the clock this scheduler advances.
     */
    public VirtualTimeScheduler(final VirtualClock clock)
    {
        this.clock = clock;
    }

    /**
     * @return the clock advanced by this scheduler.
     */
    public VirtualClock clock()
    {
        return clock;
    }

    /**
     * @return current virtual time.
     */
    public long nowNs()
    {
        return clock.nanoTime();
    }

    /**
     * @param deadlineNs when to fire; a deadline in the past fires at the current time.
     * @param event      what to run.
     */
    public void schedule(final long deadlineNs, final TimedEvent event)
    {
        if (size == deadlines.length)
        {
            final int capacity = size << 1;
            deadlines = Arrays.copyOf(deadlines, capacity);
            sequences = Arrays.copyOf(sequences, capacity);
            events = Arrays.copyOf(events, capacity);
        }
        final long deadline = Math.max(deadlineNs, clock.nanoTime());
        final long sequence = nextSequence++;
        int index = size++;
        while (index > 0)
        {
            final int parent = (index - 1) >>> 1;
            if (!before(deadline, sequence, deadlines[parent], sequences[parent]))
            {
                break;
            }
            move(parent, index);
            index = parent;
        }
        deadlines[index] = deadline;
        sequences[index] = sequence;
        events[index] = event;
    }

    /**
     * @return number of pending events.
     */
    public int size()
    {
        return size;
    }

    /**
     * @return deadline of the earliest pending event, {@link Long#MAX_VALUE} if none.
     */
    public long nextDeadlineNs()
    {
        return 0 == size ? Long.MAX_VALUE : deadlines[0];
    }

    /**
     * Advance the clock to the earliest event and fire it.
     *
     * @return false if there was no event.
     */
    public boolean runNext()
    {
        if (0 == size)
        {
            return false;
        }
        final long deadline = deadlines[0];
        final TimedEvent event = events[0];
        removeHead();
        clock.advanceTo(deadline);
        event.onTimedEvent(deadline);
        return true;
    }

    /**
     * Fire every event due at or before {@code limitNs}, in order, then leave the clock at {@code limitNs}.
     *
     * @param limitNs time to run up to.
     * @return number of events fired.
     */
    public int runUntil(final long limitNs)
    {
        int fired = 0;
        while (0 != size && deadlines[0] <= limitNs)
        {
            runNext();
            fired++;
        }
        if (limitNs > clock.nanoTime())
        {
            clock.advanceTo(limitNs);
        }
        return fired;
    }

    /**
     * Fire every event due at the current time without advancing the clock.
     *
     * @return number of events fired.
     */
    public int runDue()
    {
        int fired = 0;
        while (0 != size && deadlines[0] <= clock.nanoTime())
        {
            runNext();
            fired++;
        }
        return fired;
    }

    private void removeHead()
    {
        final int last = --size;
        final long deadline = deadlines[last];
        final long sequence = sequences[last];
        final TimedEvent event = events[last];
        events[last] = null;
        if (0 == last)
        {
            return;
        }
        int index = 0;
        while (true)
        {
            int child = (index << 1) + 1;
            if (child >= last)
            {
                break;
            }
            final int right = child + 1;
            if (right < last && before(deadlines[right], sequences[right], deadlines[child], sequences[child]))
            {
                child = right;
            }
            if (!before(deadlines[child], sequences[child], deadline, sequence))
            {
                break;
            }
            move(child, index);
            index = child;
        }
        deadlines[index] = deadline;
        sequences[index] = sequence;
        events[index] = event;
    }

    private void move(final int from, final int to)
    {
        deadlines[to] = deadlines[from];
        sequences[to] = sequences[from];
        events[to] = events[from];
    }

    private static boolean before(final long deadlineA, final long seqA, final long deadlineB, final long seqB)
    {
        return deadlineA < deadlineB || (deadlineA == deadlineB && seqA < seqB);
    }
}
