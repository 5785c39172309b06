package dev.homa.core;

import dev.homa.core.grant.GrantState;
import dev.homa.core.grant.Grantable;

import java.util.Arrays;

/**
 * The receiving half of an RPC (a server's request or a client's response): reassembly by byte offset into
 * receive-pool pages, with the list of gaps (missing ranges below the highest byte seen) that drives RESENDs.
 * Duplicate and overlapping packets are handled by byte ranges: only bytes inside a gap or beyond the highest
 * byte count as new. Implements {@link Grantable} for the grant scheduler.
 */
final class InboundMessage implements Grantable
{
    static final int MAX_GAPS = 512;

    final int[] pages;
    final GrantState grantState = new GrantState();
    int pageCount;
    /** -1 until the first DATA packet arrives. */
    int length = -1;
    /** Bytes the sender will send without further grants (from the first packet's incoming field). */
    int incoming;
    /** Distinct payload bytes received. */
    int received;
    /** One past the highest byte received. */
    int highest;
    int[] gapStarts = new int[16];
    int[] gapEnds = new int[16];
    int gapCount;
    long birthOrder;
    long peerAddress;
    /** Receive-pool bytes counted against the peer's share while the message is being received. */
    long chargedBytes;
    /**
     * Bytes of the message, from its start, that its pages can hold: its length once it has its storage, fewer while
     * it waits with pages for its unscheduled bytes only, 0 while it waits with none. DATA beyond is dropped.
     */
    int heldBytes;
    /** Queued for its storage (or the rest of it) in the {@link InboundAllocator}; gets no grants meanwhile. */
    boolean waitingForPages;
    /** Holds all its pages as one of the messages that could have held a prefix instead. */
    boolean wholeInsteadOfPrefix;
    boolean scheduled;
    Rpc rpc;

    InboundMessage(final int maxPages)
    {
        this.pages = new int[maxPages];
    }

    void reset(final Rpc rpc)
    {
        this.rpc = rpc;
        pageCount = 0;
        length = -1;
        incoming = 0;
        received = 0;
        highest = 0;
        gapCount = 0;
        birthOrder = 0;
        peerAddress = 0;
        chargedBytes = 0;
        heldBytes = 0;
        waitingForPages = false;
        wholeInsteadOfPrefix = false;
        scheduled = false;
    }

    boolean started()
    {
        return length >= 0;
    }

    boolean complete()
    {
        return length >= 0 && received >= length;
    }

    /**
     * @return true if the message is longer than the bytes its sender may send unscheduled, so that it needs grants.
     */
    boolean needsGrants()
    {
        return incoming < length;
    }

    /**
     * {@return one past the last byte the sender may have sent: its unscheduled bytes or the highest offset granted
     * so far, within the message}
     */
    int grantedEnd()
    {
        return Math.min(length, Math.max(incoming, grantState.grantedOffset()));
    }

    /**
     * Record the byte range of one packet.
     *
     * @return distinct new bytes, or -1 if the packet would need a gap beyond {@link #MAX_GAPS} (drop it).
     */
    int accept(final int offset, final int byteLength)
    {
        if (byteLength <= 0)
        {
            return 0;
        }
        final int end = offset + byteLength;
        if (offset >= highest)
        {
            if (offset > highest)
            {
                if (!ensureGapCapacity())
                {
                    return -1;
                }
                gapStarts[gapCount] = highest;
                gapEnds[gapCount] = offset;
                gapCount++;
            }
            highest = end;
            received += byteLength;
            return byteLength;
        }

        int newBytes = 0;
        final int limit = Math.min(end, highest);
        for (int i = 0; i < gapCount; i++)
        {
            final int gs = gapStarts[i];
            final int ge = gapEnds[i];
            final int os = Math.max(gs, offset);
            final int oe = Math.min(ge, limit);
            if (os >= oe)
            {
                continue;
            }
            if (os == gs && oe == ge)
            {
                System.arraycopy(gapStarts, i + 1, gapStarts, i, gapCount - i - 1);
                System.arraycopy(gapEnds, i + 1, gapEnds, i, gapCount - i - 1);
                gapCount--;
                i--;
            }
            else if (os == gs)
            {
                gapStarts[i] = oe;
            }
            else if (oe == ge)
            {
                gapEnds[i] = os;
            }
            else
            {
                if (!ensureGapCapacity())
                {
                    // Out of gap slots: keep what was filled; the unsplit remainder stays missing and is resent.
                    return commit(newBytes, end);
                }
                System.arraycopy(gapStarts, i + 1, gapStarts, i + 2, gapCount - i - 1);
                System.arraycopy(gapEnds, i + 1, gapEnds, i + 2, gapCount - i - 1);
                gapEnds[i] = os;
                gapStarts[i + 1] = oe;
                gapEnds[i + 1] = ge;
                gapCount++;
                i++;
            }
            newBytes += oe - os;
        }
        return commit(newBytes, end);
    }

    private int commit(final int newBytes, final int end)
    {
        int total = newBytes;
        if (end > highest)
        {
            total += end - highest;
            highest = end;
        }
        received += total;
        return total;
    }

    private boolean ensureGapCapacity()
    {
        if (gapCount < gapStarts.length)
        {
            return true;
        }
        if (gapStarts.length >= MAX_GAPS)
        {
            return false;
        }
        final int capacity = Math.min(MAX_GAPS, gapStarts.length * 2);
        gapStarts = Arrays.copyOf(gapStarts, capacity);
        gapEnds = Arrays.copyOf(gapEnds, capacity);
        return true;
    }

    @Override
    public long peer()
    {
        return peerAddress;
    }

    @Override
    public int messageLength()
    {
        return length;
    }

    @Override
    public int bytesReceived()
    {
        return received;
    }

    @Override
    public long birthOrder()
    {
        return birthOrder;
    }

    @Override
    public GrantState grantState()
    {
        return grantState;
    }
}
