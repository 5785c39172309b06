package dev.homa.core.priority;

/**
 * Priority levels for scheduled data (kernel rule, protocol.md 4.3).
 */
public final class ScheduledPriorities
{
    private ScheduledPriorities()
    {
    }

    public static int levelFor(final int rank, final int activeCount, final int maxScheduledPriority)
    {
        return 0;
    }
}
