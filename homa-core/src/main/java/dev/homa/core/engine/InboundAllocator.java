package dev.homa.core.engine;

import dev.homa.core.metrics.HomaMetrics;

import java.util.ArrayDeque;

/**
 * Takes receive-pool pages for an inbound message when its first packet arrives. When the pool is exhausted the
 * message waits in FIFO order (its packets are dropped and it gets no grants); when pages free up the waiting
 * messages get their storage and ask again for everything sent so far.
 */
final class InboundAllocator
{
    private final ArrayDeque<Rpc> waitingForPages = new ArrayDeque<>();
    private final PagePool receivePool;
    private final HomaMetrics metrics;
    private final ResendRequester resendRequester;

    /**
     * @param receivePool     where inbound messages are placed.
     * @param metrics         counters.
     * @param resendRequester asks for the bytes dropped while a message waited.
     */
    InboundAllocator(final PagePool receivePool, final HomaMetrics metrics, final ResendRequester resendRequester)
    {
        this.receivePool = receivePool;
        this.metrics = metrics;
        this.resendRequester = resendRequester;
    }

    /**
     * @return true while some message waits for pages.
     */
    boolean hasWaiting()
    {
        return !waitingForPages.isEmpty();
    }

    /**
     * Forget a waiting RPC (it ended).
     *
     * @param rpc the RPC.
     */
    void remove(final Rpc rpc)
    {
        waitingForPages.remove(rpc);
    }

    /**
     * Take pages for the RPC's inbound message, or queue it to wait for them.
     *
     * @param rpc the RPC, its inbound message's length set.
     * @return true if the message has its storage.
     */
    boolean allocate(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        final int handles = receivePool.allocate(in.pages, in.length);
        if (handles > 0)
        {
            in.pageCount = handles;
            in.waitingForPages = false;
            return true;
        }
        if (!in.waitingForPages)
        {
            in.waitingForPages = true;
            waitingForPages.addLast(rpc);
            metrics.increment(HomaMetrics.RECEIVE_POOL_WAITS);
        }
        return false;
    }

    /**
     * Give pages to waiting messages in order, while the pool has room, and ask for their bytes again.
     */
    void retryWaiting()
    {
        for (int n = waitingForPages.size(); n > 0; n--)
        {
            final Rpc rpc = waitingForPages.pollFirst();
            rpc.in.waitingForPages = false;
            if (!allocate(rpc))
            {
                return;
            }
            // Everything sent so far was dropped for lack of space: ask for it now.
            resendRequester.requestRetransmission(rpc);
        }
    }
}
