package dev.homa.core.priority;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

@Timeout(value = 5, unit = TimeUnit.SECONDS)
class ScheduledPrioritiesTest
{
    @Test
    void shouldFollowKernelRuleWithFourScheduledLevels()
    {
        assertArrayEquals(new int[]{ 0 }, levels(1, 3));
        assertArrayEquals(new int[]{ 1, 0 }, levels(2, 3));
        assertArrayEquals(new int[]{ 2, 1, 0 }, levels(3, 3));
        assertArrayEquals(new int[]{ 3, 2, 1, 0 }, levels(4, 3));
        assertArrayEquals(new int[]{ 3, 2, 1, 0, 0 }, levels(5, 3));
        assertArrayEquals(new int[]{ 3, 2, 1, 0, 0, 0, 0, 0 }, levels(8, 3));
    }

    @Test
    void shouldShareOneLevelWhenOnlyOneIsScheduled()
    {
        assertArrayEquals(new int[]{ 0, 0, 0 }, levels(3, 0));
        assertArrayEquals(new int[]{ 1, 0 }, levels(2, 6));
        assertArrayEquals(new int[]{ 6, 5, 4, 3, 2, 1, 0 }, levels(7, 6));
    }

    @Test
    void shouldRejectInconsistentArguments()
    {
        assertThrows(IllegalArgumentException.class, () -> ScheduledPriorities.levelFor(-1, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> ScheduledPriorities.levelFor(1, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> ScheduledPriorities.levelFor(0, 1, -1));
    }

    private static int[] levels(final int active, final int maxScheduledPriority)
    {
        final int[] levels = new int[active];
        for (int rank = 0; rank < active; rank++)
        {
            levels[rank] = ScheduledPriorities.levelFor(rank, active, maxScheduledPriority);
        }
        return levels;
    }
}
