package dev.homa.core.grant;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.core.priority.ScheduledPriorities;

/**
 * Receiver-side grant scheduler with the current HomaModule's semantics (homa_grant.c; protocol.md section 4).
 * <ul>
 * <li><b>Candidates</b> are the tracked messages that need grants (longer than their unscheduled bytes), from their
 * first packet until their last byte arrives ({@link GrantCandidates}).</li>
 * <li><b>SRPT</b>: fewest bytes not yet received first, ties to the older message (smaller birth order).</li>
 * <li><b>Overcommitment</b>: at most {@code overcommit} (K) messages are active ({@link ActiveSet}). A shorter
 * newcomer takes the slot of the worst active message (kernel behaviour: its grants are already out at a lower
 * level, the newcomer's go out at a higher one). A message keeps its slot until it is fully received, not merely
 * fully granted (homa_grant_check_rpc), so at most K messages hold grants.</li>
 * <li><b>Window</b>: each active message is granted up to {@code received + window} (window fixed, or dynamic
 * {@code maxIncoming / (active + 1)}), clipped to its length and, except for the first in SRPT order, to the room
 * left in the {@link IncomingBudget} and its peer's cap (the first: its own bytes only), rounded up to a whole packet
 * but never past the end. A grant goes out only when it raises the offset by at least one packet or reaches the end,
 * or when the message's priority changed while it still has granted bytes on the way. Grants never go down.</li>
 * <li><b>Priorities</b> follow {@link ScheduledPriorities#levelFor(int, int, int)}.</li>
 * <li><b>FIFO grants</b> ({@link FifoGrants}) go at the next-to-highest level (homa_high_priority, 6 of 0-7),
 * outside K and the incoming budget.</li>
 * <li><b>Strict overcommitment</b> ({@link GrantConfig#strictOvercommit(boolean)}, off by default as in the kernel):
 * a message without grant data on the way is only granted while fewer than K messages hold undelivered scheduled
 * grants, so the tail of a displaced message or a FIFO grant also counts against K.</li>
 * </ul>
 * Driving it: the engine calls {@link #add(Grantable)} when the first packet of a message that needs grants arrives
 * (one added that needs none is tracked without counting toward the budget), {@link #onDataReceived(Grantable)}
 * whenever its received bytes grow, {@link #remove(Grantable)} when it completes or is aborted, and
 * {@link #sendGrants(long, GrantSender)} after a batch of such events (and at {@link #nextFifoGrantDeadlineNs()}).
 * Single-threaded; no allocation in steady state (peer queues are pooled and only created when more peers than ever
 * before have grantable messages at once); no clock reads: time comes in as {@code nowNs}.
 */
public final class GrantScheduler
{
    /** FIFO grants go at homa_high_priority: the next-to-highest level, below control packets only. */
    private static final int FIFO_GRANT_LEVEL = (PriorityMapping.LEVELS - 1) - 1;

    private final int maxPacketPayload;
    private final int overcommit;
    private final int windowBytes;
    private final boolean strictOvercommit;
    private final boolean fifoOrder;
    private int maxScheduledPriority;

    private final GrantCandidates candidates;
    private final ActiveSet active;
    private final IncomingBudget budget;
    private final FifoGrants fifo;
    private int trackedCount;
    private boolean dirty;
    /** Something changed that may call for grants: {@link #sendGrantsIfDue} has work. */
    private boolean due;
    private boolean inSendGrants;
    private long lastShortMessageNs = Long.MIN_VALUE / 2;

    /** The scheduler's statistics live among the transport's counters. */
    private final HomaMetrics metrics;

    /**
     * A scheduler that keeps its statistics in counters of its own.
     *
     * @param config knobs; validated and copied.
     * @throws IllegalArgumentException if the config is invalid.
     */
    public GrantScheduler(final GrantConfig config)
    {
        this(config, new HomaMetrics());
    }

