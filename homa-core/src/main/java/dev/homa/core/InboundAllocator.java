package dev.homa.core;

import dev.homa.core.grant.GrantScheduler;
import dev.homa.core.metrics.HomaMetrics;
import org.agrona.concurrent.CachedNanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Takes receive-pool pages for an inbound message when its first packet arrives. A message waits (it gets no grants)
 * when the pool is exhausted, when it is longer than a page and only {@code receiveReserveBytes} are free (kept for
 * short messages), or when its peer's messages still being received hold {@code maxReceiveBytesPerPeer} already, so
 * one peer cannot take the pool from the others; when pages free up the waiting messages get their storage, shortest
 * first, and ask again for what was dropped meanwhile.
 * <p>
 * Of the messages that could hold a prefix (below), at most {@code maxGrantedWhole} (twice the overcommitment: those
 * being granted and as many to follow) hold all their pages at once; a message beyond them waits, as a message does for
 * which the pool has no room, and meanwhile holds pages for its unscheduled bytes (its prefix), so that what its sender
 * sent blindly is kept, not received, dropped and sent again. Only the grant scheduler's candidates get grants, and it
 * grants at most the overcommitment at once: the pool then holds whole the messages that move and the unscheduled bytes
 * of the others, and more long messages arrive at once than it holds whole (many clients, each with many requests
 * outstanding) without their blind bytes being dropped. (The kernel takes every page of a message at its first packet,
 * and drops the packets of one that cannot have them.) A message may hold a prefix if it needs grants, its unscheduled
 * bytes fill fewer pages than it has, and its peer has other RPCs here: a message of a peer with none takes its pages
 * whole or waits with none, as in the kernel, so that first packets forged from ever new addresses get no prefixes, nor
 * the RESENDs and GRANTs that would follow. Prefixes never take the pages that the reserve, a quarter of the pool and
 * one message of {@code maxMessageLength} need besides them, and a peer's count toward its share and leave room in it
 * for one such message: a waiting message always gets the rest of its pages once the messages that have theirs
 * complete.
 * <p>
 * Pool exhaustion is counted, and logged once a minute at most: a pool full of messages the application has not
 * released stops all delivery.
 */
final class InboundAllocator
{
    private static final Logger LOG = LoggerFactory.getLogger(InboundAllocator.class);
    private static final long LOG_INTERVAL_NS = TimeUnit.MINUTES.toNanos(1);

    private final ArrayDeque<Rpc> waitingForPages = new ArrayDeque<>();
    private final PagePool receivePool;
    private final GrantScheduler scheduler;
    private final HomaMetrics metrics;
    private final ResendRequester resendRequester;
    private final CachedNanoClock clock;
    private final long maxBytesPerPeer;
    private final long maxPrefixBytesPerPeer;
    private final int reservePages;
    private final int maxPrefixPages;
    private final int maxGrantedWhole;
    private int prefixPages;
    /** Messages holding all their pages that could have held a prefix instead. */
    private int grantedWhole;
    private long nextLogNs = Long.MIN_VALUE;

