package dev.homa.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reassembly bookkeeping by byte offset: in-order, out-of-order, duplicate, overlapping and partially overlapping
 * packets count each byte once, and the gap list always names exactly the missing ranges below the highest byte.
 */
class InboundMessageTest
{
    @Test
    @Timeout(10)
    void gapsFollowArbitraryPacketRanges()
    {
        final InboundMessage in = new InboundMessage(16);
        in.reset(null);
        in.length = 10_000;
        assertEquals(1000, in.accept(0, 1000));
        assertEquals(1000, in.accept(3000, 1000));
        assertEquals(1, in.gapCount);
        assertEquals(1000, in.gapStarts[0]);
        assertEquals(3000, in.gapEnds[0]);
        assertEquals(0, in.accept(3000, 1000), "duplicate");
        assertEquals(500, in.accept(1500, 500), "middle of a gap splits it");
        assertEquals(2, in.gapCount);
        assertEquals(1000, in.accept(900, 1600), "overlap on both sides counts only new bytes: 1000..1500, 2000..2500");
        assertEquals(1, in.gapCount);
        assertEquals(2500, in.gapStarts[0]);
        assertEquals(500, in.accept(2500, 3000 - 2500 + 0));
        assertEquals(0, in.gapCount);
        assertEquals(6000, in.accept(3500, 6500) + 0 * 0, "overlapping tail beyond the highest byte");
        assertTrue(in.complete(), "received " + in.received);
    }

    @Test
    @Timeout(10)
    void randomPacketsAgreeWithABitmap()
    {
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("seed=" + seed);
        final SplittableRandom random = new SplittableRandom(seed);
        for (int round = 0; round < 200; round++)
        {
            final int length = 1 + random.nextInt(20_000);
            final InboundMessage in = new InboundMessage(16);
            in.reset(null);
            in.length = length;
            final boolean[] have = new boolean[length];
            int count = 0;
            for (int packet = 0; count < length; packet++)
            {
                // Random ranges first; then sweep in order so every round finishes.
                final int offset = packet < 40 ? random.nextInt(length) : firstMissing(have);
                final int size = 1 + random.nextInt(Math.min(1500, length - offset));
                int fresh = 0;
                for (int i = offset; i < offset + size; i++)
                {
                    if (!have[i])
                    {
                        have[i] = true;
                        fresh++;
                    }
                }
                final int accepted = in.accept(offset, size);
                if (accepted < 0)
                {
                    // Out of gap slots: nothing recorded; undo the bitmap for this packet.
                    for (int i = offset; i < offset + size; i++)
                    {
                        have[i] = false;
                    }
                    recount(have, in);
                    count = in.received;
                    continue;
                }
                count += fresh;
                if (fresh != accepted)
                {
                    // A split that ran out of gap slots keeps part of the packet missing; the bitmap must follow.
                    resync(have, in);
                    count = in.received;
                }
                assertEquals(count, in.received, "seed " + seed);
                checkGaps(have, in, seed);
            }
            assertTrue(in.complete());
            assertEquals(0, in.gapCount);
        }
    }

    private static int firstMissing(final boolean[] have)
    {
        int i = 0;
        while (have[i])
        {
            i++;
        }
        return i;
    }

    private static void recount(final boolean[] have, final InboundMessage in)
    {
        resync(have, in);
    }

    private static void resync(final boolean[] have, final InboundMessage in)
    {
        for (int i = 0; i < have.length; i++)
        {
            have[i] = i < in.highest;
        }
        for (int g = 0; g < in.gapCount; g++)
        {
            for (int i = in.gapStarts[g]; i < in.gapEnds[g]; i++)
            {
                have[i] = false;
            }
        }
    }

    private static void checkGaps(final boolean[] have, final InboundMessage in, final long seed)
    {
        int g = 0;
        int i = 0;
        while (i < in.highest)
        {
            if (have[i])
            {
                i++;
                continue;
            }
            final int start = i;
            while (i < in.highest && !have[i])
            {
                i++;
            }
            assertTrue(g < in.gapCount, "missing gap at " + start + " seed " + seed);
            assertEquals(start, in.gapStarts[g], "gap start, seed " + seed);
            assertEquals(i, in.gapEnds[g], "gap end, seed " + seed);
            g++;
        }
        assertEquals(g, in.gapCount, "gap count, seed " + seed);
    }
}
