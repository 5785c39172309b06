package dev.homa.bench.sim;

import java.util.Arrays;

/**
 * The hosts of a simulation ordered by when each next needs to run, one entry per host: waking a host earlier (a
 * packet arrived) moves its entry instead of adding one, so a host that is due costs O(log hosts) however many
 * reasons it has to run. Ties go to the lower host index, so runs replay exactly.
 * <p>
 * A binary min-heap of host indices with each entry's time beside it in a parallel array: sifting compares two
 * array slots and touches no host, whose state is elsewhere in memory.
 */
final class HostQueue
{
    private final SimHost[] hosts;
    /** Host index at each place of the heap. */
    private final int[] heap;
    /** When the host at each place of the heap is due. */
    private final long[] due;
    /** Place in the heap of each host, by index; -1 before it is first woken. */
    private final int[] place;
    private int size;

    /**
     * @param hosts number of hosts.
     */
    HostQueue(final int hosts)
    {
        this.hosts = new SimHost[hosts];
        this.heap = new int[hosts];
        this.due = new long[hosts];
        this.place = new int[hosts];
        Arrays.fill(place, -1);
    }

    /**
     * @return the host due first, or null if none is.
     */
    SimHost first()
    {
        return 0 == size ? null : hosts[heap[0]];
    }

    /**
     * @return when the first host is due, {@link Long#MAX_VALUE} if none is.
     */
    long firstDueNs()
    {
        return 0 == size ? Long.MAX_VALUE : due[0];
    }

    /**
     * Make a host due at a time, or earlier than it was: a later time than the one it has is ignored (the host
     * runs then anyway and asks again). A host woken while it runs keeps the time for its {@link #reschedule}.
     *
     * @param host the host.
     * @param atNs when it must run.
     */
    void wake(final SimHost host, final long atNs)
    {
        if (host.running)
        {
            host.wokenNs = Math.min(host.wokenNs, atNs);
            return;
        }
        final int at = place[host.index];
        if (at < 0)
        {
            hosts[host.index] = host;
            heap[size] = host.index;
            due[size] = atNs;
            place[host.index] = size;
            up(size++);
        }
        else if (atNs < due[at])
        {
            due[at] = atNs;
            up(at);
        }
    }

    /**
     * Set when a host that has just run is due again, later or earlier than before. It stayed in the queue while it
     * ran, first, so this is one pass down the heap (or up, if earlier) where taking it out and putting it back would
     * be two.
     *
     * @param host the host, in the queue.
     * @param atNs when it must run.
     */
    void reschedule(final SimHost host, final long atNs)
    {
        final int at = place[host.index];
        final long was = due[at];
        due[at] = atNs;
        if (atNs < was)
        {
            up(at);
        }
        else
        {
            down(at);
        }
    }

    private boolean before(final long dueA, final int hostA, final long dueB, final int hostB)
    {
        return dueA < dueB || (dueA == dueB && hostA < hostB);
    }

    private void up(final int from)
    {
        final int host = heap[from];
        final long atNs = due[from];
        int index = from;
        while (index > 0)
        {
            final int parent = (index - 1) >>> 1;
            if (!before(atNs, host, due[parent], heap[parent]))
            {
                break;
            }
            put(index, heap[parent], due[parent]);
            index = parent;
        }
        put(index, host, atNs);
    }

    private void down(final int from)
    {
        final int host = heap[from];
        final long atNs = due[from];
        int index = from;
        while (true)
        {
            int child = 2 * index + 1;
            if (child >= size)
            {
                break;
            }
            if (child + 1 < size && before(due[child + 1], heap[child + 1], due[child], heap[child]))
            {
                child++;
            }
            if (!before(due[child], heap[child], atNs, host))
            {
                break;
            }
            put(index, heap[child], due[child]);
            index = child;
        }
        put(index, host, atNs);
    }

    private void put(final int index, final int host, final long atNs)
    {
        heap[index] = host;
        due[index] = atNs;
        place[host] = index;
    }
}
