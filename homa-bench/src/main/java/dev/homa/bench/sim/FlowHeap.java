package dev.homa.bench.sim;

/**
 * A pFabric host's flows by a key (bytes left, or a timeout deadline), ties to the older flow, so a host with
 * thousands of messages in flight still picks its next packet and its next timeout cheaply. Each flow remembers its
 * place in each of the two heaps a host keeps.
 */
final class FlowHeap extends IndexedHeap<PfabricFlow>
{
    private final boolean byDeadline;

    /**
     * @param byDeadline true to order by timeout deadline, false by bytes left.
     */
    FlowHeap(final boolean byDeadline)
    {
        super(new PfabricFlow[64]);
        this.byDeadline = byDeadline;
    }

    @Override
    boolean before(final PfabricFlow a, final PfabricFlow b)
    {
        final long ka = key(a);
        final long kb = key(b);
        return ka < kb || (ka == kb && a.flowId < b.flowId);
    }

    @Override
    int slot(final PfabricFlow flow)
    {
        return byDeadline ? flow.timeoutSlot : flow.sendSlot;
    }

    @Override
    void slot(final PfabricFlow flow, final int slot)
    {
        if (byDeadline)
        {
            flow.timeoutSlot = slot;
        }
        else
        {
            flow.sendSlot = slot;
        }
    }

    private long key(final PfabricFlow flow)
    {
        return byDeadline ? flow.timeoutNs() : flow.remaining();
    }
}
