package dev.homa.bench.sim;

import java.util.Arrays;

/**
 * The hosts of a simulation ordered by when each next needs to run: an indexed binary min-heap with one entry per
 * host, so waking a host earlier (a packet arrived) moves its entry instead of adding one, and a host that is due
 * costs O(log hosts) however many reasons it has to run. Ties go to the lower host index, so runs replay exactly.
 */
final class HostQueue
{
    private final int[] heap;
    private final int[] position;
    private final long[] dueNs;
    private int size;

    /**
     * @param hosts number of hosts (indices 0 .. hosts - 1).
     */
    HostQueue(final int hosts)
    {
        heap = new int[hosts];
        position = new int[hosts];
        dueNs = new long[hosts];
        Arrays.fill(position, -1);
    }

    /**
     * @return when the first host is due, {@link Long#MAX_VALUE} if none is.
     */
    long firstDueNs()
    {
        return 0 == size ? Long.MAX_VALUE : dueNs[heap[0]];
    }

    /**
     * @return the host due first, removed.
     */
    int pop()
    {
        final int first = heap[0];
        position[first] = -1;
        final int last = heap[--size];
        if (size > 0)
        {
            place(last, 0);
            down(0);
        }
        return first;
    }

    /**
     * Make a host due at a time, or earlier than it was: a later time than the one it has is ignored (the host
     * runs then anyway and asks again).
     *
     * @param host   the host.
     * @param atNs   when it must run.
     */
    void wake(final int host, final long atNs)
    {
        final int at = position[host];
        if (at < 0)
        {
            dueNs[host] = atNs;
            place(host, size++);
            up(size - 1);
        }
        else if (atNs < dueNs[host])
        {
            dueNs[host] = atNs;
            up(at);
        }
    }

    private void up(final int from)
    {
        int index = from;
        final int host = heap[index];
        while (index > 0)
        {
            final int parent = (index - 1) >>> 1;
            if (!before(host, heap[parent]))
            {
                break;
            }
            place(heap[parent], index);
            index = parent;
        }
        place(host, index);
    }

    private void down(final int from)
    {
        int index = from;
        final int host = heap[index];
        while (true)
        {
            int child = 2 * index + 1;
            if (child >= size)
            {
                break;
            }
            if (child + 1 < size && before(heap[child + 1], heap[child]))
            {
                child++;
            }
            if (!before(heap[child], host))
            {
                break;
            }
            place(heap[child], index);
            index = child;
        }
        place(host, index);
    }

    private boolean before(final int a, final int b)
    {
        return dueNs[a] < dueNs[b] || (dueNs[a] == dueNs[b] && a < b);
    }

    private void place(final int host, final int index)
    {
        heap[index] = host;
        position[host] = index;
    }
}
