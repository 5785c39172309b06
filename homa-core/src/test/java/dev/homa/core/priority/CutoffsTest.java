package dev.homa.core.priority;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 5, unit = TimeUnit.SECONDS)
class CutoffsTest
{
    @Test
    void shouldHoldKernelDefaults()
    {
        final Cutoffs cutoffs = Cutoffs.kernelDefaults();
        assertEquals(1, cutoffs.version());
        assertEquals(200, cutoffs.cutoff(7));
        assertEquals(2_800, cutoffs.cutoff(6));
        assertEquals(15_000, cutoffs.cutoff(5));
        for (int level = 0; level <= 4; level++)
        {
            assertEquals(1_000_000, cutoffs.cutoff(level), "level " + level);
        }

        assertEquals(7, cutoffs.unscheduledPriorityFor(1));
        assertEquals(7, cutoffs.unscheduledPriorityFor(200));
        assertEquals(6, cutoffs.unscheduledPriorityFor(201));
        assertEquals(6, cutoffs.unscheduledPriorityFor(2_800));
        assertEquals(5, cutoffs.unscheduledPriorityFor(2_801));
        assertEquals(5, cutoffs.unscheduledPriorityFor(15_000));
        assertEquals(4, cutoffs.unscheduledPriorityFor(15_001));
        assertEquals(4, cutoffs.unscheduledPriorityFor(1_000_000));
        assertEquals(0, cutoffs.unscheduledPriorityFor(1_000_001));
    }

    @Test
    void shouldSendEverythingAtLevelSixForUnknownPeer()
    {
        final Cutoffs cutoffs = Cutoffs.unknownPeer();
        assertEquals(0, cutoffs.version());
        assertEquals(0, cutoffs.cutoff(7));
        assertEquals(Integer.MAX_VALUE, cutoffs.cutoff(6));
        for (final int length : new int[]{ 1, 200, 1_000_000, Integer.MAX_VALUE })
        {
            assertEquals(6, cutoffs.unscheduledPriorityFor(length));
        }
    }

    @Test
    void shouldSetCopyAndCompare()
    {
        final int[] values = { 1_000_000, 1_000_000, 1_000_000, 1_000_000, 90_000, 9_000, 900, 90 };
        final Cutoffs cutoffs = new Cutoffs().set(values, 42);
        values[7] = 1;
        assertEquals(90, cutoffs.cutoff(7), "array is copied");
        assertEquals(42, cutoffs.version());

        final Cutoffs copy = new Cutoffs().copyFrom(cutoffs);
        assertEquals(42, copy.version());
        assertTrue(copy.sameCutoffs(new int[]{ 1_000_000, 1_000_000, 1_000_000, 1_000_000, 90_000, 9_000, 900, 90 }));
        assertFalse(copy.sameCutoffs(values));

        copy.cutoff(7, 100).version(43);
        assertEquals(100, copy.cutoff(7));
        assertEquals(43, copy.version());
        assertEquals(90, cutoffs.cutoff(7));
    }

    @Test
    void shouldSkipZeroWhenVersionWraps()
    {
        assertEquals(1, Cutoffs.nextVersion(0));
        assertEquals(2, Cutoffs.nextVersion(1));
        assertEquals(0xFFFF, Cutoffs.nextVersion(0xFFFE));
        assertEquals(1, Cutoffs.nextVersion(0xFFFF));
    }

    @Test
    void shouldRejectBadValues()
    {
        final Cutoffs cutoffs = new Cutoffs();
        assertEquals("need 8 cutoffs: 7",
            assertThrows(IllegalArgumentException.class, () -> cutoffs.set(new int[7], 1)).getMessage());
        assertEquals("version must be in [0, 65535]: 65536",
            assertThrows(IllegalArgumentException.class, () -> cutoffs.set(new int[8], 65_536)).getMessage());
        assertEquals("cutoff 3 must be >= 0: -1", assertThrows(IllegalArgumentException.class,
            () -> cutoffs.set(new int[]{ 0, 0, 0, -1, 0, 0, 0, 0 }, 1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> cutoffs.version(-1));
        assertThrows(IllegalArgumentException.class, () -> cutoffs.cutoff(0, -1));
    }
}
