package dev.homa.core.priority;

/**
 * Computes unscheduled cutoffs from recently received message lengths (HomaModule homa_prio, paper section 3.4).
 */
public final class CutoffCalculator
{
    private final int numPriorities;
    private final int unscheduledBytes;
    private final int maxMessageLength;

    public CutoffCalculator(final int numPriorities, final int unscheduledBytes, final int maxMessageLength)
    {
        this.numPriorities = numPriorities;
        this.unscheduledBytes = unscheduledBytes;
        this.maxMessageLength = maxMessageLength;
    }

    public void onMessageReceived(final int length)
    {
    }

    public boolean recompute(final Cutoffs target)
    {
        return false;
    }

    public int unscheduledLevels()
    {
        return 1;
    }

    public int maxScheduledPriority()
    {
        return numPriorities - unscheduledLevels() - 1;
    }
}
