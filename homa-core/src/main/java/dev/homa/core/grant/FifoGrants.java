package dev.homa.core.grant;

/**
 * FIFO grants (homa_grant_check_fifo): the starvation escape. Every interval the oldest candidate, active or not,
 * that is not fully granted and has less than {@code window + 2 * increment} on the way (more means its sender
 * ignores grants) is chosen for {@code increment} more bytes, outside K and the incoming budget. The clock stops
 * while there is no candidate, so the next message gets its FIFO grant at once.
 */
final class FifoGrants
{
    static final long NO_DEADLINE = Long.MAX_VALUE;

    private final long intervalNs;
    private final int increment;
    private long nextDeadlineNs = NO_DEADLINE;

    /**
     * @param intervalNs time between FIFO grants, 0 for none.
     * @param increment  bytes each one adds.
     */
    FifoGrants(final long intervalNs, final int increment)
    {
        this.intervalNs = intervalNs;
        this.increment = increment;
    }

    /**
     * @return time between FIFO grants, 0 when off.
     */
    long intervalNs()
    {
        return intervalNs;
    }

    /**
     * @return bytes a FIFO grant adds to the granted offset (before rounding up to a packet).
     */
    int increment()
    {
        return increment;
    }

    /**
     * @return when the next FIFO grant is due, or {@link #NO_DEADLINE}.
     */
    long nextDeadlineNs()
    {
        return nextDeadlineNs;
    }

    /**
     * The message due a FIFO grant now, if any; restarts the interval when one was due.
     *
     * @param nowNs      current time.
     * @param window     the scheduled window now in use.
     * @param candidates every message that needs grants.
     * @return the oldest message that may take a FIFO grant, or null.
     */
    GrantState due(final long nowNs, final int window, final GrantCandidates candidates)
    {
        if (0 == intervalNs || 0 == candidates.count())
        {
            nextDeadlineNs = NO_DEADLINE;
            return null;
        }
        if (NO_DEADLINE != nextDeadlineNs && nowNs - nextDeadlineNs < 0)
        {
            return null;
        }
        nextDeadlineNs = nowNs + intervalNs;
        final long limit = (long)window + 2L * increment;
        for (GrantState state = candidates.oldest(); null != state; state = state.fifoNext)
        {
            if (state.incoming < limit && state.grantedOffset < state.length)
            {
                return state;
            }
        }
        return null;
    }
}
