package dev.homa.core.grant;

/**
 * The incoming budget (homa_grant_update_incoming): bytes granted or sent unscheduled but not yet received, summed
 * over the tracked messages that need grants, each sending peer's share counted only up to its cap; and how many
 * messages hold scheduled grants whose data is still on the way (what strict overcommitment limits). The budget and
 * the cap are either the narrow ones or the wider bulk ones ({@link GrantConfig#bulkIncomingBytes(int)}), the
 * scheduler switching between them; the sum is kept for both caps, so a switch costs nothing.
 */
final class IncomingBudget
{
    private final int narrowBytes;
    private final long narrowBytesPerPeer;
    private final int wideBytes;
    private final long wideBytesPerPeer;
    private boolean wide;
    private long incomingBytes;
    /** Incoming bytes with each peer's counted up to the narrow cap, and up to the wide one: either may apply next. */
    private long countedNarrow;
    private long countedWide;
    private int holders;

    /**
     * @param maxIncomingBytes        the budget.
     * @param maxIncomingBytesPerPeer the most one peer's messages count toward it.
     * @param bulkIncomingBytes       the wider budget {@link #widen(boolean)} switches to, at least the budget; each
     *                                peer's cap widens in proportion.
     */
    IncomingBudget(final int maxIncomingBytes, final long maxIncomingBytesPerPeer, final int bulkIncomingBytes)
    {
        narrowBytes = maxIncomingBytes;
        narrowBytesPerPeer = maxIncomingBytesPerPeer;
        wideBytes = bulkIncomingBytes;
        wideBytesPerPeer = maxIncomingBytesPerPeer * bulkIncomingBytes / maxIncomingBytes;
    }

    /**
     * Apply the wider budget or the narrow one.
     *
     * @param wide true for the bulk budget.
     * @return true if this widened the budget.
     */
    boolean widen(final boolean wide)
    {
        final boolean widened = wide && !this.wide && wideBytes != narrowBytes;
        this.wide = wide;
        return widened;
    }

    /**
     * @return the budget in force.
     */
    int maxIncomingBytes()
    {
        return wide ? wideBytes : narrowBytes;
    }

    /**
     * @return incoming bytes, not capped per peer.
     */
    long incomingBytes()
    {
        return incomingBytes;
    }

    /**
     * @return messages holding scheduled grants with data on the way.
     */
    int holders()
    {
        return holders;
    }

    /**
     * @return the cap on one peer's incoming bytes in force.
     */
    long maxIncomingBytesPerPeer()
    {
        return wide ? wideBytesPerPeer : narrowBytesPerPeer;
    }

    /**
     * Recount a tracked message after its granted or received bytes changed.
     *
     * @param state the message's state.
     */
    void update(final GrantState state)
    {
        // Only a message that needs grants counts toward the budget (homa_grant_update_incoming tests
        // RPC_GRANTABLE): one that came whole in its unscheduled bytes is not the scheduler's to limit.
        final int incoming = GrantState.ACCOUNTING == state.trackState ? 0 :
            Math.max(0, Math.min(state.grantedOffset, state.length) - state.received);
        change(state, incoming);

        final boolean holder = state.scheduledGrantSent && incoming > 0;
        if (holder != state.holder)
        {
            state.holder = holder;
            holders += holder ? 1 : -1;
        }
    }

    /**
     * Stop counting a message that is no longer tracked.
     *
     * @param state the message's state.
     */
    void release(final GrantState state)
    {
        change(state, 0);
        if (state.holder)
        {
            state.holder = false;
            holders--;
        }
    }

    /**
     * @param state a tracked message's state.
     * @return bytes the message may be granted beyond what it has received, leaving out its own incoming bytes:
     * the room in the budget (each peer counted up to its cap) and, for a message with an account, in its peer's cap.
     */
    long roomFor(final GrantState state)
    {
        final IncomingAccount account = state.account;
        if (null == account)
        {
            return maxIncomingBytes() - (counted() - state.incoming);
        }
        final long cap = maxIncomingBytesPerPeer();
        final long others = account.bytes - state.incoming;
        final long counted = Math.min(account.bytes, cap) - Math.min(others, cap);
        final long budgetRoom = maxIncomingBytes() - (counted() - counted);
        return Math.min(budgetRoom, peerRoomFor(state));
    }

    /**
     * @param state a tracked message's state.
     * @return bytes the message may be granted beyond what it has received if it alone counted against its peer's
     * cap: {@link Integer#MAX_VALUE} (no limit) for a message without an account.
     */
    long ownRoomFor(final GrantState state)
    {
        return null == state.account ? Integer.MAX_VALUE : maxIncomingBytesPerPeer();
    }

    /**
     * @param state a tracked message's state.
     * @return bytes the message may be granted beyond what it has received within its peer's cap alone, leaving out
     * its own incoming bytes; {@link Integer#MAX_VALUE} (no limit) for a message without an account.
     */
    long peerRoomFor(final GrantState state)
    {
        final IncomingAccount account = state.account;
        return null == account ? Integer.MAX_VALUE : maxIncomingBytesPerPeer() - (account.bytes - state.incoming);
    }

    /**
     * Set a message's incoming bytes, keeping the raw total, its peer's sum and the counted totals (each peer's sum
     * capped at either per-peer limit) up to date.
     */
    private void change(final GrantState state, final int incoming)
    {
        final int delta = incoming - state.incoming;
        if (0 == delta)
        {
            return;
        }
        incomingBytes += delta;
        state.incoming = incoming;
        final IncomingAccount account = state.account;
        if (null == account)
        {
            countedNarrow += delta;
            countedWide += delta;
            return;
        }
        final long before = account.bytes;
        final long after = before + delta;
        account.bytes = after;
        countedNarrow += Math.min(after, narrowBytesPerPeer) - Math.min(before, narrowBytesPerPeer);
        countedWide += Math.min(after, wideBytesPerPeer) - Math.min(before, wideBytesPerPeer);
    }

    private long counted()
    {
        return wide ? countedWide : countedNarrow;
    }
}
