package dev.homa.bench.sim;

import java.util.Arrays;

/**
 * A binary min-heap whose elements remember their own place in it, so that adding, removing and re-keying one costs
 * O(log n) without a search: the simulator's hosts by when each next has to run, a pFabric host's flows by bytes
 * left and by timeout. Subclasses give the order (ties must be broken, so that runs replay exactly) and where an
 * element keeps its place (-1 when it is not in the heap).
 *
 * @param <T> the elements.
 */
abstract class IndexedHeap<T>
{
    private T[] heap;
    private int size;

    /**
     * @param initial an empty array to start with (it grows by doubling).
     */
    IndexedHeap(final T[] initial)
    {
        heap = initial;
    }

    /**
     * @param a an element.
     * @param b another.
     * @return true if a comes first.
     */
    abstract boolean before(T a, T b);

    /**
     * @param element an element.
     * @return its place in the heap, -1 if it is not in it.
     */
    abstract int slot(T element);

    /**
     * @param element an element.
     * @param slot    its place in the heap, -1 when it leaves.
     */
    abstract void slot(T element, int slot);

    final int size()
    {
        return size;
    }

    /**
     * @return the first element, or null.
     */
    final T first()
    {
        return 0 == size ? null : heap[0];
    }

    /**
     * Add an element, or move it after its key changed.
     *
     * @param element the element.
     */
    final void update(final T element)
    {
        final int at = slot(element);
        if (at < 0)
        {
            if (size == heap.length)
            {
                heap = Arrays.copyOf(heap, Math.max(1, size << 1));
            }
            place(element, size++);
            up(size - 1);
        }
        else
        {
            up(at);
            down(slot(element));
        }
    }

    /**
     * @param element an element, in the heap or not.
     */
    final void remove(final T element)
    {
        final int at = slot(element);
        if (at < 0)
        {
            return;
        }
        slot(element, -1);
        final T last = heap[--size];
        heap[size] = null;
        if (at != size)
        {
            place(last, at);
            up(at);
            down(slot(last));
        }
    }

    private void up(final int from)
    {
        int index = from;
        final T element = heap[index];
        while (index > 0)
        {
            final int parent = (index - 1) >>> 1;
            if (!before(element, heap[parent]))
            {
                break;
            }
            place(heap[parent], index);
            index = parent;
        }
        place(element, index);
    }

    private void down(final int from)
    {
        int index = from;
        final T element = heap[index];
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
            if (!before(heap[child], element))
            {
                break;
            }
            place(heap[child], index);
            index = child;
        }
        place(element, index);
    }

    private void place(final T element, final int index)
    {
        heap[index] = element;
        slot(element, index);
    }
}