    /**
     * A scheduler that counts its grants among the transport's counters.
     *
     * @param config  knobs; validated and copied.
     * @param metrics the transport's counters, where the scheduler counts its grants ({@code grant.*}).
     * @throws IllegalArgumentException if the config is invalid.
     */
    public GrantScheduler(final GrantConfig config, final HomaMetrics metrics)
    {
        config.validate();
        this.metrics = metrics;
        overcommit = config.overcommit();
        windowBytes = config.windowBytes();
        maxPacketPayload = config.maxPacketPayload();
        strictOvercommit = config.strictOvercommit();
        fifoOrder = config.fifoOrder();
        maxScheduledPriority = config.maxScheduledPriority();
        candidates = new GrantCandidates(config.initialPeerCapacity(), metrics);
        active = new ActiveSet(overcommit, config.maxActivePerPeer(), metrics);
        final int maxIncomingBytes = config.maxIncomingBytes();
        budget = new IncomingBudget(maxIncomingBytes, 0 == config.maxIncomingBytesPerPeer() ? maxIncomingBytes :
            config.maxIncomingBytesPerPeer(), Math.max(maxIncomingBytes, config.bulkIncomingBytes()));
        fifo = new FifoGrants(config.fifoGrantIntervalNs(), config.fifoGrantIncrement());
    }

    /**
     * Start tracking a message whose first packet has arrived. Its {@link GrantState} must have been
     * {@link GrantState#reset(int) reset} with the unscheduled bytes as granted offset.
     *
     * @param message the incoming message.
     * @throws IllegalArgumentException if its length is below 1 or it has no grant state.
     * @throws IllegalStateException    if it is already tracked or this is called from inside a {@link GrantSender}.
     */
    public void add(final Grantable message)
    {
        due = true;
        checkNotReentrant();
        final GrantState state = message.grantState();
        if (null == state)
        {
            throw new IllegalArgumentException("message has no GrantState");
        }
        if (GrantState.NOT_TRACKED != state.trackState)
        {
            throw new IllegalStateException("message already added: birthOrder=" + message.birthOrder());
        }
        final int length = message.messageLength();
        if (length < 1)
        {
            throw new IllegalArgumentException("messageLength must be >= 1: " + length);
        }

        state.message = message;
        state.peer = message.peer();
        state.birth = message.birthOrder();
        state.length = length;
        state.received = clampReceived(message.bytesReceived(), length);
        state.remaining = length - state.received;
        state.orderKey = fifoOrder ? 0 : state.remaining;
        state.incoming = 0;
        state.rank = -1;
        trackedCount++;

        if (state.grantedOffset >= length)
        {
            state.trackState = GrantState.ACCOUNTING;
        }
        else
        {
            state.trackState = GrantState.CANDIDATE;
            candidates.link(state);
            dirty = true;
        }
        budget.update(state);
    }

    /**
     * A message too short to need grants started arriving: the budget is narrow until
     * {@link GrantConfig#SHORT_MESSAGE_HOLD_NS} after it ({@link GrantConfig#bulkIncomingBytes(int)}).
     *
     * @param nowNs current time, from the engine's clock.
     */
    public void onShortMessage(final long nowNs)
    {
        lastShortMessageNs = nowNs;
        budget.widen(false);
    }

    /**
     * Note that a tracked message's received bytes grew. Untracked messages are ignored.
     *
     * @param message the incoming message.
     * @throws IllegalStateException if called from inside a {@link GrantSender}.
     */
    public void onDataReceived(final Grantable message)
    {
        due = true;
        checkNotReentrant();
        final GrantState state = message.grantState();
        if (null == state || GrantState.NOT_TRACKED == state.trackState)
        {
            return;
        }

        final int received = clampReceived(message.bytesReceived(), state.length);
        if (received == state.received)
        {
            return;
        }
        state.received = received;
        state.remaining = state.length - received;
        budget.update(state);

        if (GrantState.CANDIDATE == state.trackState)
        {
            if (!fifoOrder)
            {
                state.orderKey = state.remaining;
                candidates.reposition(state);
            }
            dirty = true;
        }
    }

