package dev.homa.nic.frame;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

@Timeout(10)
class PriorityMappingTest
{
    /** IEEE 802.1Q Table I-2 (default traffic-class order, lowest first): PCP 1, 0, 2, 3, 4, 5, 6, 7. */
    private static final int[] PCP_BY_RANK = { 1, 0, 2, 3, 4, 5, 6, 7 };

    @Test
    void levelsMapToPcpInEightZeroTwoOnePOrder()
    {
        final int[] expected = { 1, 0, 2, 3, 4, 5, 6, 7 };
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            assertEquals(expected[level], PriorityMapping.levelToPcp(level), "level " + level);
            assertEquals(PCP_BY_RANK[level], PriorityMapping.levelToPcp(level), "higher level must rank higher");
        }
    }

    @Test
    void pcpMapsBackToTheLevel()
    {
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            assertEquals(level, PriorityMapping.pcpToLevel(PriorityMapping.levelToPcp(level)));
        }
        assertEquals(0, PriorityMapping.pcpToLevel(1));
        assertEquals(1, PriorityMapping.pcpToLevel(0));
        assertEquals(7, PriorityMapping.pcpToLevel(7));
    }

    @Test
    void levelsMapToDscpClassSelectorsAndTos()
    {
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            assertEquals(level * 8, PriorityMapping.levelToDscp(level), "CS" + level);
            assertEquals(level * 32, PriorityMapping.levelToTos(level), "TOS of CS" + level);
            assertEquals(PriorityMapping.levelToDscp(level) << 2, PriorityMapping.levelToTos(level));
            assertEquals(level, PriorityMapping.dscpToLevel(PriorityMapping.levelToDscp(level)));
            assertEquals(level, PriorityMapping.tosToLevel(PriorityMapping.levelToTos(level)));
        }
        assertEquals(0xA0, PriorityMapping.levelToTos(5));
    }

    @Test
    void reverseMapsIgnoreEcnAndDropPrecedence()
    {
        assertEquals(5, PriorityMapping.tosToLevel(0xA0 | 0x3), "ECN bits are not priority");
        assertEquals(5, PriorityMapping.dscpToLevel(46), "EF (46) is in class 5");
        assertEquals(1, PriorityMapping.dscpToLevel(10), "AF11 (10) is in class 1");
    }

    @Test
    void rejectsLevelsOutsideZeroToSeven()
    {
        assertThrows(IllegalArgumentException.class, () -> PriorityMapping.levelToPcp(8));
        assertThrows(IllegalArgumentException.class, () -> PriorityMapping.levelToPcp(-1));
        assertThrows(IllegalArgumentException.class, () -> PriorityMapping.levelToTos(8));
        assertThrows(IllegalArgumentException.class, () -> PriorityMapping.levelToDscp(-1));
    }
}
