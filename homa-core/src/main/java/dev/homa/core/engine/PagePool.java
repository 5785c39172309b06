package dev.homa.core.engine;

import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A bounded off-heap region cut into fixed-size pages (the kernel's 64 KiB bpages), handed out by index from a
 * free stack. A message takes {@code ceil(length / pageBytes)} pages, not necessarily adjacent; its byte at
 * message offset {@code o} lives in page {@code pages[o / pageBytes]} at {@code o % pageBytes}. Protocol thread
 * only.
 */
final class PagePool
{
    private final UnsafeBuffer buffer;
    private final int pageBytes;
    private final int pageShift;
    private final int pageCount;
    private final int[] free;
    private int freeCount;

    PagePool(final long poolBytes, final int pageBytes)
    {
        this.pageBytes = pageBytes;
        this.pageShift = Integer.numberOfTrailingZeros(pageBytes);
        this.pageCount = (int)(poolBytes / pageBytes);
        this.buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(pageCount * pageBytes, 64));
        this.free = new int[pageCount];
        for (int i = 0; i < pageCount; i++)
        {
            free[i] = pageCount - 1 - i;
        }
        freeCount = pageCount;
    }

    int pageBytes()
    {
        return pageBytes;
    }

    int pageCount()
    {
        return pageCount;
    }

    int inUse()
    {
        return pageCount - freeCount;
    }

    int pagesFor(final int length)
    {
        return (length + pageBytes - 1) >>> pageShift;
    }

    UnsafeBuffer buffer()
    {
        return buffer;
    }

    /**
     * Allocate all pages of a message or none.
     *
     * @return true if {@code count} pages were written to {@code pages}.
     */
    boolean allocate(final int[] pages, final int count)
    {
        if (count > freeCount)
        {
            return false;
        }
        for (int i = 0; i < count; i++)
        {
            pages[i] = free[--freeCount];
        }
        return true;
    }

    void free(final int page)
    {
        free[freeCount++] = page;
    }

    void free(final int[] pages, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            free[freeCount++] = pages[i];
        }
    }

    int pageOffset(final int page)
    {
        return page << pageShift;
    }

    /**
     * Copy bytes into a message's pages.
     */
    void write(final int[] pages, final int msgOffset, final DirectBuffer src, final int srcIndex, final int length)
    {
        int pos = msgOffset;
        int from = srcIndex;
        int remaining = length;
        while (remaining > 0)
        {
            final int page = pages[pos >>> pageShift];
            final int inPage = pos & (pageBytes - 1);
            final int n = Math.min(remaining, pageBytes - inPage);
            buffer.putBytes((page << pageShift) + inPage, src, from, n);
            pos += n;
            from += n;
            remaining -= n;
        }
    }

    /**
     * Copy bytes out of a message's pages.
     */
    void read(final int[] pages, final int msgOffset, final MutableDirectBuffer dst, final int dstIndex, final int length)
    {
        int pos = msgOffset;
        int to = dstIndex;
        int remaining = length;
        while (remaining > 0)
        {
            final int page = pages[pos >>> pageShift];
            final int inPage = pos & (pageBytes - 1);
            final int n = Math.min(remaining, pageBytes - inPage);
            buffer.getBytes((page << pageShift) + inPage, dst, to, n);
            pos += n;
            to += n;
            remaining -= n;
        }
    }
}
