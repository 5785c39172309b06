package dev.homa.core.engine;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The receive/send pool: whole pages for long messages, shared slots for small ones, pages back on the stack when
 * their last slot frees, bytes round-trip at every offset, and nothing leaks under a random mix.
 */
class PagePoolTest
{
    @Test
    @Timeout(10)
    void smallMessagesShareAPage()
    {
        final PagePool pool = new PagePool(4 * 65_536, 65_536);
        assertEquals(2048, pool.slotBytes());
        final int[] handles = new int[16];
        final List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < 32; i++)
        {
            assertEquals(1, pool.allocate(handles, 100 + i));
            assertTrue(handles[0] < 0, "slot handle");
            slots.add(handles[0]);
        }
        assertEquals(1, pool.inUse(), "32 small messages in one page");
        assertEquals(1, pool.allocate(handles, 2048));
        slots.add(handles[0]);
        assertEquals(2, pool.inUse());
        assertEquals(-1, pool.allocate(handles, 200_000), "three pages not free");
        for (final int slot : slots)
        {
            pool.free(slot);
        }
        assertEquals(0, pool.inUse(), "slot pages returned when empty");
        assertEquals(4, pool.allocate(handles, 200_000));
        assertEquals(4, pool.inUse());
        pool.free(handles, 4);
        assertEquals(0, pool.inUse());
    }

    @Test
    @Timeout(10)
    void bytesRoundTripAndNothingLeaks()
    {
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("seed=" + seed);
        final SplittableRandom random = new SplittableRandom(seed);
        final PagePool pool = new PagePool(64 * 4096, 4096);
        final UnsafeBuffer src = new UnsafeBuffer(new byte[40_000]);
        final UnsafeBuffer dst = new UnsafeBuffer(new byte[40_000]);
        final List<int[]> live = new ArrayList<>();
        for (int round = 0; round < 5_000; round++)
        {
            if (!live.isEmpty() && (random.nextBoolean() || live.size() > 40))
            {
                final int[] message = live.remove(random.nextInt(live.size()));
                pool.free(message, message[16]);
                continue;
            }
            final int length = random.nextBoolean() ? 1 + random.nextInt(128) : 1 + random.nextInt(40_000);
            final int[] handles = new int[17];
            final int count = pool.allocate(handles, length);
            if (count < 0)
            {
                continue;
            }
            handles[16] = count;
            for (int i = 0; i < length; i++)
            {
                src.putByte(i, (byte)random.nextInt());
            }
            final int cut = random.nextInt(length);
            pool.write(handles, 0, src, 0, cut);
            pool.write(handles, cut, src, cut, length - cut);
            pool.read(handles, 0, dst, 0, length);
            for (int i = 0; i < length; i++)
            {
                if (src.getByte(i) != dst.getByte(i))
                {
                    throw new AssertionError("byte " + i + " of " + length + " seed " + seed);
                }
            }
            live.add(handles);
        }
        for (final int[] message : live)
        {
            pool.free(message, message[16]);
        }
        assertEquals(0, pool.inUse(), "every page back, seed " + seed);
    }
}
