package dev.homa.core;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import dev.homa.nic.Packet;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.Arrays;

/**
 * A bounded off-heap region cut into fixed-size pages (the kernel's 64 KiB bpages). A message longer than a slot
 * takes {@code ceil(length / pageBytes)} whole pages, not necessarily adjacent: its byte at message offset
 * {@code o} lives in page {@code handles[o / pageBytes]} at {@code o % pageBytes}. A message of at most
 * {@link #slotBytes()} (a 32nd of a page: 2 KiB for 64 KiB pages) takes one slot of a shared page instead, so small
 * messages do not cost a page each (the kernel leases partly used bpages to small messages for the same reason).
 * Slot pages come from the same page stack and go back to it when their last slot is freed.
 * <p>
 * Handles: a page is its index (>= 0); a slot is {@code -(page * 32 + slot) - 1}. Reservation units
 * ({@link #unitsFor(int)}): one per slot, 32 per page. Protocol thread only.
 */
final class PagePool
{
    static final int SLOTS_PER_PAGE = 32;
    private static final int NONE = -1;

    private final UnsafeBuffer buffer;
    private final int pageBytes;
    private final int pageShift;
    private final int slotBytes;
    private final int slotShift;
    private final int pageCount;
    private final int[] free;
    private int freeCount;
    /** Per slab page: bit i set = slot i free. */
    private final int[] slotFreeBits;
    private final int[] partialNext;
    private final int[] partialPrev;
    private int partialHead = NONE;

    PagePool(final long poolBytes, final int pageBytes)
    {
        this(poolBytes, pageBytes, PoolMemory.DIRECT);
    }

    PagePool(final long poolBytes, final int pageBytes, final PoolMemory memory)
    {
        this.pageBytes = pageBytes;
        this.pageShift = Integer.numberOfTrailingZeros(pageBytes);
        this.slotBytes = pageBytes / SLOTS_PER_PAGE;
        this.slotShift = Integer.numberOfTrailingZeros(slotBytes);
        this.pageCount = (int)(poolBytes / pageBytes);
        this.buffer = memory.allocate(pageCount * pageBytes);
        if (buffer.capacity() < pageCount * pageBytes)
        {
            throw new IllegalStateException("pool memory of " + buffer.capacity() + " bytes, asked for " +
                pageCount * pageBytes);
        }
        this.free = new int[pageCount];
        for (int i = 0; i < pageCount; i++)
        {
            free[i] = pageCount - 1 - i;
        }
        freeCount = pageCount;
        slotFreeBits = new int[pageCount];
        partialNext = new int[pageCount];
        partialPrev = new int[pageCount];
        Arrays.fill(partialNext, NONE);
        Arrays.fill(partialPrev, NONE);
    }

    int pageBytes()
    {
        return pageBytes;
    }

    int slotBytes()
    {
        return slotBytes;
    }

    int pageCount()
    {
        return pageCount;
    }

    /**
     * @return pages not on the free stack (whole-page messages and slab pages).
     */
    int inUse()
    {
        return pageCount - freeCount;
    }

    int pagesFor(final int length)
    {
        return (length + pageBytes - 1) >>> pageShift;
    }

    /**
     * @return reservation units a message of this length needs: 1 for a slot, 32 per page.
     */
    int unitsFor(final int length)
    {
        return length <= slotBytes ? 1 : pagesFor(length) * SLOTS_PER_PAGE;
    }

    int totalUnits()
    {
        return pageCount * SLOTS_PER_PAGE;
    }

    UnsafeBuffer buffer()
    {
        return buffer;
    }

    /**
     * Allocate the storage of one message: a slot or all its pages, or nothing.
     *
     * @return number of handles written (1 for a slot), or -1 if the pool cannot hold it now.
     */
    int allocate(final int[] handles, final int length)
    {
        if (length <= slotBytes)
        {
            final int slot = allocateSlot();
            if (slot < 0)
            {
                return -1;
            }
            handles[0] = -slot - 1;
            return 1;
        }
        return extend(handles, 0, length);
    }

    /**
     * Give a message that holds the first {@code have} pages of its storage the rest of them, or nothing.
     *
     * @param handles the message's handles, the first {@code have} of them taken.
     * @param have    whole pages it holds (none of them a slot), 0 for a message that holds none yet.
     * @param length  the message's length, longer than a slot.
     * @return number of handles it holds now, or -1 if the pool cannot give it the rest now.
     */
    int extend(final int[] handles, final int have, final int length)
    {
        final int count = pagesFor(length);
        if (count - have > freeCount)
        {
            return -1;
        }
        for (int i = have; i < count; i++)
        {
            handles[i] = free[--freeCount];
        }
        return count;
    }

    void free(final int handle)
    {
        if (handle >= 0)
        {
            free[freeCount++] = handle;
        }
        else
        {
            freeSlot(-handle - 1);
        }
    }

