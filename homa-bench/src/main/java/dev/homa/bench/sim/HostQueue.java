package dev.homa.bench.sim;

/**
 * The hosts of a simulation ordered by when each next needs to run, then by index (so runs replay exactly): a heap
 * keyed by each host's own next deadline, and beside it the hosts a packet has woken for the current instant.
 * <p>
 * Nearly every wake-up is a packet's arrival, for now, at a host whose own deadline is later. Moving that host to
 * the top of the heap and back down once it has run would cost two passes through the heap per packet; instead it
 * is marked in a bitmap by index, and only its {@link #reschedule} after it runs moves its entry, once. All marks are
 * for one time; a wake-up for another goes through the heap. The host to run next is the first by (time, index) of
 * the heap's top and the lowest marked index.
 */
final class HostQueue extends IndexedHeap<SimHost>
{
    private final SimHost[] hosts;
    /** Bit i: host i is due at {@link #wokenNs}, before its place in the heap says. */
    private final long[] woken;
    private int wokenCount;
    private long wokenNs;

    /**
     * @param hosts every host at its index, each set before it is first woken.
     */
    HostQueue(final SimHost[] hosts)
    {
        super(new SimHost[hosts.length]);
        this.hosts = hosts;
        this.woken = new long[(hosts.length + 63) >>> 6];
    }

    /**
     * @return when the first host is due, {@link Long#MAX_VALUE} if none is.
     */
    long firstDueNs()
    {
        final SimHost top = first();
        final long topNs = null == top ? Long.MAX_VALUE : top.dueNs;
        return 0 == wokenCount ? topNs : Math.min(topNs, wokenNs);
    }

    /**
     * @return the host to run next (due at {@link #firstDueNs()}), or null if none is due.
     */
    SimHost next()
    {
        final SimHost top = first();
        if (0 == wokenCount)
        {
            return top;
        }
        final SimHost marked = lowestWoken();
        return null != top && (top.dueNs < wokenNs || (top.dueNs == wokenNs && top.index < marked.index)) ?
            top : marked;
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
        }
        else if (host.queueSlot < 0)
        {
            host.dueNs = atNs;
            update(host);
        }
        else if (atNs < host.dueNs)
        {
            final int word = host.index >>> 6;
            final long bit = 1L << host.index;
            final boolean marked = 0 != (woken[word] & bit);
            if (marked && atNs >= wokenNs)
            {
                return;
            }
            if (!marked && (0 == wokenCount || atNs == wokenNs))
            {
                woken[word] |= bit;
                wokenCount++;
                wokenNs = atNs;
                return;
            }
            // Due at another time than the marked hosts: the heap keeps it.
            reschedule(host, atNs);
        }
    }

    /**
     * Set when a host that has just run is due again, later or earlier than before, and clear its mark.
     *
     * @param host the host.
     * @param atNs when it must run.
     */
    void reschedule(final SimHost host, final long atNs)
    {
        final int word = host.index >>> 6;
        final long bit = 1L << host.index;
        if (0 != (woken[word] & bit))
        {
            woken[word] &= ~bit;
            wokenCount--;
        }
        host.dueNs = atNs;
        update(host);
    }

    @Override
    boolean before(final SimHost a, final SimHost b)
    {
        return a.dueNs < b.dueNs || (a.dueNs == b.dueNs && a.index < b.index);
    }

    @Override
    int slot(final SimHost host)
    {
        return host.queueSlot;
    }

    @Override
    void slot(final SimHost host, final int slot)
    {
        host.queueSlot = slot;
    }

    private SimHost lowestWoken()
    {
        int word = 0;
        while (0 == woken[word])
        {
            word++;
        }
        return hosts[(word << 6) + Long.numberOfTrailingZeros(woken[word])];
    }
}