    /**
     * @param receivePool      where inbound messages are placed.
     * @param scheduler        grants a message once it has its pages.
     * @param metrics          counters.
     * @param resendRequester  asks for the bytes dropped while a message waited.
     * @param clock            the duty cycle's cached time (for the rate of the log line).
     * @param maxBytesPerPeer  pool bytes the messages one peer is sending may hold.
     * @param maxMessageLength longest message.
     * @param reserveBytes     pool bytes a message longer than one page may not take.
     * @param maxGrantedWhole  messages that need grants which may hold all their pages at once, where others could
     *                         hold prefixes instead.
     */
    InboundAllocator(
        final PagePool receivePool,
        final GrantScheduler scheduler,
        final HomaMetrics metrics,
        final ResendRequester resendRequester,
        final CachedNanoClock clock,
        final long maxBytesPerPeer,
        final int maxMessageLength,
        final long reserveBytes,
        final int maxGrantedWhole)
    {
        this.receivePool = receivePool;
        this.scheduler = scheduler;
        this.metrics = metrics;
        this.resendRequester = resendRequester;
        this.clock = clock;
        this.maxGrantedWhole = maxGrantedWhole;
        final int pages = receivePool.pageCount();
        final int longestPages = receivePool.pagesFor(maxMessageLength);
        this.reservePages = (int)Math.min(pages, reserveBytes / receivePool.pageBytes());
        this.maxPrefixPages = Math.max(0, pages - reservePages - Math.max(pages / 4, longestPages));
        // Shares are counted in whole pages: one must hold a message of the longest length, whatever its rounding.
        final long longest = storageBytes(maxMessageLength);
        this.maxBytesPerPeer = Math.max(maxBytesPerPeer, longest);
        this.maxPrefixBytesPerPeer = this.maxBytesPerPeer - longest;
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
     * Take pages for the RPC's inbound message, or queue it to wait for them, with its prefix if it may have one.
     * While messages wait, a new one goes first only if it is shorter than every waiting message that may take pages
     * now.
     *
     * @param rpc the RPC, its inbound message's length and unscheduled bytes set.
     * @return true if the message has pages for its first bytes ({@link InboundMessage#heldBytes}).
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
        return 0 != prefixPages(rpc) && takePrefix(rpc);
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
        if (0 == in.chargedBytes)
        {
            return;
        }
        if (in.heldBytes < in.length)
        {
            prefixPages -= in.pageCount;
            rpc.peer.prefixBytes -= in.chargedBytes;
        }
        else
        {
            rpc.peer.receiveBytes -= in.chargedBytes;
            if (in.wholeInsteadOfPrefix)
            {
                in.wholeInsteadOfPrefix = false;
                grantedWhole--;
            }
        }
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
            // What was sent so far and not held was dropped for lack of space: ask for it now. Having just asked,
            // the RPC starts its silence over: the timer counted the wait (a server RPC's, so that a forged one is
            // reclaimed), and would otherwise ask for the same bytes again at its next resend tick, while the first
            // answer is on its way (the kernel counts no silence while a message waits for buffers). A message that
            // held its unscheduled bytes meanwhile is the scheduler's from now on.
            final InboundMessage in = rpc.in;
            if (in.needsGrants() && !in.scheduled && in.received > 0)
            {
                in.scheduled = true;
                scheduler.add(in);
            }
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
            if (sharedBytes(rpc) + storageBytes(rpc.in.length) <= maxBytesPerPeer &&
                (null == shortest || rpc.in.length < shortest.in.length))
            {
                shortest = rpc;
            }
        }
        return shortest;
    }

    /**
     * All the message's pages, or the rest of them after its prefix.
     *
     * @return 0 if the message has them, else the counter of the reason it must wait.
     */
    private int take(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        final Peer peer = rpc.peer;
        final long storage = storageBytes(in.length);
        if (sharedBytes(rpc) + storage > maxBytesPerPeer)
        {
            return HomaMetrics.RECEIVE_PEER_LIMIT_WAITS;
        }
        final boolean prefixed = 0 != prefixPages(rpc);
        if (prefixed && grantedWhole >= maxGrantedWhole)
        {
            return HomaMetrics.RECEIVE_GRANT_WAITS;
        }
        final int held = in.pageCount;
        if (in.length > receivePool.pageBytes() && !leavesReserve(receivePool.pagesFor(in.length) - held))
        {
            // The last free pages are kept for short messages.
            return HomaMetrics.RECEIVE_POOL_WAITS;
        }
        final int handles = 0 == held ?
            receivePool.allocate(in.pages, in.length) : receivePool.extend(in.pages, held, in.length);
        if (handles <= 0)
        {
            onPoolExhausted();
            return HomaMetrics.RECEIVE_POOL_WAITS;
        }
        if (held > 0)
        {
            prefixPages -= held;
            peer.prefixBytes -= in.chargedBytes;
        }
        in.pageCount = handles;
        in.heldBytes = in.length;
        in.chargedBytes = storage;
        peer.receiveBytes += storage;
        if (prefixed)
        {
            in.wholeInsteadOfPrefix = true;
            grantedWhole++;
        }
        return 0;
    }

    /**
     * @return pages for the unscheduled bytes of a message that may hold them while it waits, else 0: it needs
     * grants, its unscheduled bytes fill fewer pages than it has, and its peer has other RPCs here.
     */
    private int prefixPages(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        final int pages = receivePool.pagesFor(in.incoming);
        return rpc.peer.rpcCount > 1 && in.length > receivePool.pageBytes() && pages < receivePool.pagesFor(in.length) ?
            pages : 0;
    }

    /**
     * Pages for the unscheduled bytes of a message that waits, if there is room for them beside the other prefixes,
     * the short messages' reserve and its peer's other messages.
     *
     * @return true if it holds them.
     */
    private boolean takePrefix(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        final Peer peer = rpc.peer;
        final int pages = prefixPages(rpc);
        final long bytes = (long)pages * receivePool.pageBytes();
        if (peer.prefixBytes + bytes > maxPrefixBytesPerPeer || sharedBytes(rpc) + bytes > maxBytesPerPeer ||
            prefixPages + pages > maxPrefixPages || !leavesReserve(pages))
        {
            return false;
        }
        final int handles = receivePool.allocate(in.pages, (int)bytes);
        if (handles <= 0)
        {
            return false;
        }
        in.pageCount = handles;
        in.heldBytes = (int)bytes;
        in.chargedBytes = bytes;
        prefixPages += handles;
        peer.prefixBytes += bytes;
        metrics.increment(HomaMetrics.RECEIVE_PREFIX_HOLDS);
        return true;
    }

    /**
     * @return true if taking this many more pages leaves the pages kept for short messages free.
     */
    private boolean leavesReserve(final int pages)
    {
        return receivePool.pageCount() - receivePool.inUse() - pages >= reservePages;
    }

    /**
     * @return pool bytes a message of this length takes: its slot or its whole pages.
     */
    private long storageBytes(final int length)
    {
        return (long)receivePool.unitsFor(length) * receivePool.slotBytes();
    }

    /**
     * @return pool bytes the RPC's peer holds for its other messages: their storage and their prefixes.
     */
    private static long sharedBytes(final Rpc rpc)
    {
        final Peer peer = rpc.peer;
        return peer.receiveBytes + peer.prefixBytes - rpc.in.chargedBytes;
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
