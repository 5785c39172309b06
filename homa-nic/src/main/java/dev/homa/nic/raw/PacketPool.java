package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.homa.nic.Packet;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One preallocated off-heap region cut into equal slots; each slot has {@link #HEADROOM} bytes in front of the Homa
 * bytes so the 38-byte Ethernet + 802.1Q + IPv4 header can be written there and the frame leaves in one piece.
 * Homa bytes start 64-byte aligned. A free list of slot indices makes acquire and release O(1) without allocation;
 * a per-slot flag catches double release and foreign packets (API misuse, so it throws).
 * <pre>
 *  slot i: | 26 spare | 38 frame header | Homa bytes (capacity) ... pad to 64 |
 *          ^ base + i * stride          ^ base + i * stride + HEADROOM
 * </pre>
 */
final class PacketPool
{
    /** Bytes reserved in front of each Homa slot; the frame header ends exactly at the Homa bytes. */
    static final int HEADROOM = 64;

    private final MemorySegment region;
    private final UnsafeBuffer regionBuffer;
    private final Packet[] packets;
    private final boolean[] free;
    private final int[] freeStack;
    private final int stride;
    private int freeCount;

    PacketPool(final Arena arena, final int slots, final int capacity)
    {
        if (slots <= 0 || capacity <= 0)
        {
            throw new IllegalArgumentException("pool needs slots > 0 and capacity > 0: " + slots + ", " + capacity);
        }
        this.stride = align64(HEADROOM + capacity);
        final long size = (long)stride * slots;
        if (size > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("pool too large: " + slots + " slots of " + stride + " bytes");
        }
        this.region = arena.allocate(size, 4096);
        this.regionBuffer = new UnsafeBuffer(region.address(), (int)size);
        this.packets = new Packet[slots];
        this.free = new boolean[slots];
        this.freeStack = new int[slots];
        for (int i = 0; i < slots; i++)
        {
            final long address = region.address() + (long)i * stride + HEADROOM;
            packets[i] = new Packet(new UnsafeBuffer(address, capacity), i);
            free[i] = true;
            freeStack[i] = slots - 1 - i;
        }
        freeCount = slots;
    }

    Packet acquire()
    {
        if (0 == freeCount)
        {
            return null;
        }
        final int slot = freeStack[--freeCount];
        free[slot] = false;
        final Packet packet = packets[slot];
        packet.length(0).clearPayload().source(0).priority(-1).timestampNs(0);
        return packet;
    }

    void release(final Packet packet)
    {
        final int slot = slotOf(packet);
        if (free[slot])
        {
            throw new IllegalStateException("packet released twice: slot " + slot);
        }
        free[slot] = true;
        freeStack[freeCount++] = slot;
    }

    /**
     * @param packet a packet of this pool.
     * @return its slot index.
     * @throws IllegalArgumentException if it belongs to another pool.
     */
    int slotOf(final Packet packet)
    {
        final long handle = packet.handle();
        if (handle < 0 || handle >= packets.length || packets[(int)handle] != packet)
        {
            throw new IllegalArgumentException("packet does not belong to this driver's pool");
        }
        return (int)handle;
    }

    boolean isFree(final int slot)
    {
        return free[slot];
    }

    /**
     * @param slot slot index.
     * @return offset in {@link #regionBuffer()} of the slot's first Homa byte.
     */
    int homaOffset(final int slot)
    {
        return slot * stride + HEADROOM;
    }

    UnsafeBuffer regionBuffer()
    {
        return regionBuffer;
    }

    long regionAddress()
    {
        return region.address();
    }

    int capacity()
    {
        return packets[0].capacity();
    }

    int size()
    {
        return packets.length;
    }

    int available()
    {
        return freeCount;
    }

    private static int align64(final int value)
    {
        return (value + 63) & ~63;
    }
}
