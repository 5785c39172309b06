package dev.homa.core.priority;

/**
 * Priority levels for scheduled data (HomaModule homa_grant_recalc, protocol.md 4.3, draft section 5.4).
 * <p>
 * The active messages, ranked in SRPT order, take levels {@code maxScheduledPriority - rank}; when fewer messages
 * are active than scheduled levels exist, everything shifts down so the <b>lowest</b> levels are used: the free
 * higher levels let a newly arriving shorter message preempt at once. Messages beyond the number of levels share
 * level 0. With four scheduled levels: 1 active uses 0; 2 use 1, 0; 5 use 3, 2, 1, 0, 0.
 */
public final class ScheduledPriorities
{
    private ScheduledPriorities()
    {
    }

    /**
     * Level for one active message.
     *
     * @param rank                 SRPT rank among the active messages, 0 (fewest bytes left) to activeCount - 1.
     * @param activeCount          number of active messages, at least 1.
     * @param maxScheduledPriority highest level for scheduled data, at least 0.
     * @return the level, between 0 and maxScheduledPriority.
     * @throws IllegalArgumentException if the arguments are inconsistent.
     */
    public static int levelFor(final int rank, final int activeCount, final int maxScheduledPriority)
    {
        if (rank < 0 || rank >= activeCount || maxScheduledPriority < 0)
        {
            throw new IllegalArgumentException("need 0 <= rank < activeCount and maxScheduledPriority >= 0: rank=" +
                rank + " activeCount=" + activeCount + " maxScheduledPriority=" + maxScheduledPriority);
        }

        int level = maxScheduledPriority - rank;
        final int unusedLevels = maxScheduledPriority + 1 - activeCount;
        if (unusedLevels > 0)
        {
            level -= unusedLevels;
        }

        return Math.max(level, 0);
    }
}