    void free(final int[] handles, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            free(handles[i]);
        }
    }

    /**
     * @return byte offset in {@link #buffer()} where the handle's storage starts.
     */
    int offsetOf(final int handle)
    {
        if (handle >= 0)
        {
            return handle << pageShift;
        }
        final int slot = -handle - 1;
        return ((slot / SLOTS_PER_PAGE) << pageShift) + ((slot % SLOTS_PER_PAGE) << slotShift);
    }

    /**
     * Copy bytes into a message's storage.
     */
    void write(final int[] handles, final int msgOffset, final DirectBuffer src, final int srcIndex, final int length)
    {
        if (handles[0] < 0)
        {
            buffer.putBytes(offsetOf(handles[0]) + msgOffset, src, srcIndex, length);
            return;
        }
        int pos = msgOffset;
        int from = srcIndex;
        int remaining = length;
        while (remaining > 0)
        {
            final int page = handles[pos >>> pageShift];
            final int inPage = pos & (pageBytes - 1);
            final int n = Math.min(remaining, pageBytes - inPage);
            buffer.putBytes((page << pageShift) + inPage, src, from, n);
            pos += n;
            from += n;
            remaining -= n;
        }
    }

    /**
     * Copy bytes out of a message's storage.
     */
    void read(final int[] handles, final int msgOffset, final MutableDirectBuffer dst, final int dstIndex,
        final int length)
    {
        if (handles[0] < 0)
        {
            buffer.getBytes(offsetOf(handles[0]) + msgOffset, dst, dstIndex, length);
            return;
        }
        int pos = msgOffset;
        int to = dstIndex;
        int remaining = length;
        while (remaining > 0)
        {
            final int page = handles[pos >>> pageShift];
            final int inPage = pos & (pageBytes - 1);
            final int n = Math.min(remaining, pageBytes - inPage);
            buffer.getBytes((page << pageShift) + inPage, dst, to, n);
            pos += n;
            to += n;
            remaining -= n;
        }
    }

    /**
     * Hand a range of a message's bytes to a packet as gathered payload, a piece per page it touches, instead of
     * copying them ({@link Packet#appendPayload}).
     *
     * @param handles   the message's pages, or its slot.
     * @param msgOffset first byte of the range in the message.
     * @param length    bytes.
     * @param packet    the packet to send them with.
     * @return false if the packet cannot take that many pieces (it may hold some of them: clear them).
     */
    boolean appendTo(final int[] handles, final int msgOffset, final int length, final Packet packet)
    {
        final long base = buffer.addressOffset();
        if (handles[0] < 0)
        {
            return packet.appendPayload(base + offsetOf(handles[0]) + msgOffset, length);
        }
        int pos = msgOffset;
        int remaining = length;
        while (remaining > 0)
        {
            final int page = handles[pos >>> pageShift];
            final int inPage = pos & (pageBytes - 1);
            final int n = Math.min(remaining, pageBytes - inPage);
            if (!packet.appendPayload(base + ((long)page << pageShift) + inPage, n))
            {
                return false;
            }
            pos += n;
            remaining -= n;
        }
        return true;
    }

    private int allocateSlot()
    {
        int page = partialHead;
        if (NONE == page)
        {
            if (0 == freeCount)
            {
                return -1;
            }
            page = free[--freeCount];
            slotFreeBits[page] = -1;
            linkPartial(page);
        }
        final int bits = slotFreeBits[page];
        final int slot = Integer.numberOfTrailingZeros(bits);
        slotFreeBits[page] = bits & ~(1 << slot);
        if (0 == slotFreeBits[page])
        {
            unlinkPartial(page);
        }
        return page * SLOTS_PER_PAGE + slot;
    }

    private void freeSlot(final int slotId)
    {
        final int page = slotId / SLOTS_PER_PAGE;
        final int bit = 1 << (slotId % SLOTS_PER_PAGE);
        final int before = slotFreeBits[page];
        if (0 != (before & bit))
        {
            throw new IllegalStateException("slot freed twice: " + slotId);
        }
        slotFreeBits[page] = before | bit;
        if (0 == before)
        {
            linkPartial(page);
        }
        if (-1 == slotFreeBits[page])
        {
            unlinkPartial(page);
            free[freeCount++] = page;
        }
    }

    private void linkPartial(final int page)
    {
        partialPrev[page] = NONE;
        partialNext[page] = partialHead;
        if (NONE != partialHead)
        {
            partialPrev[partialHead] = page;
        }
        partialHead = page;
    }

    private void unlinkPartial(final int page)
    {
        final int prev = partialPrev[page];
        final int next = partialNext[page];
        if (NONE == prev)
        {
            partialHead = next;
        }
        else
        {
            partialNext[prev] = next;
        }
        if (NONE != next)
        {
            partialPrev[next] = prev;
        }
        partialPrev[page] = NONE;
        partialNext[page] = NONE;
    }
}
