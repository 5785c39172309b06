package dev.homa.nic.loopback;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Frames for a timed fabric, allocated in chunks over direct memory as the fabric first needs them and then recycled
 * forever, up to a fixed limit: a steady simulation allocates nothing, and a runaway one hits the limit (counted)
 * instead of the heap.
 */
final class FramePool
{
    private static final int CHUNK_FRAMES = 256;

    private final Fabric fabric;
    private final int slotLength;
    private final int capacity;
    private Frame[] free = new Frame[CHUNK_FRAMES];
    private int freeCount;
    private int allocated;

    FramePool(final Fabric fabric, final int frameLength, final int capacity)
    {
        this.fabric = fabric;
        this.slotLength = (frameLength + 63) & ~63;
        this.capacity = capacity;
    }

    Frame acquire()
    {
        if (0 == freeCount && !grow())
        {
            return null;
        }
        final Frame frame = free[--freeCount];
        free[freeCount] = null;
        return frame;
    }

    void release(final Frame frame)
    {
        frame.next = null;
        frame.nextSwitch = null;
        frame.stage = Frame.STAGE_NONE;
        free[freeCount++] = frame;
    }

    int inUse()
    {
        return allocated - freeCount;
    }

    int allocated()
    {
        return allocated;
    }

    int capacity()
    {
        return capacity;
    }

    private boolean grow()
    {
        final int count = Math.min(CHUNK_FRAMES, capacity - allocated);
        if (count <= 0)
        {
            return false;
        }
        if (free.length < allocated + count)
        {
            free = Arrays.copyOf(free, allocated + count);
        }
        final ByteBuffer memory = BufferUtil.allocateDirectAligned(count * slotLength, 64);
        for (int i = 0; i < count; i++)
        {
            free[freeCount++] = new Frame(fabric, new UnsafeBuffer(memory, i * slotLength, slotLength));
        }
        allocated += count;
        return true;
    }
}
