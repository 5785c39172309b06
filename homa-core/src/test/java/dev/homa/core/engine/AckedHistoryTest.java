package dev.homa.core.engine;

import dev.homa.nic.loopback.Seeds;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The acknowledged-RPC history against a plain FIFO set: exact membership for the last {@code capacity} keys,
 * including keys that collide in the table (the deletion path is where open addressing goes wrong).
 */
class AckedHistoryTest
{
    @Test
    @Timeout(10)
    void remembersExactlyTheLastCapacityKeys()
    {
        final AckedHistory history = new AckedHistory(4);
        for (long key = 1; key <= 4; key++)
        {
            history.add(key * 0x9E3779B97F4A7C15L);
        }
        for (long key = 1; key <= 4; key++)
        {
            assertTrue(history.contains(key * 0x9E3779B97F4A7C15L));
        }
        history.add(5 * 0x9E3779B97F4A7C15L);
        assertFalse(history.contains(0x9E3779B97F4A7C15L), "the oldest key left");
        assertTrue(history.contains(2 * 0x9E3779B97F4A7C15L));
        assertTrue(history.contains(5 * 0x9E3779B97F4A7C15L));
        assertFalse(history.contains(6 * 0x9E3779B97F4A7C15L));
    }

    @Test
    @Timeout(10)
    void zeroIsAKeyToo()
    {
        final AckedHistory history = new AckedHistory(2);
        assertFalse(history.contains(0));
        history.add(0);
        assertTrue(history.contains(0));
    }

    @Test
    @Timeout(10)
    void aKeyAddedTwiceKeepsItsFirstPlace()
    {
        final AckedHistory history = new AckedHistory(2);
        history.add(10);
        history.add(10);
        history.add(20);
        assertTrue(history.contains(10));
        history.add(30);
        assertFalse(history.contains(10));
        assertTrue(history.contains(20));
        assertTrue(history.contains(30));
    }

    @Test
    @Timeout(10)
    void rejectsACapacityThatIsNotAPowerOfTwo()
    {
        assertThrows(IllegalArgumentException.class, () -> new AckedHistory(3));
        assertThrows(IllegalArgumentException.class, () -> new AckedHistory(0));
    }

    @Test
    @Timeout(20)
    void matchesAFifoSetUnderRandomCollidingKeys()
    {
        final long seed = Seeds.resolve("AckedHistoryTest");
        final SplittableRandom random = new SplittableRandom(seed);
        final int capacity = 64;
        final AckedHistory history = new AckedHistory(capacity);
        final ArrayDeque<Long> order = new ArrayDeque<>();
        final HashSet<Long> members = new HashSet<>();
        for (int step = 0; step < 200_000; step++)
        {
            // Few distinct low bits: long probe runs that wrap around the table, so deletion is exercised hard.
            final long key = (random.nextLong(1, 1 << 12) << 32) | random.nextInt(8) | (random.nextInt(2) * 250L);
            if (random.nextInt(3) == 0)
            {
                if (!members.contains(key))
                {
                    if (order.size() == capacity)
                    {
                        members.remove(order.pollFirst());
                    }
                    order.addLast(key);
                    members.add(key);
                }
                history.add(key);
            }
            assertEquals(members.contains(key), history.contains(key), "seed=" + seed + " step " + step);
        }
        for (final long key : members)
        {
            assertTrue(history.contains(key), "seed=" + seed);
        }
    }
}
