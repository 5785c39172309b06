package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import org.agrona.concurrent.CachedNanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Takes receive-pool pages for an inbound message when its first packet arrives. A message waits (its packets are
 * dropped and it gets no grants) when the pool is exhausted, when it is longer than a page and only
 * {@code receiveReserveBytes} are free (kept for short messages), or when its peer's messages still being received
 * hold {@code maxReceiveBytesPerPeer} already, so one peer cannot take the pool from the others; when pages free up
 * the waiting messages get their storage, shortest first, and ask again for everything sent so far. Pool exhaustion
 * is counted, and logged once a minute at most: a pool full of messages the application has not released stops all
 * delivery.
 */
final class InboundAllocator
{
    private static final Logger LOG = LoggerFactory.getLogger(InboundAllocator.class);
    private static final long LOG_INTERVAL_NS = TimeUnit.MINUTES.toNanos(1);

    private final ArrayDeque<Rpc> waitingForPages = new ArrayDeque<>();
    private final PagePool receivePool;
    private final HomaMetrics metrics;
    private final ResendRequester resendRequester;
    private final CachedNanoClock clock;
    private final long maxBytesPerPeer;
    private final int reservePages;
    private long nextLogNs = Long.MIN_VALUE;

    /**
     * @param receivePool     where inbound messages are placed.
     * @param metrics         counters.
     * @param resendRequester asks for the bytes dropped while a message waited.
     * @param clock           the duty cycle's cached time (for the rate of the log line).
     * @param maxBytesPerPeer pool bytes the messages one peer is sending may hold.
     * @param reserveBytes    pool bytes a message longer than one page may not take.
     */
    InboundAllocator(
        final PagePool receivePool,
        final HomaMetrics metrics,
        final ResendRequester resendRequester,
        final CachedNanoClock clock,
        final long maxBytesPerPeer,
        final long reserveBytes)
    {
        this.receivePool = receivePool;
        this.metrics = metrics;
        this.resendRequester = resendRequester;
        this.clock = clock;
        this.maxBytesPerPeer = maxBytesPerPeer;
        this.reservePages = (int)Math.min(receivePool.pageCount(), reserveBytes / receivePool.pageBytes());
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
     * Take pages for the RPC's inbound message, or queue it to wait for them. While messages wait, a new one goes
     * first only if it is shorter than every waiting message that may take pages now.
     *
     * @param rpc the RPC, its inbound message's length set.
     * @return true if the message has its storage.
     */
    boolean allocate(final Rpc rpc)
    {
        final Rpc first = waitingForPages.isEmpty() ? null : shortestReady();
        final int counter =
            null != first && first.in.length <= rpc.in.length ? HomaMetrics.RECEIVE_POOL_WAITS : take(rpc);
        if (0 == counter)
        {
            return true;
        }
        rpc.in.waitingForPages = true;
        waitingForPages.addLast(rpc);
        metrics.increment(counter);
        return false;
    }

    /**
     * The message no longer holds its pages as a message being received (it was delivered, or it ended): its peer's
     * share goes down.
     *
     * @param rpc the RPC.
     */
    void release(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        rpc.peer.receiveBytes -= in.chargedBytes;
        in.chargedBytes = 0;
    }

    /**
     * Give pages to waiting messages, shortest first (as SRPT everywhere else: a short message does not wait behind
     * long ones, honest or forged), while the pool has room, and ask for their bytes again. A message whose peer is
     * at its share waits while the others go ahead.
     */
    void retryWaiting()
    {
        Rpc rpc;
        while (null != (rpc = shortestReady()) && 0 == take(rpc))
        {
            waitingForPages.remove(rpc);
            rpc.in.waitingForPages = false;
            // Everything sent so far was dropped for lack of space: ask for it now. Having just asked, the RPC starts
            // its silence over: the timer counted the wait (a server RPC's, so that a forged one is reclaimed), and
            // would otherwise ask for the same bytes again at its next resend tick, while the first answer is on its
            // way (the kernel counts no silence while a message waits for buffers).
            resendRequester.requestRetransmission(rpc);
            rpc.silentTicks = 0;
        }
    }

    /**
     * @return the shortest waiting message whose peer is below its share, or null.
     */
    private Rpc shortestReady()
    {
        Rpc shortest = null;
        for (final Rpc rpc : waitingForPages)
        {
            if (rpc.peer.receiveBytes + rpc.in.length <= maxBytesPerPeer &&
                (null == shortest || rpc.in.length < shortest.in.length))
            {
                shortest = rpc;
            }
        }
        return shortest;
    }

    /**
     * @return 0 if the message got its pages, else the counter of the reason it must wait.
     */
    private int take(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        final Peer peer = rpc.peer;
        if (peer.receiveBytes + in.length > maxBytesPerPeer)
        {
            return HomaMetrics.RECEIVE_PEER_LIMIT_WAITS;
        }
        if (in.length > receivePool.pageBytes() &&
            receivePool.pageCount() - receivePool.inUse() - receivePool.pagesFor(in.length) < reservePages)
        {
            // The last free pages are kept for short messages.
            return HomaMetrics.RECEIVE_POOL_WAITS;
        }
        final int handles = receivePool.allocate(in.pages, in.length);
        if (handles <= 0)
        {
            onPoolExhausted();
            return HomaMetrics.RECEIVE_POOL_WAITS;
        }
        in.pageCount = handles;
        in.chargedBytes = in.length;
        peer.receiveBytes += in.length;
        return 0;
    }

    private void onPoolExhausted()
    {
        final long nowNs = clock.nanoTime();
        if (nowNs - nextLogNs >= 0 || Long.MIN_VALUE == nextLogNs)
        {
            nextLogNs = nowNs + LOG_INTERVAL_NS;
            LOG.warn("receive pool exhausted: {} of {} pages of {} bytes in use, new messages wait (counted in " +
                "receive_pool_waits; logged at most once a minute). Release every HomaMessage once read, or raise " +
                "homa.receive.pool.bytes", receivePool.inUse(), receivePool.pageCount(), receivePool.pageBytes());
        }
    }
}
