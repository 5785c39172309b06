package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.HostAddress;
import org.agrona.concurrent.CachedNanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * The periodic tick over every live RPC: counts ticks of silence while the peer owes us packets (never while we owe
 * it or while the application serves a request; for a client, not while everything granted has arrived or while
 * the response waits for receive pages; for a server sending its response, only up to {@code responseStallTicks}),
 * asks for missing bytes (RESEND) after {@code resendTicks} and then every
 * {@code resendIntervalTicks} (after {@code resendTicks} doubled per BUSY in a row, up to {@code resendBackoff}
 * times, while the peer answers BUSY), asks a client to acknowledge a sent response (NEED_ACK, after
 * {@code requestAckTicks} and then at twice as many ticks each time), and ends an RPC silent for
 * {@code timeoutTicks}, or a client RPC whose deadline passed. Timeouts are logged at most once every ten seconds
 * (with the count of the others).
 * <p>
 * A server RPC that is still receiving its request counts silence even while it waits for grants or pages: a live
 * client keeps it alive with its own RESENDs (ours and the kernel's do, every resend interval), while one that
 * never came back (a forged first packet, a crashed client) must not hold its table slot, pages and incoming bytes
 * forever. If nothing but the packet that created it ever came from the client, it is reclaimed early, once
 * {@code maxUnansweredResends} resend intervals after the first RESEND went by without an answer. One heard from
 * more than once that waits for our pages or grants counts none while its client host sent DATA within the last
 * resend interval: a client under load, answered BUSY, backs off and may ask less often than our timeout runs.
 * Likewise a client RPC whose server host sent us DATA within the last {@code timeoutTicks} ends only after
 * {@link #ACTIVE_SERVER_TIMEOUTS} times {@code timeoutTicks}: a server that falls behind holds our RESENDs and its
 * answers in its socket for longer than one timeout, and its RPC_UNKNOWNs do not end our silence.
 * A client asks at most {@code maxResendsPerPeerPerTick} of its RPCs with one peer each tick, least recently asked
 * first; while that peer answers, the others wait for their turn with their silence back at {@code resendTicks}.
 * With {@code timeoutResends} set, a peer that left that many rounds of RESENDs unanswered is presumed dead and all
 * its RPCs end at once. The same tick evicts idle peers, retries messages waiting for receive pages and renews
 * every peer's allowance of control answers.
 * <p>
 * Silence is what this host has read, not what has reached it: a tick throughout which packets waited unread in the
 * driver (every poll took its whole burst) counts no silence, at most {@link #MAX_BACKLOGGED_TICKS} in a row. A
 * userspace receiver that falls behind holds milliseconds of packets in its socket buffers, unlike the kernel's,
 * which handles each packet as it arrives; counted, that wait would draw RESENDs for bytes already there, whose
 * retransmissions deepen the backlog that caused them, and time out RPCs whose packets are waiting to be read. A
 * receiver that never catches up (a flood) still counts one tick in four, so every timeout still comes, later.
 * <p>
 * On a path with a network (a transmit queue: a NIC, the simulator's fabric), a tick in which DATA arrived at
 * {@link #BUSY_LINK_PERCENT} of the link's rate or more counts no silence either, under the same bound. The downlink
 * was busy delivering, so granted bytes not yet here most likely wait in a switch queue behind other levels rather
 * than lost; a RESEND for them would draw a retransmission at the highest level, ahead of every short message, of
 * bytes that are already on their way. A software path has no such queue: what has not arrived is unsent, unread
 * (above) or dropped.
 */
final class RpcTimer
{
    private static final Logger LOG = LoggerFactory.getLogger(RpcTimer.class);
    private static final long LOG_INTERVAL_NS = TimeUnit.SECONDS.toNanos(10);
    /** Ticks in a row that may count no silence because the receive path was behind. */
    private static final int MAX_BACKLOGGED_TICKS = 3;
    /** Timeouts of silence a client RPC may wait while its server host sends us DATA for other RPCs. */
    private static final int ACTIVE_SERVER_TIMEOUTS = 4;
    /** DATA received in a tick, as a share of what the link carries in one, above which the tick is busy. */
    private static final int BUSY_LINK_PERCENT = 90;

    private final RpcTable rpcs;
    private final ControlSender controlSender;
    private final ResendRequester resendRequester;
    private final InboundAllocator allocator;
    private final PeerTable peers;
    private final AnswerLimiter limiter;
    private final HomaMetrics metrics;
    private final CachedNanoClock clock;
    private final long tickNs;
    private final int resendTicks;
    private final int resendIntervalTicks;
    private final int resendBackoff;
    private final int timeoutTicks;
    private final int requestAckTicks;
    private final int timeoutResends;
    private final int reclaimTicks;
    private final int responseStallTicks;
    private final int maxResendsPerPeerPerTick;
    /** How recently a client must have sent DATA for its request that waits on us to count no silence. */
    private final long activeClientNs;
    /** How recently a server must have sent DATA for its client RPCs to wait up to ACTIVE_SERVER_TIMEOUTS. */
    private final long activeServerNs;
    private long ticks;
    private long nextLogNs = Long.MIN_VALUE;
    private long unloggedTimeouts;
    private Peer deadPeer;
    private boolean drained;
    private int backloggedTicks;
    /** DATA bytes received per tick at {@link #BUSY_LINK_PERCENT} of the link; {@code Long.MAX_VALUE} off. */
    private final long busyTickBytes;
    private long dataBytesAtTick;

    /**
     * @param ctx             concluded context (tick and its multiples).
     * @param rpcs            the live RPCs.
     * @param controlSender   sends NEED_ACK.
     * @param resendRequester sends RESENDs.
     * @param allocator       messages waiting for receive pages.
     * @param peers           the peer table.
     * @param limiter         control answers per peer and tick (renewed here).
     * @param metrics         counters.
     * @param clock           the duty cycle's cached time.
     */
    RpcTimer(
        final HomaTransport.Context ctx,
        final RpcTable rpcs,
        final ControlSender controlSender,
        final ResendRequester resendRequester,
        final InboundAllocator allocator,
        final PeerTable peers,
        final AnswerLimiter limiter,
        final HomaMetrics metrics,
        final CachedNanoClock clock)
    {
        this.rpcs = rpcs;
        this.controlSender = controlSender;
        this.resendRequester = resendRequester;
        this.allocator = allocator;
        this.peers = peers;
        this.limiter = limiter;
        this.metrics = metrics;
        this.clock = clock;
        this.tickNs = ctx.tickNs();
        this.resendTicks = ctx.resendTicks();
        this.resendIntervalTicks = ctx.resendIntervalTicks();
        this.resendBackoff = ctx.resendBackoff();
        this.timeoutTicks = ctx.timeoutTicks();
        this.requestAckTicks = ctx.requestAckTicks();
        this.timeoutResends = ctx.timeoutResends();
        this.responseStallTicks = ctx.responseStallTicks();
        this.maxResendsPerPeerPerTick = ctx.maxResendsPerPeerPerTick();
        this.activeClientNs = ctx.resendIntervalTicks() * tickNs;
        this.activeServerNs = ctx.timeoutTicks() * tickNs;
        final long busyBytes = ctx.driver().linkBitsPerSecond() / 8 * BUSY_LINK_PERCENT / 100 * tickNs / 1_000_000_000L;
        this.busyTickBytes = ctx.driver().hasTransmitQueue() && busyBytes > 0 ? busyBytes : Long.MAX_VALUE;
        this.reclaimTicks = 0 == ctx.maxUnansweredResends() ? Integer.MAX_VALUE :
            ctx.resendTicks() + ctx.maxUnansweredResends() * ctx.resendIntervalTicks();
    }

    /**
     * A poll of the driver took place: if it found fewer packets than it could take, the driver held no unread
     * packet then.
     *
     * @param polled packets the poll took.
     * @param burst  packets it could take.
     * @return {@code polled}.
     */
    int onPolled(final int polled, final int burst)
    {
        if (polled < burst)
        {
            drained = true;
        }
        return polled;
    }

    /**
     * One tick over every live RPC, then peer eviction and the receive-page retry.
     *
     * @return RPCs acted on.
     */
    int onTick()
    {
        ticks++;
        limiter.onTick();
        final long dataBytes = metrics.bytesReceived(PacketType.DATA);
        final boolean busy = dataBytes - dataBytesAtTick >= busyTickBytes;
        dataBytesAtTick = dataBytes;
        final boolean countSilence = (drained && !busy) || ++backloggedTicks > MAX_BACKLOGGED_TICKS;
        if (countSilence)
        {
            backloggedTicks = 0;
        }
        else
        {
            metrics.increment(drained ? HomaMetrics.TIMER_BUSY_TICKS : HomaMetrics.TIMER_BACKLOGGED_TICKS);
        }
        drained = false;
        int work = 0;
        // A client RPC asked with a RESEND moves to the tail; the scan ends at the RPC that was last when it began,
        // so it meets none twice.
        final Rpc last = rpcs.last();
        for (Rpc rpc = rpcs.first(); null != rpc; )
        {
            final Rpc next = rpc.allNext;
            final boolean end = rpc == last;
            work += checkRpc(rpc, countSilence);
            if (end)
            {
                break;
            }
            rpc = next;
        }
        if (null != deadPeer)
        {
            work += abortPeer(deadPeer);
            deadPeer = null;
        }
        // Cheap when nothing is due: the scan stops at the first peer that is not idle long enough.
        peers.evictIdle(clock.nanoTime());
        if (allocator.hasWaiting())
        {
            allocator.retryWaiting();
        }
        return work;
    }

    /**
     * @param countSilence false when this tick's silence is not counted: packets waited unread throughout it, or
     *                     DATA came at nearly the link's rate.
     */
    private int checkRpc(final Rpc rpc, final boolean countSilence)
    {
        if (0 != rpc.deadlineNs && clock.nanoTime() - rpc.deadlineNs >= 0)
        {
            metrics.increment(HomaMetrics.DEADLINES_EXPIRED);
            fail(rpc, "no response within its deadline");
            return 1;
        }
        if (!rpc.client && Rpc.STATE_IN_SERVICE == rpc.state)
        {
            rpc.silentTicks = 0;
            return 0;
        }
        if (!countSilence)
        {
            // What the peer sent this tick may be among the packets not read yet.
            return 0;
        }
        final OutboundMessage out = rpc.out;
        final boolean sending = rpc.client ? Rpc.STATE_OUTGOING_REQUEST == rpc.state :
            Rpc.STATE_RESPONDING == rpc.state;
        if (sending && (out.hasTransmittable() || UnscheduledAdmission.isHeld(out)))
        {
            // The ball is in our court: we hold granted bytes not yet sent.
            rpc.silentTicks = 0;
            return 0;
        }
        final InboundMessage in = rpc.in;
        if (waitsOnUs(in) &&
            (rpc.client || rpc.heard && clock.nanoTime() - rpc.peer.lastActiveNs < activeClientNs))
        {
            // The message waits for our pages or for our scheduler's grants, so silence is expected: always for a
            // response; for a request only while its client, heard from more than once, sends us DATA. A live
            // client may ask less often than our timeout runs (under load, answered BUSY, it backs off); one that
            // never came back must not hold the RPC, and counts silence (below).
            rpc.silentTicks = 0;
            return 0;
        }
        if (!rpc.client && Rpc.STATE_RESPONDING == rpc.state)
        {
            rpc.silentTicks++;
            if (!out.fullySent())
            {
                // Waiting for the client's grants: the kernel's timer counts no silence for a response it is
                // sending, so a client that holds it back (e.g. for receive buffer space) still gets it. A client
                // that never grants (gone, or an address forged into a request) must not keep the RPC and its
                // send-pool pages forever: it has responseStallTicks.
                if (rpc.silentTicks >= responseStallTicks)
                {
                    metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                    rpcs.freeRpc(rpc);
                    return 1;
                }
                return 0;
            }
            if (rpc.silentTicks >= timeoutTicks)
            {
                // Every byte sent, NEED_ACKs at doubling intervals, and nothing at all from the client for
                // timeoutTicks (a live client answers each NEED_ACK with an ACK or a RESEND): it is gone. The kernel
                // would keep the RPC.
                metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                rpcs.freeRpc(rpc);
                return 1;
            }
            if (isNeedAckTick(rpc.silentTicks))
            {
                controlSender.sendControl(PacketType.NEED_ACK, rpc.socket.port, rpc.peerPort, rpc.id, rpc.peerAddress);
                return 1;
            }
            return 0;
        }
        rpc.silentTicks++;
        if (!rpc.client && Rpc.STATE_INCOMING_REQUEST == rpc.state && !rpc.heard && rpc.silentTicks >= reclaimTicks)
        {
            // Created by one packet and nothing since: a live client answers every RESEND (with data or BUSY) and,
            // while it waits for grants or for our pages, sends RESENDs of its own every resend interval; this one
            // let several rounds pass. The request was never delivered, so ending its RPC costs nothing but a
            // restart if the client does come back. A client heard from more than once gets timeoutTicks.
            metrics.increment(HomaMetrics.SERVER_RPCS_RECLAIMED);
            rpcs.freeRpc(rpc);
            return 1;
        }
        if (rpc.silentTicks >= timeoutTicks && !waitsForActiveServer(rpc))
        {
            if (rpc.client)
            {
                metrics.increment(HomaMetrics.CLIENT_TIMEOUTS);
                fail(rpc, "no packet from the server for " + millis(rpc.silentTicks * tickNs) + " (timeoutTicks " +
                    timeoutTicks + " of " + millis(tickNs) + ")");
            }
            else
            {
                metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                rpcs.freeRpc(rpc);
            }
            return 1;
        }
        final int firstResend = firstResendTicks(rpc);
        if (rpc.silentTicks >= firstResend && 0 == (rpc.silentTicks - firstResend) % resendIntervalTicks)
        {
            final Peer peer = rpc.peer;
            if (0 != timeoutResends && peer.unansweredResends >= timeoutResends &&
                ticks - peer.lastResendTick >= resendIntervalTicks)
            {
                // The last round had a whole interval to be answered (other RPCs of the peer may have counted it in
                // this very tick). One dead peer per tick, as the kernel's timer: others on the next.
                if (null == deadPeer)
                {
                    deadPeer = peer;
                }
                return 0;
            }
            if (rpc.client && !takeResend(peer))
            {
                metrics.increment(HomaMetrics.RESENDS_DEFERRED);
                if (peer.unansweredResends <= 1)
                {
                    // The peer has answered since our last-but-one round: this RPC is asked on a later tick, as if
                    // it had just become due. Its wait for a turn is not the peer's silence, and RESENDs for every
                    // call of a burst that a busy server answers only queue behind each other and delay every
                    // answer. A peer silent for longer makes its waiting RPCs count every tick.
                    rpc.silentTicks = firstResend - 1;
                }
                return 0;
            }
            peers.onResendSent(peer, ticks, resendIntervalTicks);
            resendRequester.requestRetransmission(rpc);
            if (rpc.client)
            {
                rpcs.moveToTail(rpc);
            }
            return 1;
        }
        return 0;
    }

    /**
     * @return true for a client RPC silent for fewer than {@link #ACTIVE_SERVER_TIMEOUTS} timeouts whose server host
     * sent us DATA within the last timeout: the server is alive and answering other RPCs, and this one most likely
     * waits in its backlog, or was lost and is being restarted.
     */
    private boolean waitsForActiveServer(final Rpc rpc)
    {
        return rpc.client && rpc.silentTicks < ACTIVE_SERVER_TIMEOUTS * timeoutTicks &&
            clock.nanoTime() - rpc.peer.lastActiveNs < activeServerNs;
    }

    /**
     * @return whether the message waits for this host: for receive pages, or with everything granted to it here.
     */
    private static boolean waitsOnUs(final InboundMessage in)
    {
        return in.waitingForPages ||
            in.started() && !in.complete() && 0 == in.gapCount && in.highest >= in.grantedEnd();
    }

    /**
     * @return silent ticks before the RPC's first RESEND: {@code resendTicks}, doubled for each BUSY in a row up to
     * {@code resendBackoff} times and capped at half the timeout.
     */
    private int firstResendTicks(final Rpc rpc)
    {
        final int busy = Math.min(rpc.busyAnswers, resendBackoff);
        return 0 == busy ? resendTicks : Math.max(resendTicks, Math.min(resendTicks << busy, timeoutTicks / 2));
    }

    /**
     * Take one of the peer's RESENDs of this tick.
     */
    private boolean takeResend(final Peer peer)
    {
        if (peer.resendTick != ticks)
        {
            peer.resendTick = ticks;
            peer.resends = 0;
        }
        if (peer.resends < maxResendsPerPeerPerTick)
        {
            peer.resends++;
            return true;
        }
        return false;
    }

    /**
     * End a client RPC with a timeout error, and log it: the first one at once, later ones at most once every
     * {@link #LOG_INTERVAL_NS} with the count of those not logged, so a dead server costs a line, not a line per RPC.
     */
    private void fail(final Rpc rpc, final String why)
    {
        final String message = "RPC " + rpc.id + " to " + HostAddress.toString(rpc.peerAddress) + " port " +
            rpc.peerPort + " timed out: " + why;
        rpcs.failClient(rpc, new HomaTimeoutException(rpc.id, message, false));
        final long nowNs = clock.nanoTime();
        if (nowNs - nextLogNs >= 0 || Long.MIN_VALUE == nextLogNs)
        {
            nextLogNs = nowNs + LOG_INTERVAL_NS;
            if (0 == unloggedTimeouts)
            {
                LOG.warn(message);
            }
            else
            {
                LOG.warn("{} ({} more RPCs timed out since the last report)", message, unloggedTimeouts);
            }
            unloggedTimeouts = 0;
        }
        else
        {
            unloggedTimeouts++;
        }
    }

    private static String millis(final long ns)
    {
        return 0 == ns % 1_000_000 ? ns / 1_000_000 + " ms" : String.format("%.3f ms", ns / 1e6);
    }

    /**
     * NEED_ACK goes out after {@code requestAckTicks} of silence and then each time the silence has doubled (2, 4,
     * 8, 16, 32, 64 ticks by default): a client that answers needs one, and one that never does (gone, or an address
     * forged into a request) draws a handful before the RPC times out instead of one per tick.
     */
    private boolean isNeedAckTick(final int silentTicks)
    {
        if (silentTicks < requestAckTicks || 0 != silentTicks % requestAckTicks)
        {
            return false;
        }
        final int multiple = silentTicks / requestAckTicks;
        return 0 == (multiple & (multiple - 1));
    }

    /**
     * The peer left {@code timeoutResends} rounds of RESENDs unanswered: presume it dead and end every RPC with it
     * (draft section 6.4), rather than let each wait out its own {@code timeoutTicks}.
     */
    private int abortPeer(final Peer peer)
    {
        metrics.increment(HomaMetrics.PEER_TIMEOUTS);
        final int rounds = peer.unansweredResends;
        int aborted = 0;
        for (Rpc rpc = rpcs.first(); null != rpc; )
        {
            final Rpc next = rpc.allNext;
            if (rpc.peer == peer)
            {
                aborted++;
                if (rpc.client)
                {
                    metrics.increment(HomaMetrics.CLIENT_TIMEOUTS);
                    fail(rpc, "the server is presumed dead: " + rounds + " rounds of RESENDs went unanswered " +
                        "(timeoutResends " + timeoutResends + ")");
                }
                else
                {
                    metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                    rpcs.freeRpc(rpc);
                }
            }
            rpc = next;
        }
        peers.clearUnanswered(peer);
        return aborted;
    }
}
