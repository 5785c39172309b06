package dev.homa.nic.time;

import java.util.Arrays;

/**
 * A deterministic discrete-event scheduler over a {@link VirtualClock}: events fire in order of their deadline, and
 * events with the same deadline in the order they were scheduled, run after run.
 * <p>
 * Events due within {@value #WHEEL_SLOTS} ns of the last one fired sit in a timing wheel of one-nanosecond slots, a
 * FIFO per slot (so same-deadline events keep their scheduling order) and a bitmap of the slots in use; scheduling
 * and firing one costs O(1), whatever the number pending. A network's events (a frame leaving a link, arriving at a
 * switch) are nearly all that close. Later ones wait in a binary min-heap of (deadline, sequence) and move into the
 * wheel, in that order, as soon as its span reaches them, before anything else can be scheduled for their instant:
 * so the order is the same as one heap would give.
 * <p>
 * Single-threaded. Arrays grow by doubling and are kept, so a steady simulation does not allocate.
 */
public final class VirtualTimeScheduler
{
    /**
     * Nanoseconds the wheel spans. As time moves on, the wheel sweeps its slots' memory (8 bytes a slot) once per
     * span; 16 µs (128 KiB) stays in a core's cache, so scheduling an event next to the one just fired seldom misses.
     * A frame's next hop is well within it; a timer further out waits in the heap.
     */
    static final int WHEEL_SLOTS = 1 << 14;
    private static final int WHEEL_MASK = WHEEL_SLOTS - 1;
    private static final int NONE = -1;

    private final VirtualClock clock;

    private final long[] occupied = new long[WHEEL_SLOTS >>> 6];
    /** Each slot's first and last node, side by side (one cache line for both): 2 * slot and 2 * slot + 1. */
    private final int[] slotEnds = new int[2 * WHEEL_SLOTS];
    private TimedEvent[] nodeEvents = new TimedEvent[1024];
    private int[] nodeNext = new int[1024];
    private int freeNode = NONE;
    private int nodesUsed;
    private int wheelCount;
    /** Every event in the wheel is due in [base, base + WHEEL_SLOTS). */
    private long base;
    private long nextWheelNs = Long.MAX_VALUE;
    private boolean nextWheelKnown = true;

    private long[] deadlines = new long[64];
    private long[] sequences = new long[64];
    private TimedEvent[] events = new TimedEvent[64];
    private int heapSize;
    private long nextSequence;

    /**
     * @param clock the clock this scheduler advances.
     */
    public VirtualTimeScheduler(final VirtualClock clock)
    {
        this.clock = clock;
        this.base = clock.nanoTime();
        Arrays.fill(slotEnds, NONE);
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
        final long nowNs = clock.nanoTime();
        final long deadline = Math.max(deadlineNs, nowNs);
        if (0 == wheelCount && nowNs > base)
        {
            // An empty wheel can follow the clock (moved on by whoever drives it): its span starts from now.
            base = nowNs;
            migrate();
        }
        if (deadline - base < WHEEL_SLOTS)
        {
            addToWheel(deadline, event);
        }
        else
        {
            push(deadline, nextSequence++, event);
        }
    }

    /**
     * @return number of pending events.
     */
    public int size()
    {
        return wheelCount + heapSize;
    }

    /**
     * @return deadline of the earliest pending event, {@link Long#MAX_VALUE} if none.
     */
    public long nextDeadlineNs()
    {
        if (0 != wheelCount)
        {
            return nextWheelNs();
        }
        return 0 == heapSize ? Long.MAX_VALUE : deadlines[0];
    }

    /**
     * Advance the clock to the earliest event and fire it.
     *
     * @return false if there was no event.
     */
    public boolean runNext()
    {
        if (0 == wheelCount)
        {
            if (0 == heapSize)
            {
                return false;
            }
            // The wheel is empty: move it to the heap's first event and take in everything its span reaches.
            base = deadlines[0];
            migrate();
        }
        final long deadline = nextWheelNs();
        final int slot = (int)deadline & WHEEL_MASK;
        final int node = slotEnds[slot << 1];
        final TimedEvent event = nodeEvents[node];
        final int next = nodeNext[node];
        slotEnds[slot << 1] = next;
        if (NONE == next)
        {
            occupied[slot >>> 6] &= ~(1L << slot);
            nextWheelKnown = false;
        }
        nodeEvents[node] = null;
        nodeNext[node] = freeNode;
        freeNode = node;
        wheelCount--;
        if (deadline != base)
        {
            base = deadline;
            migrate();
        }
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
        while (nextDeadlineNs() <= limitNs)
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
        while (nextDeadlineNs() <= clock.nanoTime())
        {
            runNext();
            fired++;
        }
        return fired;
    }

    private void addToWheel(final long deadline, final TimedEvent event)
    {
        int node = freeNode;
        if (NONE == node)
        {
            if (nodesUsed == nodeEvents.length)
            {
                nodeEvents = Arrays.copyOf(nodeEvents, nodesUsed << 1);
                nodeNext = Arrays.copyOf(nodeNext, nodesUsed << 1);
            }
            node = nodesUsed++;
        }
        else
        {
            freeNode = nodeNext[node];
        }
        nodeEvents[node] = event;
        nodeNext[node] = NONE;
        final int slot = (int)deadline & WHEEL_MASK;
        final int head = slot << 1;
        if (NONE == slotEnds[head])
        {
            slotEnds[head] = node;
            occupied[slot >>> 6] |= 1L << slot;
        }
        else
        {
            nodeNext[slotEnds[head + 1]] = node;
        }
        slotEnds[head + 1] = node;
        wheelCount++;
        if (nextWheelKnown && deadline < nextWheelNs)
        {
            nextWheelNs = deadline;
        }
    }

    /**
     * @return the deadline of the wheel's first event (the wheel is not empty).
     */
    private long nextWheelNs()
    {
        if (!nextWheelKnown)
        {
            final int start = (int)base & WHEEL_MASK;
            int word = start >>> 6;
            long bits = occupied[word] & (-1L << (start & 63));
            int scanned = 0;
            while (0 == bits)
            {
                word = (word + 1) & (occupied.length - 1);
                bits = occupied[word];
                if (++scanned > occupied.length)
                {
                    throw new IllegalStateException("wheel holds " + wheelCount + " events but no slot is in use");
                }
            }
            final int slot = (word << 6) + Long.numberOfTrailingZeros(bits);
            nextWheelNs = base + ((slot - start) & WHEEL_MASK);
            nextWheelKnown = true;
        }
        return nextWheelNs;
    }

    /**
     * Move every heap event the wheel's span now reaches into the wheel, in (deadline, sequence) order.
     */
    private void migrate()
    {
        if (0 == wheelCount)
        {
            nextWheelNs = Long.MAX_VALUE;
            nextWheelKnown = true;
        }
        while (0 != heapSize && deadlines[0] - base < WHEEL_SLOTS)
        {
            final long deadline = deadlines[0];
            final TimedEvent event = events[0];
            removeHead();
            addToWheel(deadline, event);
        }
    }

    private void push(final long deadline, final long sequence, final TimedEvent event)
    {
        if (heapSize == deadlines.length)
        {
            final int capacity = heapSize << 1;
            deadlines = Arrays.copyOf(deadlines, capacity);
            sequences = Arrays.copyOf(sequences, capacity);
            events = Arrays.copyOf(events, capacity);
        }
        int index = heapSize++;
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

    private void removeHead()
    {
        final int last = --heapSize;
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
