package dev.homa.core.grant;

import dev.homa.core.metrics.HomaMetrics;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * The messages that need grants, in the two orders the scheduler reads them: one SRPT-ordered {@link PeerQueue} per
 * sending peer, the queues in a list ordered by their best message (homa_grant.c's peer list, so a DATA arrival only
 * moves a message a few places), and every candidate in birth order for FIFO grants. The lists are intrusive, in
 * the messages' {@link GrantState}s; the queues are pooled.
 */
final class GrantCandidates
{
    private final Long2ObjectHashMap<PeerQueue> queueByPeer;
    private final HomaMetrics metrics;
    private PeerQueue freeQueues;
    private PeerQueue queuesHead;
    private PeerQueue queuesTail;
    private GrantState fifoHead;
    private GrantState fifoTail;
    private int count;

    /**
     * @param initialPeerCapacity peer queues made up front.
     * @param metrics             where the queues made are counted.
     */
    GrantCandidates(final int initialPeerCapacity, final HomaMetrics metrics)
    {
        this.metrics = metrics;
        queueByPeer = new Long2ObjectHashMap<>(Math.max(8, initialPeerCapacity * 2), 0.65f);
        for (int i = 0; i < initialPeerCapacity; i++)
        {
            final PeerQueue queue = new PeerQueue();
            queue.next = freeQueues;
            freeQueues = queue;
        }
        metrics.add(HomaMetrics.GRANT_PEER_QUEUES, initialPeerCapacity);
    }

    /**
     * @return candidates.
     */
    int count()
    {
        return count;
    }

    /**
     * @return the queue of the peer with the best message, or null; follow {@link PeerQueue#next}.
     */
    PeerQueue firstQueue()
    {
        return queuesHead;
    }

    /**
     * @return the oldest candidate, or null; follow {@link GrantState#fifoNext}.
     */
    GrantState oldest()
    {
        return fifoHead;
    }

    /**
     * Add a message to its peer's queue and to the birth order.
     *
     * @param state the message's state, with its order key and birth set.
     */
    void link(final GrantState state)
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
        count++;
    }

    /**
     * Take a message out of its peer's queue (returning the queue to the pool when it empties) and the birth order.
     *
     * @param state a linked message's state.
     */
    void unlink(final GrantState state)
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
        count--;
    }

    /**
     * Move a linked message to its place after its order key changed, and its peer's queue with it if the peer's
     * best message changed.
     *
     * @param state a linked message's state.
     */
    void reposition(final GrantState state)
    {
        final PeerQueue queue = state.queue;
        final GrantState oldFirst = queue.first;
        repositionInQueue(queue, state);
        if (queue.first != oldFirst || queue.first == state)
        {
            repositionQueue(queue);
        }
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
