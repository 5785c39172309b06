package dev.homa.core.grant;

/**
 * Per-message state owned by the {@link GrantScheduler}, embedded in each incoming message so scheduling never
 * allocates: the list links are intrusive. The engine creates one with {@code new GrantState()} per message object
 * and calls {@link #reset(int)} when the message starts (also when a pooled message object is reused).
 */
public final class GrantState
{
    int grantedOffset;
    int priority;

    /**
     * Create an idle state; call {@link #reset(int)} before handing its message to the scheduler.
     */
    public GrantState()
    {
    }

    /**
     * Prepare the state for a new message.
     *
     * @param initialGrantedOffset bytes the sender may send without a grant (the unscheduled bytes, clipped to the
     *                             message length).
     * @return this for a fluent API.
     */
    public GrantState reset(final int initialGrantedOffset)
    {
        grantedOffset = initialGrantedOffset;
        priority = 0;
        return this;
    }

    /**
     * @return highest offset granted so far (initially the unscheduled bytes); never decreases.
     */
    public int grantedOffset()
    {
        return grantedOffset;
    }

    /**
     * @return priority carried by the latest grant, 0 until the first grant.
     */
    public int priority()
    {
        return priority;
    }
}