    /**
     * Stop tracking a message (complete, aborted or timed out). Frees its active slot, if any, for the next
     * {@link #sendGrants(long, GrantSender)}. Untracked messages are ignored.
     *
     * @param message the incoming message.
     * @throws IllegalStateException if called from inside a {@link GrantSender}.
     */
    public void remove(final Grantable message)
    {
        due = true;
        checkNotReentrant();
        final GrantState state = message.grantState();
        if (null == state || GrantState.NOT_TRACKED == state.trackState)
        {
            return;
        }

        if (GrantState.CANDIDATE == state.trackState)
        {
            candidates.unlink(state);
            if (state.rank >= 0)
            {
                active.remove(state);
            }
            dirty = true;
        }
        budget.release(state);
        state.trackState = GrantState.NOT_TRACKED;
        state.message = null;
        trackedCount--;
    }

    /**
     * {@link #sendGrants} if a message was added, received data or was removed since the last time: once per batch
     * of packets, so that a message that received a dozen packets gets one GRANT for all of them.
     *
     * @param nowNs  current time, from the engine's clock.
     * @param sender receives each grant; must not call back into this scheduler.
     * @return number of grants emitted.
     */
    public int sendGrantsIfDue(final long nowNs, final GrantSender sender)
    {
        return due ? sendGrants(nowNs, sender) : 0;
    }

    /** {@return true if {@link #sendGrantsIfDue} has work} */
    public boolean grantsDue()
    {
        return due;
    }

    /**
     * Emit every grant now due: recompute the active set if anything changed, top up each active message's window
     * in SRPT order (so the budget goes to the shortest first), promote the next message when one becomes fully
     * granted, then issue a FIFO grant if its interval has elapsed.
     *
     * @param nowNs  current time, from the engine's clock.
     * @param sender receives each grant; must not call back into this scheduler.
     * @return number of grants emitted.
     */
    public int sendGrants(final long nowNs, final GrantSender sender)
    {
        checkNotReentrant();
        due = false;
        inSendGrants = true;
        try
        {
            if (budget.widen(nowNs - lastShortMessageNs >= GrantConfig.SHORT_MESSAGE_HOLD_NS))
            {
                metrics.increment(HomaMetrics.INCOMING_BUDGET_WIDENED);
            }
            int count = grantActive(sender);
            count += fifoGrant(nowNs, sender);
            if (dirty)
            {
                count += grantActive(sender);
            }
            return count;
        }
        finally
        {
            inSendGrants = false;
        }
    }

    /** {@return messages currently active (at most the overcommit)} */
    public int activeCount()
    {
        return active.count();
    }

    /**
     * The active message at one SRPT rank.
     *
     * @param rank 0 to {@link #activeCount()} - 1.
     * @return the active message at that SRPT rank.
     * @throws IndexOutOfBoundsException if there is no such rank.
     */
    public Grantable activeMessage(final int rank)
    {
        if (rank < 0 || rank >= active.count())
        {
            throw new IndexOutOfBoundsException("rank " + rank + " outside [0, " + active.count() + ")");
        }
        return active.get(rank).message;
    }

    /**
     * Change the highest scheduled level (after the cutoffs were recomputed); active messages whose level changes
     * are re-granted at the next {@link #sendGrants(long, GrantSender)}.
     *
     * @param maxScheduledPriority 0 to {@code PriorityMapping.LEVELS - 1}.
     * @throws IllegalArgumentException if out of range.
     */
    public void maxScheduledPriority(final int maxScheduledPriority)
    {
        if (maxScheduledPriority < 0 || maxScheduledPriority > (PriorityMapping.LEVELS - 1))
        {
            throw new IllegalArgumentException(
                "maxScheduledPriority must be in [0, " + (PriorityMapping.LEVELS - 1) + "]: " + maxScheduledPriority);
        }
        if (maxScheduledPriority != this.maxScheduledPriority)
        {
            this.maxScheduledPriority = maxScheduledPriority;
            dirty = true;
        }
    }

