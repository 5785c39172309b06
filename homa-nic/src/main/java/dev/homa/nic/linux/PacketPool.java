package dev.homa.nic.linux;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The packets of a driver: one preallocated off-heap region cut into equal slots that sending and receiving share,
 * so that a kernel-backed driver's system calls read and write the packets in place. Each slot may keep
 * {@code headroom} bytes in front of the packet's bytes for a header the driver writes there (a frame header), so a
 * packet leaves in one piece; packet bytes start 64-byte aligned when the headroom is a multiple of 64 or ends exactly
 * at them.
 * <pre>
 *  slot i: | headroom | packet bytes (capacity) ... pad to 64 |
 *          ^ region + i * stride
 * </pre>
 * A stack of free slot indices makes acquire and release O(1) without allocation; a per-slot flag catches a double
 * release and a foreign packet, which are API misuse and throw.
 */
public final class PacketPool
{
    private final MemorySegment region;
    private final UnsafeBuffer regionBuffer;
    private final Packet[] packets;
    private final boolean[] free;
    private final int[] freeStack;
    private final int stride;
    private final int headroom;
    private final int capacity;
    private int freeCount;

    /**
     * @param arena    owns the region; the pool's memory lives as long as the arena.
     * @param slots    packets in the pool.
     * @param capacity bytes of a packet.
     * @param headroom bytes kept in front of each packet.
     * @throws IllegalArgumentException if a size is not positive or the region would exceed 2 GiB.
     */
    public PacketPool(final Arena arena, final int slots, final int capacity, final int headroom)
    {
        if (slots <= 0 || capacity <= 0 || headroom < 0)
        {
            throw new IllegalArgumentException("pool needs slots > 0, capacity > 0 and headroom >= 0: " + slots +
                ", " + capacity + ", " + headroom);
        }
        this.stride = align64(headroom + capacity);
        this.headroom = headroom;
        this.capacity = capacity;
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
            packets[i] = new Packet(new UnsafeBuffer(packetAddress(i), capacity), i);
            free[i] = true;
            freeStack[i] = slots - 1 - i;
        }
        freeCount = slots;
    }

    /**
     * @return a cleared packet (no bytes, no payload, no source, priority -1), or null if the pool is empty.
     */
    public Packet acquire()
    {
        final int slot = take();
        return slot < 0 ? null :
            packets[slot].length(0).clearPayload().source(HostAddress.NONE).priority(-1).timestampNs(0);
    }

    /**
     * @param packet a packet of this pool that the caller holds.
     * @throws IllegalStateException    if it is free already.
     * @throws IllegalArgumentException if it belongs to another pool.
     */
    public void release(final Packet packet)
    {
        final int slot = slotOf(packet);
        if (free[slot])
        {
            throw new IllegalStateException("packet " + slot + " released twice");
        }
        giveBack(slot);
    }

    /**
     * @param packet a packet the caller means to hand on.
     * @return its slot index.
     * @throws IllegalStateException    if it is free (the caller does not hold it).
     * @throws IllegalArgumentException if it belongs to another pool.
     */
    public int heldSlotOf(final Packet packet)
    {
        final int slot = slotOf(packet);
        if (free[slot])
        {
            throw new IllegalStateException("packet " + slot + " is not owned by the caller");
        }
        return slot;
    }

    /**
     * @param packet a packet of this pool.
     * @return its slot index.
     * @throws IllegalArgumentException if it belongs to another pool.
     */
    public int slotOf(final Packet packet)
    {
        final long handle = packet.handle();
        if (handle < 0 || handle >= packets.length || packets[(int)handle] != packet)
        {
            throw new IllegalArgumentException("packet does not belong to this driver");
        }
        return (int)handle;
    }

    /**
     * Take a free slot for the driver's own use, such as a receive buffer.
     *
     * @return the slot index, or -1 if the pool is empty.
     */
    public int take()
    {
        if (0 == freeCount)
        {
            return -1;
        }
        final int slot = freeStack[--freeCount];
        free[slot] = false;
        return slot;
    }

    /**
     * @param slot a slot taken with {@link #take()} or held as a packet, given back unchecked.
     */
    public void giveBack(final int slot)
    {
        free[slot] = true;
        freeStack[freeCount++] = slot;
    }

    /**
     * @param slot slot index.
     * @return true if nobody holds it.
     */
    public boolean isFree(final int slot)
    {
        return free[slot];
    }

    /**
     * @param slot slot index.
     * @return the slot's packet, as it is.
     */
    public Packet packet(final int slot)
    {
        return packets[slot];
    }

    /**
     * @param slot slot index.
     * @return address of the slot's first packet byte.
     */
    public long packetAddress(final int slot)
    {
        return region.address() + (long)slot * stride + headroom;
    }

    /**
     * @param slot slot index.
     * @return offset in {@link #regionBuffer()} of the slot's first packet byte.
     */
    public int packetOffset(final int slot)
    {
        return slot * stride + headroom;
    }

    /**
     * @param slot slot index.
     * @return the slot's packet bytes as a segment of {@link #capacity()} bytes.
     */
    public MemorySegment packetSegment(final int slot)
    {
        return region.asSlice((long)slot * stride + headroom, capacity);
    }

    /**
     * @return the whole region as one buffer.
     */
    public UnsafeBuffer regionBuffer()
    {
        return regionBuffer;
    }

    /**
     * @return address of the region's first byte.
     */
    public long regionAddress()
    {
        return region.address();
    }

    /**
     * @return bytes between the starts of two slots.
     */
    public int stride()
    {
        return stride;
    }

    /**
     * @return bytes of a packet.
     */
    public int capacity()
    {
        return capacity;
    }

    /**
     * @return packets in the pool.
     */
    public int size()
    {
        return packets.length;
    }

    /**
     * @return free packets.
     */
    public int available()
    {
        return freeCount;
    }

    private static int align64(final int value)
    {
        return (value + 63) & ~63;
    }
}
