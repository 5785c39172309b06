package dev.homa.core.grant;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.core.priority.ScheduledPriorities;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * Receiver-side grant scheduler with the current HomaModule's semantics (homa_grant.c; protocol.md section 4).
 * <ul>
 * <li><b>Candidates</b> are the tracked messages that need grants (longer than their unscheduled bytes), from their
 * first packet until their last byte arrives. They are kept in one SRPT-ordered queue per sending peer
 * ({@link PeerQueue}) and the queues in a list ordered by their best message, as the kernel does, so a DATA arrival
 * only moves a message a few places.</li>
 * <li><b>SRPT</b>: fewest bytes not yet received first, ties to the older message (smaller birth order).</li>
 * <li><b>Overcommitment</b>: at most {@code overcommit} (K) messages are active. The active set is the best K
 * candidates taking at most {@code maxActivePerPeer} from each peer; if that leaves slots free (fewer peers than
 * slots) they are filled with the best messages of the peers with the fewest active ones, so the per-peer limit is
 * a preference, not a cap. A shorter newcomer takes the slot of the worst active message (kernel behaviour: its
 * grants are already out at a lower level, the newcomer's go out at a higher one). A message keeps its slot until
 * it is fully received, not merely fully granted (homa_grant_check_rpc), so at most K messages hold grants.</li>
 * <li><b>Window</b>: each active message is granted up to {@code received + window} (window fixed, or dynamic
 * {@code maxIncoming / (active + 1)}), clipped to its length and to the room left in the incoming budget (sum over
 * candidates of granted-or-unscheduled bytes not yet received, each sending peer's share counted up to
 * {@link GrantConfig#maxIncomingBytesPerPeer(int)}, beyond which that peer gets no more; a message that needs no
 * grant does not count, as in homa_grant_update_incoming), rounded up to a whole packet but never past the end. A
 * grant goes out only when it raises the offset by at least one packet or reaches the end, or when the message's
 * priority changed while it still has granted bytes on the way. Grants never go down.</li>
 * <li><b>Priorities</b> follow {@link ScheduledPriorities#levelFor(int, int, int)}.</li>
 * <li><b>FIFO grants</b> (homa_grant_check_fifo): every {@link GrantConfig#fifoGrantIntervalNs()} the oldest
 * candidate, active or not, that is not fully granted and has less than {@code window + 2 * fifoGrantIncrement} on
 * the way (more means its sender ignores grants) gets {@code fifoGrantIncrement} more bytes at the next-to-highest
 * level (homa_high_priority, 6 of 0-7). Like the kernel's, these are outside K and the incoming budget.</li>
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
    private static final long NO_DEADLINE = Long.MAX_VALUE;
    /** FIFO grants go at homa_high_priority: the next-to-highest level, below control packets only. */
    private static final int FIFO_GRANT_LEVEL = (PriorityMapping.LEVELS - 1) - 1;

    private final int overcommit;
    private final int maxIncomingBytes;
    private final long maxIncomingBytesPerPeer;
    private final int windowBytes;
    private final int maxPacketPayload;
    private final int maxActivePerPeer;
    private final int fifoGrantIncrement;
    private final long fifoGrantIntervalNs;
    private final boolean strictOvercommit;
    private final boolean fifoOrder;
    private int maxScheduledPriority;

    private final Long2ObjectHashMap<PeerQueue> queueByPeer;
    private PeerQueue freeQueues;
    private PeerQueue queuesHead;
    private PeerQueue queuesTail;
    private GrantState fifoHead;
    private GrantState fifoTail;

    private final GrantState[] active = new GrantState[GrantConfig.MAX_OVERCOMMIT];
    private final GrantState[] scratch = new GrantState[GrantConfig.MAX_OVERCOMMIT];
    private int activeCount;
    private int candidateCount;
    private int trackedCount;
    private long incomingBytes;
    private long countedIncomingBytes;
    private int holders;
    private boolean dirty;
    /** Something changed that may call for grants: {@link #sendGrantsIfDue} has work. */
    private boolean due;
    private boolean inSendGrants;
    private long nextFifoDeadlineNs = NO_DEADLINE;

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
     * @param config  knobs; validated and copied.
     * @param metrics the transport's counters, where the scheduler counts its grants ({@code grant.*}).
     * @throws IllegalArgumentException if the config is invalid.
     */
    public GrantScheduler(final GrantConfig config, final HomaMetrics metrics)
    {
        config.validate();
        this.metrics = metrics;
        overcommit = config.overcommit();
        maxIncomingBytes = config.maxIncomingBytes();
        maxIncomingBytesPerPeer = 0 == config.maxIncomingBytesPerPeer() ? maxIncomingBytes :
            config.maxIncomingBytesPerPeer();
        windowBytes = config.windowBytes();
        maxPacketPayload = config.maxPacketPayload();
        maxActivePerPeer = config.maxActivePerPeer();
        fifoGrantIncrement = config.fifoGrantIncrement();
        fifoGrantIntervalNs = config.fifoGrantIntervalNs();
        strictOvercommit = config.strictOvercommit();
        fifoOrder = config.fifoOrder();
        maxScheduledPriority = config.maxScheduledPriority();

        final int capacity = config.initialPeerCapacity();
        queueByPeer = new Long2ObjectHashMap<>(Math.max(8, capacity * 2), 0.65f);
        for (int i = 0; i < capacity; i++)
        {
            final PeerQueue queue = new PeerQueue();
            queue.next = freeQueues;
            freeQueues = queue;
        }
        metrics.add(HomaMetrics.GRANT_PEER_QUEUES, capacity);
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
            linkCandidate(state);
        }
        updateIncoming(state);
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
        updateIncoming(state);

        if (GrantState.CANDIDATE == state.trackState)
        {
            if (!fifoOrder)
            {
                state.orderKey = state.remaining;
                final PeerQueue queue = state.queue;
                final GrantState oldFirst = queue.first;
                repositionInQueue(queue, state);
                if (queue.first != oldFirst || queue.first == state)
                {
                    repositionQueue(queue);
                }
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
            unlinkCandidate(state);
        }
        changeIncoming(state, 0);
        if (state.holder)
        {
            state.holder = false;
            holders--;
        }
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

    /**
     * @return true if {@link #sendGrantsIfDue} has work.
     */
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

    /**
     * @return messages currently active (at most the overcommit).
     */
    public int activeCount()
    {
        return activeCount;
    }

    /**
     * @param rank 0 to {@link #activeCount()} - 1.
     * @return the active message at that SRPT rank.
     * @throws IndexOutOfBoundsException if there is no such rank.
     */
    public Grantable activeMessage(final int rank)
    {
        if (rank < 0 || rank >= activeCount)
        {
            throw new IndexOutOfBoundsException("rank " + rank + " outside [0, " + activeCount + ")");
        }
        return active[rank].message;
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

    /**
     * @return highest scheduled level in use.
     */
    public int maxScheduledPriority()
    {
        return maxScheduledPriority;
    }

    /**
     * @return bytes granted or unscheduled but not yet received, summed over tracked messages.
     */
    public int incomingBytes()
    {
        return (int)incomingBytes;
    }

    /**
     * @return tracked messages still needing grants.
     */
    public int candidateCount()
    {
        return candidateCount;
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
        return holders;
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
        return nextFifoDeadlineNs;
    }

    /**
     * @return nanoseconds between FIFO grants, 0 when off.
     */
    public long fifoGrantIntervalNs()
    {
        return fifoGrantIntervalNs;
    }

    /**
     * @return grants emitted (all kinds).
     */
    public long grantsSent()
    {
        return metrics.get(HomaMetrics.GRANTS_SENT);
    }

    /**
     * @return bytes by which grants raised granted offsets, summed.
     */
    public long grantedBytes()
    {
        return metrics.get(HomaMetrics.GRANTED_BYTES);
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
     * @return recomputations of the active set.
     */
    public long recalculations()
    {
        return metrics.get(HomaMetrics.GRANT_RECALCULATIONS);
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

    private void updateIncoming(final GrantState state)
    {
        // Only a message that needs grants counts toward the budget (homa_grant_update_incoming tests
        // RPC_GRANTABLE): one that came whole in its unscheduled bytes is not the scheduler's to limit.
        final int incoming = GrantState.ACCOUNTING == state.trackState ? 0 :
            Math.max(0, Math.min(state.grantedOffset, state.length) - state.received);
        changeIncoming(state, incoming);

        final boolean holder = state.scheduledGrantSent && incoming > 0;
        if (holder != state.holder)
        {
            state.holder = holder;
            holders += holder ? 1 : -1;
        }
    }

    /**
     * Set a message's incoming bytes, keeping the raw total, its peer's sum and the counted total (each peer's sum
     * capped at the per-peer limit) up to date.
     */
    private void changeIncoming(final GrantState state, final int incoming)
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
            countedIncomingBytes += delta;
            return;
        }
        final long before = account.bytes;
        final long after = before + delta;
        account.bytes = after;
        countedIncomingBytes += Math.min(after, maxIncomingBytesPerPeer) - Math.min(before, maxIncomingBytesPerPeer);
    }

    /**
     * @return bytes the message may be granted beyond what it has received, leaving out its own incoming bytes:
     * the room in the budget (each peer counted up to its cap) and, for a message with an account, in its peer's cap.
     */
    private long roomFor(final GrantState state)
    {
        final IncomingAccount account = state.account;
        if (null == account)
        {
            return maxIncomingBytes - (countedIncomingBytes - state.incoming);
        }
        final long others = account.bytes - state.incoming;
        final long counted =
            Math.min(account.bytes, maxIncomingBytesPerPeer) - Math.min(others, maxIncomingBytesPerPeer);
        final long budgetRoom = maxIncomingBytes - (countedIncomingBytes - counted);
        return Math.min(budgetRoom, maxIncomingBytesPerPeer - others);
    }

    private int grantActive(final GrantSender sender)
    {
        if (dirty)
        {
            recomputeActive();
        }
        final int window = window();
        int count = 0;
        for (int rank = 0; rank < activeCount; rank++)
        {
            // A fully granted message keeps its slot, and its rank, until its last byte arrives (current
            // homa_grant_check_rpc): it gets no more grants, and the next message is promoted only then.
            final GrantState state = active[rank];
            if (grant(state, window, ScheduledPriorities.levelFor(rank, activeCount, maxScheduledPriority), sender))
            {
                count++;
            }
        }
        return count;
    }

    private int window()
    {
        return 0 != windowBytes ? windowBytes : maxIncomingBytes / (activeCount + 1);
    }

    private boolean grant(final GrantState state, final int window, final int level, final GrantSender sender)
    {
        final int granted = state.grantedOffset;
        final int length = state.length;

        long target = (long)state.received + window;
        final long budgetTarget = (long)state.received + roomFor(state);
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
        if (raise && strictOvercommit && !state.holder && holders >= overcommit)
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
                    maxIncomingBytesPerPeer)
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
        updateIncoming(state);
        metrics.increment(HomaMetrics.GRANTS_SENT);
        sender.sendGrant(state.message, offset, level);
    }

    private int fifoGrant(final long nowNs, final GrantSender sender)
    {
        if (0 == fifoGrantIntervalNs || 0 == candidateCount)
        {
            // Nothing to grant: the FIFO clock stops, and the next message gets its FIFO grant at once.
            nextFifoDeadlineNs = NO_DEADLINE;
            return 0;
        }
        if (NO_DEADLINE != nextFifoDeadlineNs && nowNs - nextFifoDeadlineNs < 0)
        {
            return 0;
        }
        nextFifoDeadlineNs = nowNs + fifoGrantIntervalNs;
        // homa_grant_check_fifo: the oldest grantable message, active or not, that is not fully granted and has
        // less than window + 2 increments on the way (more means its sender ignores our grants).
        final long limit = (long)window() + 2L * fifoGrantIncrement;
        for (GrantState state = fifoHead; null != state; state = state.fifoNext)
        {
            if (state.incoming >= limit || state.grantedOffset >= state.length)
            {
                continue;
            }
            final long target = Math.min(state.length, roundUpToPacket((long)state.grantedOffset + fifoGrantIncrement));
            metrics.increment(HomaMetrics.FIFO_GRANTS);
            emit(state, (int)target, FIFO_GRANT_LEVEL, sender);
            if (target == state.length)
            {
                metrics.increment(HomaMetrics.FULLY_GRANTED_MESSAGES);
            }
            return 1;
        }
        return 0;
    }

    private void recomputeActive()
    {
        dirty = false;
        metrics.increment(HomaMetrics.GRANT_RECALCULATIONS);

        int count = 0;
        for (PeerQueue queue = queuesHead; null != queue; queue = queue.next)
        {
            queue.selected = 0;
        }

        // Pass 1 (kernel homa_grant_pick_rpcs): best messages, at most maxActivePerPeer from each peer.
        for (PeerQueue queue = queuesHead; null != queue; queue = queue.next)
        {
            int fromPeer = 0;
            for (GrantState state = queue.first; null != state; state = state.peerNext)
            {
                final int position = insertionPoint(state, count);
                if (position >= overcommit)
                {
                    break;
                }
                if (count == overcommit)
                {
                    scratch[overcommit - 1].queue.selected--;
                    count--;
                }
                insertAt(state, position, count);
                count++;
                fromPeer++;
                queue.selected++;
                if (fromPeer >= maxActivePerPeer)
                {
                    break;
                }
            }
            if (0 == fromPeer)
            {
                // Even this peer's best message did not fit, so no later peer's can.
                break;
            }
        }

        // Pass 2: slots still free means every peer was visited; the per-peer limit is only a preference, so give
        // the free slots to the best message of the peers with the fewest active messages.
        while (count < overcommit)
        {
            PeerQueue bestQueue = null;
            GrantState best = null;
            for (PeerQueue queue = queuesHead; null != queue; queue = queue.next)
            {
                if (queue.selected >= queue.size)
                {
                    continue;
                }
                GrantState next = queue.first;
                for (int i = 0; i < queue.selected; i++)
                {
                    next = next.peerNext;
                }
                if (null == bestQueue || queue.selected < bestQueue.selected ||
                    (queue.selected == bestQueue.selected && next.outranks(best)))
                {
                    bestQueue = queue;
                    best = next;
                }
            }
            if (null == best)
            {
                break;
            }
            insertAt(best, insertionPoint(best, count), count);
            count++;
            bestQueue.selected++;
        }

        for (int i = 0; i < activeCount; i++)
        {
            active[i].rank = GrantState.WAS_ACTIVE;
        }
        for (int i = 0; i < count; i++)
        {
            final GrantState state = scratch[i];
            if (GrantState.WAS_ACTIVE != state.rank)
            {
                metrics.increment(HomaMetrics.GRANT_PROMOTIONS);
            }
            state.rank = i;
        }
        for (int i = 0; i < activeCount; i++)
        {
            final GrantState state = active[i];
            if (GrantState.WAS_ACTIVE == state.rank)
            {
                state.rank = -1;
                metrics.increment(HomaMetrics.GRANT_DEMOTIONS);
            }
        }
        for (int i = 0; i < count; i++)
        {
            active[i] = scratch[i];
            scratch[i] = null;
        }
        for (int i = count; i < activeCount; i++)
        {
            active[i] = null;
        }
        activeCount = count;
    }

    private int insertionPoint(final GrantState state, final int count)
    {
        int i = count - 1;
        while (i >= 0 && state.outranks(scratch[i]))
        {
            i--;
        }
        return i + 1;
    }

    private void insertAt(final GrantState state, final int position, final int count)
    {
        for (int i = count - 1; i >= position; i--)
        {
            scratch[i + 1] = scratch[i];
        }
        scratch[position] = state;
    }

    private void removeFromActive(final GrantState state)
    {
        final int rank = state.rank;
        for (int i = rank; i < activeCount - 1; i++)
        {
            active[i] = active[i + 1];
            active[i].rank = i;
        }
        active[--activeCount] = null;
        state.rank = -1;
    }

    private void linkCandidate(final GrantState state)
    {
        PeerQueue queue = queueByPeer.get(state.peer);
        if (null == queue)
        {
            queue = allocateQueue(state.peer);
            queue.first = state;
            queue.last = state;
            queue.size = 1;
            state.queue = queue;
            insertQueueSorted(queue);
            queueByPeer.put(state.peer, queue);
        }
        else
        {
            GrantState next = queue.first;
            while (null != next && !state.outranks(next))
            {
                next = next.peerNext;
            }
            state.queue = queue;
            insertInQueueBefore(queue, next, state);
            if (queue.first == state)
            {
                repositionQueue(queue);
            }
        }

        GrantState prev = fifoTail;
        while (null != prev && prev.birth > state.birth)
        {
            prev = prev.fifoPrev;
        }
        state.fifoPrev = prev;
        state.fifoNext = null == prev ? fifoHead : prev.fifoNext;
        if (null == state.fifoNext)
        {
            fifoTail = state;
        }
        else
        {
            state.fifoNext.fifoPrev = state;
        }
        if (null == prev)
        {
            fifoHead = state;
        }
        else
        {
            prev.fifoNext = state;
        }

        candidateCount++;
        dirty = true;
    }

    private void unlinkCandidate(final GrantState state)
    {
        final PeerQueue queue = state.queue;
        final boolean wasFirst = queue.first == state;
        unlinkFromQueue(queue, state);
        state.queue = null;
        if (null == queue.first)
        {
            unlinkQueue(queue);
            queueByPeer.remove(queue.peer);
            queue.clear();
            queue.next = freeQueues;
            freeQueues = queue;
        }
        else if (wasFirst)
        {
            repositionQueue(queue);
        }

        if (null == state.fifoPrev)
        {
            fifoHead = state.fifoNext;
        }
        else
        {
            state.fifoPrev.fifoNext = state.fifoNext;
        }
        if (null == state.fifoNext)
        {
            fifoTail = state.fifoPrev;
        }
        else
        {
            state.fifoNext.fifoPrev = state.fifoPrev;
        }
        state.fifoPrev = null;
        state.fifoNext = null;

        if (state.rank >= 0)
        {
            removeFromActive(state);
        }
        candidateCount--;
        dirty = true;
    }

    private PeerQueue allocateQueue(final long peer)
    {
        PeerQueue queue = freeQueues;
        if (null == queue)
        {
            // More peers with grantable messages than ever before: grow once; bounded by the engine's peer limit.
            queue = new PeerQueue();
            metrics.increment(HomaMetrics.GRANT_PEER_QUEUES);
        }
        else
        {
            freeQueues = queue.next;
            queue.next = null;
        }
        queue.peer = peer;
        return queue;
    }

    private static void insertInQueueBefore(final PeerQueue queue, final GrantState next, final GrantState state)
    {
        state.peerNext = next;
        state.peerPrev = null == next ? queue.last : next.peerPrev;
        if (null == state.peerPrev)
        {
            queue.first = state;
        }
        else
        {
            state.peerPrev.peerNext = state;
        }
        if (null == next)
        {
            queue.last = state;
        }
        else
        {
            next.peerPrev = state;
        }
        queue.size++;
    }

    private static void unlinkFromQueue(final PeerQueue queue, final GrantState state)
    {
        if (null == state.peerPrev)
        {
            queue.first = state.peerNext;
        }
        else
        {
            state.peerPrev.peerNext = state.peerNext;
        }
        if (null == state.peerNext)
        {
            queue.last = state.peerPrev;
        }
        else
        {
            state.peerNext.peerPrev = state.peerPrev;
        }
        state.peerPrev = null;
        state.peerNext = null;
        queue.size--;
    }

    private static void repositionInQueue(final PeerQueue queue, final GrantState state)
    {
        final GrantState prev = state.peerPrev;
        if (null != prev && state.outranks(prev))
        {
            GrantState next = prev;
            while (null != next.peerPrev && state.outranks(next.peerPrev))
            {
                next = next.peerPrev;
            }
            unlinkFromQueue(queue, state);
            insertInQueueBefore(queue, next, state);
            return;
        }

        final GrantState after = state.peerNext;
        if (null != after && after.outranks(state))
        {
            GrantState next = after.peerNext;
            while (null != next && next.outranks(state))
            {
                next = next.peerNext;
            }
            unlinkFromQueue(queue, state);
            insertInQueueBefore(queue, next, state);
        }
    }

    private void insertQueueSorted(final PeerQueue queue)
    {
        PeerQueue next = queuesHead;
        while (null != next && !queue.first.outranks(next.first))
        {
            next = next.next;
        }
        insertQueueBefore(next, queue);
    }

    private void insertQueueBefore(final PeerQueue next, final PeerQueue queue)
    {
        queue.next = next;
        queue.prev = null == next ? queuesTail : next.prev;
        if (null == queue.prev)
        {
            queuesHead = queue;
        }
        else
        {
            queue.prev.next = queue;
        }
        if (null == next)
        {
            queuesTail = queue;
        }
        else
        {
            next.prev = queue;
        }
    }

    private void unlinkQueue(final PeerQueue queue)
    {
        if (null == queue.prev)
        {
            queuesHead = queue.next;
        }
        else
        {
            queue.prev.next = queue.next;
        }
        if (null == queue.next)
        {
            queuesTail = queue.prev;
        }
        else
        {
            queue.next.prev = queue.prev;
        }
        queue.prev = null;
        queue.next = null;
    }

    private void repositionQueue(final PeerQueue queue)
    {
        final GrantState best = queue.first;
        final PeerQueue prev = queue.prev;
        if (null != prev && best.outranks(prev.first))
        {
            PeerQueue next = prev;
            while (null != next.prev && best.outranks(next.prev.first))
            {
                next = next.prev;
            }
            unlinkQueue(queue);
            insertQueueBefore(next, queue);
            return;
        }

        final PeerQueue after = queue.next;
        if (null != after && after.first.outranks(best))
        {
            PeerQueue next = after.next;
            while (null != next && next.first.outranks(best))
            {
                next = next.next;
            }
            unlinkQueue(queue);
            insertQueueBefore(next, queue);
        }
    }
}