    /** {@return highest scheduled level in use} */
    public int maxScheduledPriority()
    {
        return maxScheduledPriority;
    }

    /** {@return bytes granted or unscheduled but not yet received, summed over tracked messages} */
    public int incomingBytes()
    {
        return (int)budget.incomingBytes();
    }

    /**
     * @return tracked messages still needing grants.
     */
    public int candidateCount()
    {
        return candidates.count();
    }

    /**
     * @return all tracked messages (candidates, and any added that need no grant).
     */
    public int trackedCount()
    {
        return trackedCount;
    }

    /**
     * @return messages holding scheduled grants whose data has not all arrived (limited to the overcommit in strict
     * mode, FIFO grants aside).
     */
    public int grantHolders()
    {
        return budget.holders();
    }

    /**
     * @return grants held back in strict mode because K messages already held undelivered grants.
     */
    public long strictDeferrals()
    {
        return metrics.get(HomaMetrics.STRICT_DEFERRALS);
    }

    /**
     * @return time at which the next FIFO grant is due, or {@link Long#MAX_VALUE} if none is pending (FIFO grants
     * off, or no candidate at the last {@link #sendGrants(long, GrantSender)}).
     */
    public long nextFifoGrantDeadlineNs()
    {
        return fifo.nextDeadlineNs();
    }

    /**
     * @return nanoseconds between FIFO grants, 0 when off.
     */
    public long fifoGrantIntervalNs()
    {
        return fifo.intervalNs();
    }

    /**
     * @return grants emitted (all kinds).
     */
    public long grantsSent()
    {
        return metrics.get(HomaMetrics.GRANTS_SENT);
    }

    /**
     * @return FIFO (starvation avoidance) grants emitted.
     */
    public long fifoGrants()
    {
        return metrics.get(HomaMetrics.FIFO_GRANTS);
    }

    /**
     * @return grants sent only because an active message's priority changed.
     */
    public long priorityGrants()
    {
        return metrics.get(HomaMetrics.PRIORITY_GRANTS);
    }

    /**
     * @return grants cut short by the sending peer's cap on incoming bytes
     * ({@link GrantConfig#maxIncomingBytesPerPeer(int)}); also counted in {@link #budgetLimitedGrants()}.
     */
    public long peerLimitedGrants()
    {
        return metrics.get(HomaMetrics.PEER_LIMITED_GRANTS);
    }

    /**
     * @return times a message's window was cut short by the incoming budget.
     */
    public long budgetLimitedGrants()
    {
        return metrics.get(HomaMetrics.BUDGET_LIMITED_GRANTS);
    }

    /**
     * @return messages that entered the active set.
     */
    public long promotions()
    {
        return metrics.get(HomaMetrics.GRANT_PROMOTIONS);
    }

    /**
     * @return active messages displaced by better ones before being fully granted.
     */
    public long demotions()
    {
        return metrics.get(HomaMetrics.GRANT_DEMOTIONS);
    }

    /**
     * @return messages that became fully granted.
     */
    public long fullyGrantedMessages()
    {
        return metrics.get(HomaMetrics.FULLY_GRANTED_MESSAGES);
    }

    /**
     * @return peer queues allocated so far (preallocated plus grown on demand).
     */
    public long peerQueuesCreated()
    {
        return metrics.get(HomaMetrics.GRANT_PEER_QUEUES);
    }

    private void checkNotReentrant()
    {
        if (inSendGrants)
        {
            throw new IllegalStateException("GrantScheduler called from inside GrantSender.sendGrant");
        }
    }

    private static int clampReceived(final int received, final int length)
    {
        return received < 0 ? 0 : Math.min(received, length);
    }

