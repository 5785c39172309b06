package dev.homa.core;

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

    @Test
    @Timeout(10)
    void bytesLiveInTheMemoryThePoolMemoryGave()
    {
        final UnsafeBuffer[] given = new UnsafeBuffer[1];
        final int[] asked = new int[1];
        final PagePool pool = new PagePool(8 * 4096, 4096, (bytes) ->
        {
            asked[0] = bytes;
            given[0] = new UnsafeBuffer(org.agrona.BufferUtil.allocateDirectAligned(bytes, 64));
            return given[0];
        });
        assertEquals(8 * 4096, asked[0]);
        final int[] handles = new int[4];
        assertEquals(2, pool.allocate(handles, 5000));
        final UnsafeBuffer src = new UnsafeBuffer(new byte[5000]);
        src.setMemory(0, 5000, (byte)0x5A);
        pool.write(handles, 0, src, 0, 5000);
        assertEquals((byte)0x5A, given[0].getByte(pool.offsetOf(handles[0])));
        assertEquals((byte)0x5A, given[0].getByte(pool.offsetOf(handles[1]) + 5000 - 4096 - 1));
    }

    @Test
    @Timeout(10)
    void poolMemoryTooSmallIsRefused()
    {
        final IllegalStateException ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
            () -> new PagePool(8 * 4096, 4096, (bytes) -> new UnsafeBuffer(new byte[bytes / 2])));
        assertTrue(ex.getMessage().contains("asked for 32768"), ex.getMessage());
    }
}
