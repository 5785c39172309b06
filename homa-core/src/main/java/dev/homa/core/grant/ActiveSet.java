package dev.homa.core.grant;

import dev.homa.core.metrics.HomaMetrics;

/**
 * The messages being granted: at most {@code overcommit} (K) candidates, in SRPT rank order (homa_grant_pick_rpcs).
 * The best K take at most {@code maxActivePerPeer} from each peer; slots that leaves free (fewer peers than slots)
 * go to the best messages of the peers with the fewest active ones, so the per-peer limit is a preference, not a
 * cap. Each member's {@link GrantState#rank()} is its index here.
 */
final class ActiveSet
{
    private final int overcommit;
    private final int maxActivePerPeer;
    private final HomaMetrics metrics;
    private final GrantState[] active = new GrantState[GrantConfig.MAX_OVERCOMMIT];
    private final GrantState[] scratch = new GrantState[GrantConfig.MAX_OVERCOMMIT];
    private int count;

    /**
     * @param overcommit       K, the most messages granted at once.
     * @param maxActivePerPeer the preferred most from one peer.
     * @param metrics          where promotions, demotions and recalculations are counted.
     */
    ActiveSet(final int overcommit, final int maxActivePerPeer, final HomaMetrics metrics)
    {
        this.overcommit = overcommit;
        this.maxActivePerPeer = maxActivePerPeer;
        this.metrics = metrics;
    }

    /**
     * @return active messages.
     */
    int count()
    {
        return count;
    }

    /**
     * @param rank 0 to {@link #count()} - 1.
     * @return the message of that rank.
     */
    GrantState get(final int rank)
    {
        return active[rank];
    }

    /**
     * Take a message out, moving the worse ones up one rank.
     *
     * @param state an active message's state.
     */
    void remove(final GrantState state)
    {
        final int rank = state.rank;
        for (int i = rank; i < count - 1; i++)
        {
            active[i] = active[i + 1];
            active[i].rank = i;
        }
        active[--count] = null;
        state.rank = -1;
    }

    /**
     * Choose the active messages again from the candidates.
     *
     * @param candidates every message that needs grants.
     */
    void recompute(final GrantCandidates candidates)
    {
        metrics.increment(HomaMetrics.GRANT_RECALCULATIONS);

        int chosen = 0;
        for (PeerQueue queue = candidates.firstQueue(); null != queue; queue = queue.next)
        {
            queue.selected = 0;
        }

        // Pass 1 (kernel homa_grant_pick_rpcs): best messages, at most maxActivePerPeer from each peer.
        for (PeerQueue queue = candidates.firstQueue(); null != queue; queue = queue.next)
        {
            int fromPeer = 0;
            for (GrantState state = queue.first; null != state; state = state.peerNext)
            {
                final int position = insertionPoint(state, chosen);
                if (position >= overcommit)
                {
                    break;
                }
                if (chosen == overcommit)
                {
                    scratch[overcommit - 1].queue.selected--;
                    chosen--;
                }
                insertAt(state, position, chosen);
                chosen++;
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
        while (chosen < overcommit)
        {
            PeerQueue bestQueue = null;
            GrantState best = null;
            for (PeerQueue queue = candidates.firstQueue(); null != queue; queue = queue.next)
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
            insertAt(best, insertionPoint(best, chosen), chosen);
            chosen++;
            bestQueue.selected++;
        }

        replaceWith(chosen);
    }

    /**
     * Make the first {@code chosen} entries of the scratch ranking the active set, counting who came and went.
     */
    private void replaceWith(final int chosen)
    {
        for (int i = 0; i < count; i++)
        {
            active[i].rank = GrantState.WAS_ACTIVE;
        }
        for (int i = 0; i < chosen; i++)
        {
            final GrantState state = scratch[i];
            if (GrantState.WAS_ACTIVE != state.rank)
            {
                metrics.increment(HomaMetrics.GRANT_PROMOTIONS);
            }
            state.rank = i;
        }
        for (int i = 0; i < count; i++)
        {
            final GrantState state = active[i];
            if (GrantState.WAS_ACTIVE == state.rank)
            {
                state.rank = -1;
                metrics.increment(HomaMetrics.GRANT_DEMOTIONS);
            }
        }
        for (int i = 0; i < chosen; i++)
        {
            active[i] = scratch[i];
            scratch[i] = null;
        }
        for (int i = chosen; i < count; i++)
        {
            active[i] = null;
        }
        count = chosen;
    }

    private int insertionPoint(final GrantState state, final int chosen)
    {
        int i = chosen - 1;
        while (i >= 0 && state.outranks(scratch[i]))
        {
            i--;
        }
        return i + 1;
    }

    private void insertAt(final GrantState state, final int position, final int chosen)
    {
        for (int i = chosen - 1; i >= position; i--)
        {
            scratch[i + 1] = scratch[i];
        }
        scratch[position] = state;
    }
}