    private int grantActive(final GrantSender sender)
    {
        if (dirty)
        {
            dirty = false;
            active.recompute(candidates);
        }
        final int window = window();
        final int activeCount = active.count();
        int count = 0;
        for (int rank = 0; rank < activeCount; rank++)
        {
            // A fully granted message keeps its slot, and its rank, until its last byte arrives (current
            // homa_grant_check_rpc): it gets no more grants, and the next message is promoted only then.
            final int level = ScheduledPriorities.levelFor(rank, activeCount, maxScheduledPriority);
            if (grant(active.get(rank), window, level, 0 == rank, sender))
            {
                count++;
            }
        }
        return count;
    }

    private int window()
    {
        return 0 != windowBytes ? windowBytes : budget.maxIncomingBytes() / (active.count() + 1);
    }

    /**
     * @param first the message ranked first: only its own bytes count against its peer's cap, not the budget or
     *              its peer's other messages, whose bytes a sender busy with shorter messages leaves on the way for
     *              milliseconds (and a peer sends its shortest first). On the way: budget + a window; peer: cap + one.
     */
    private boolean grant(final GrantState state, final int window, final int level, final boolean first,
        final GrantSender sender)
    {
        final int granted = state.grantedOffset;
        final int length = state.length;

        long target = (long)state.received + window;
        final long budgetTarget = (long)state.received + (first ? budget.ownRoomFor(state) : budget.roomFor(state));
        final boolean budgetLimited = budgetTarget < target;
        if (budgetLimited)
        {
            target = budgetTarget;
        }
        if (target > length)
        {
            target = length;
        }
        if (target > granted && target < length)
        {
            target = Math.min(length, roundUpToPacket(target));
        }

        boolean raise = target > granted && (target - granted >= maxPacketPayload || target == length);
        if (raise && strictOvercommit && !state.holder && budget.holders() >= overcommit)
        {
            // Strict mode: K senders already hold grants with data on the way; wait until one drains.
            metrics.increment(HomaMetrics.STRICT_DEFERRALS);
            raise = false;
        }
        if (raise)
        {
            if (budgetLimited)
            {
                metrics.increment(HomaMetrics.BUDGET_LIMITED_GRANTS);
                if (null != state.account && state.account.bytes - state.incoming + (target - state.received) >=
                    budget.maxIncomingBytesPerPeer())
                {
                    metrics.increment(HomaMetrics.PEER_LIMITED_GRANTS);
                }
            }
            emit(state, (int)target, level, sender);
            if (target == length)
            {
                metrics.increment(HomaMetrics.FULLY_GRANTED_MESSAGES);
            }
            return true;
        }

        if (level != state.priority && state.scheduledGrantSent && granted > state.received)
        {
            metrics.increment(HomaMetrics.PRIORITY_GRANTS);
            emit(state, granted, level, sender);
            return true;
        }

        return false;
    }

    private long roundUpToPacket(final long offset)
    {
        return ((offset + maxPacketPayload - 1) / maxPacketPayload) * maxPacketPayload;
    }

    private void emit(final GrantState state, final int offset, final int level, final GrantSender sender)
    {
        metrics.add(HomaMetrics.GRANTED_BYTES, offset - state.grantedOffset);
        state.grantedOffset = offset;
        state.priority = level;
        state.scheduledGrantSent = true;
        budget.update(state);
        metrics.increment(HomaMetrics.GRANTS_SENT);
        sender.sendGrant(state.message, offset, level);
    }

    private int fifoGrant(final long nowNs, final GrantSender sender)
    {
        final GrantState state = fifo.due(nowNs, window(), candidates);
        if (null == state)
        {
            return 0;
        }
        final long target = Math.min(state.length, roundUpToPacket((long)state.grantedOffset + fifo.increment()));
        metrics.increment(HomaMetrics.FIFO_GRANTS);
        emit(state, (int)target, FIFO_GRANT_LEVEL, sender);
        if (target == state.length)
        {
            metrics.increment(HomaMetrics.FULLY_GRANTED_MESSAGES);
        }
        return 1;
    }
}
