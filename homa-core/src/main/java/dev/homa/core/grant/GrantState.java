package dev.homa.core.grant;

/**
 * Per-message state owned by the {@link GrantScheduler}, embedded in each incoming message so that scheduling never
 * allocates: the scheduler's lists are intrusive and live in these fields. The engine creates one with
 * {@code new GrantState()} per message object and calls {@link #reset(int)} when a message starts (also when a pooled
 * message object is reused).
 * <p>
 * The engine reads {@link #grantedOffset()} (the sender may transmit every byte below it) and {@link #priority()}
 * (level of the latest grant); every other field is the scheduler's.
 */
public final class GrantState
{
    static final int NOT_TRACKED = 0;
    static final int ACCOUNTING = 1;
    static final int CANDIDATE = 2;
    static final int WAS_ACTIVE = -2;

    int grantedOffset;
    int priority;

    int trackState = NOT_TRACKED;
    Grantable message;
    long peer;
    long birth;
    int length;
    int received;
    int remaining;
    /** What the order compares first: {@link #remaining} (SRPT), or 0 for all (first come, first granted). */
    int orderKey;
    int incoming;
    int rank = -1;
    IncomingAccount account;
    boolean scheduledGrantSent;
    boolean holder;

    PeerQueue queue;
    GrantState peerPrev;
    GrantState peerNext;
    GrantState fifoPrev;
    GrantState fifoNext;

    /**
     * Create an idle state; call {@link #reset(int)} before handing its message to the scheduler.
     */
    public GrantState()
    {
    }

    /**
     * Prepare the state for a new message.
     *
     * @param initialGrantedOffset bytes the sender may send without a grant (its unscheduled bytes, as the sender
     *                             rounds them up to a whole packet, clipped to the message length).
     * @return this for a fluent API.
     * @throws IllegalArgumentException if the offset is negative.
     * @throws IllegalStateException    if the previous message is still tracked by a {@link GrantScheduler}: its
     *                                  lists would be corrupted, so {@link GrantScheduler#remove(Grantable)} first.
     */
    public GrantState reset(final int initialGrantedOffset)
    {
        if (initialGrantedOffset < 0)
        {
            throw new IllegalArgumentException("initialGrantedOffset must be >= 0: " + initialGrantedOffset);
        }
        if (NOT_TRACKED != trackState)
        {
            throw new IllegalStateException("reset of a message still tracked by a GrantScheduler: remove it first");
        }

        grantedOffset = initialGrantedOffset;
        priority = 0;
        message = null;
        peer = 0;
        birth = 0;
        length = 0;
        received = 0;
        remaining = 0;
        orderKey = 0;
        incoming = 0;
        rank = -1;
        account = null;
        scheduledGrantSent = false;
        holder = false;
        queue = null;
        peerPrev = null;
        peerNext = null;
        fifoPrev = null;
        fifoNext = null;

        return this;
    }

    /**
     * Share the per-peer incoming sum of the message's sender (after {@link #reset(int)}, before the message is
     * added to the scheduler); without one the message has no per-peer cap.
     *
     * @param account the sending peer's account, or null.
     * @return this for a fluent API.
     */
    public GrantState account(final IncomingAccount account)
    {
        if (NOT_TRACKED != trackState)
        {
            throw new IllegalStateException("account of a message already tracked by a GrantScheduler");
        }
        this.account = account;
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

    /**
     * @return true while the message is known to a scheduler (between add and remove).
     */
    public boolean isTracked()
    {
        return NOT_TRACKED != trackState;
    }

    /**
     * @return true while the message takes part in granting (it needs grants and is not fully received).
     */
    public boolean isGrantable()
    {
        return CANDIDATE == trackState;
    }

    /**
     * @return true if the message is among the scheduler's active (granted) messages.
     */
    public boolean isActive()
    {
        return rank >= 0;
    }

    /**
     * @return SRPT rank among the active messages (0 = fewest bytes left), or -1 when not active.
     */
    public int rank()
    {
        return rank;
    }

    /**
     * @return bytes granted (or unscheduled) but not yet received, as counted toward the incoming budget.
     */
    public int incomingBytes()
    {
        return incoming;
    }

    /**
     * SRPT order: fewer bytes not yet received first, ties to the older message; or, with
     * {@link GrantConfig#fifoOrder(boolean)}, the older message first.
     *
     * @param other message to compare with.
     * @return true if this message should be granted before {@code other}.
     */
    boolean outranks(final GrantState other)
    {
        return orderKey < other.orderKey || (orderKey == other.orderKey && birth < other.birth);
    }
}
