package dev.homa.bench.sim;

/**
 * The hosts of a simulation ordered by when each next needs to run, one entry per host: waking a host earlier (a
 * packet arrived) moves its entry instead of adding one, so a host that is due costs O(log hosts) however many
 * reasons it has to run. Ties go to the lower host index, so runs replay exactly.
 */
final class HostQueue extends IndexedHeap<SimHost>
{
    /**
     * @param hosts number of hosts.
     */
    HostQueue(final int hosts)
    {
        super(new SimHost[hosts]);
    }

    /**
     * @return when the first host is due, {@link Long#MAX_VALUE} if none is.
     */
    long firstDueNs()
    {
        final SimHost first = first();
        return null == first ? Long.MAX_VALUE : first.dueNs;
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
        else if (host.queueSlot < 0 || atNs < host.dueNs)
        {
            host.dueNs = atNs;
            update(host);
        }
    }

    /**
     * Set when a host that has just run is due again, later or earlier than before. It stayed in the queue while it
     * ran, first, so this is one pass down the heap where taking it out and putting it back would be two.
     *
     * @param host the host.
     * @param atNs when it must run.
     */
    void reschedule(final SimHost host, final long atNs)
    {
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
}
