package dev.homa.bench.sim;

import java.util.Arrays;

/**
 * An indexed binary min-heap of pFabric flows by a key (bytes left, or a timeout deadline), ties to the older flow:
 * add, remove and re-key in O(log n), so a host with thousands of messages in flight still picks its next packet
 * and its next timeout cheaply. Each flow remembers its place in each of the two heaps a host keeps.
 */
final class FlowHeap
{
    private final boolean byDeadline;
    private PfabricFlow[] heap = new PfabricFlow[64];
    private int size;

    /**
     * @param byDeadline true to order by timeout deadline, false by bytes left.
     */
    FlowHeap(final boolean byDeadline)
    {
        this.byDeadline = byDeadline;
    }

    int size()
    {
        return size;
    }

    /**
     * @return the flow with the smallest key, or null.
     */
    PfabricFlow first()
    {
        return 0 == size ? null : heap[0];
    }

    boolean contains(final PfabricFlow flow)
    {
        return position(flow) >= 0;
    }

    /**
     * Add a flow, or move it after its key changed.
     *
     * @param flow the flow.
     */
    void update(final PfabricFlow flow)
    {
        final int at = position(flow);
        if (at < 0)
        {
            if (size == heap.length)
            {
                heap = Arrays.copyOf(heap, size << 1);
            }
            place(flow, size++);
            up(size - 1);
        }
        else
        {
            up(at);
            down(position(flow));
        }
    }

    void remove(final PfabricFlow flow)
    {
        final int at = position(flow);
        if (at < 0)
        {
            return;
        }
        position(flow, -1);
        final PfabricFlow last = heap[--size];
        heap[size] = null;
        if (at != size)
        {
            place(last, at);
            up(at);
            down(position(last));
        }
    }

    private long key(final PfabricFlow flow)
    {
        return byDeadline ? flow.timeoutNs() : flow.remaining();
    }

    private boolean before(final PfabricFlow a, final PfabricFlow b)
    {
        final long ka = key(a);
        final long kb = key(b);
        return ka < kb || (ka == kb && a.flowId < b.flowId);
    }

    private void up(final int from)
    {
        int index = from;
        final PfabricFlow flow = heap[index];
        while (index > 0)
        {
            final int parent = (index - 1) >>> 1;
            if (!before(flow, heap[parent]))
            {
                break;
            }
            place(heap[parent], index);
            index = parent;
        }
        place(flow, index);
    }

    private void down(final int from)
    {
        int index = from;
        final PfabricFlow flow = heap[index];
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
            if (!before(heap[child], flow))
            {
                break;
            }
            place(heap[child], index);
            index = child;
        }
        place(flow, index);
    }

    private void place(final PfabricFlow flow, final int index)
    {
        heap[index] = flow;
        position(flow, index);
    }

    private int position(final PfabricFlow flow)
    {
        return byDeadline ? flow.timeoutSlot : flow.sendSlot;
    }

    private void position(final PfabricFlow flow, final int index)
    {
        if (byDeadline)
        {
            flow.timeoutSlot = index;
        }
        else
        {
            flow.sendSlot = index;
        }
    }
}
