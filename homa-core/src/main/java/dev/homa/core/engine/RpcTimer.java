package dev.homa.core.engine;

import dev.homa.core.HomaTimeoutException;
import dev.homa.core.HomaTransport;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.HostAddress;
import org.agrona.concurrent.CachedNanoClock;

/**
 * The periodic tick over every live RPC: counts ticks of silence while the peer owes us packets (never while we owe
 * it, while the application serves a request, while a server sends its response, or while everything granted has
 * arrived), asks for missing bytes (RESEND) after {@code resendTicks} and then every {@code resendIntervalTicks}, asks
 * a client to acknowledge a sent response (NEED_ACK), and ends an RPC silent for {@code timeoutTicks}. With {@code timeoutResends} set, a peer
 * that left that many rounds of RESENDs unanswered is presumed dead and all its RPCs end at once. The same tick
 * evicts idle peers and retries messages waiting for receive pages.
 */
final class RpcTimer
{
    private final RpcTable rpcs;
    private final ControlSender controlSender;
    private final ResendRequester resendRequester;
    private final InboundAllocator allocator;
    private final PeerTable peers;
    private final HomaMetrics metrics;
    private final CachedNanoClock clock;
    private final long tickNs;
    private final int resendTicks;
    private final int resendIntervalTicks;
    private final int timeoutTicks;
    private final int requestAckTicks;
    private final int timeoutResends;
    private long ticks;
    private Peer deadPeer;

    /**
     * @param ctx             concluded context (tick and its multiples).
     * @param rpcs            the live RPCs.
     * @param controlSender   sends NEED_ACK.
     * @param resendRequester sends RESENDs.
     * @param allocator       messages waiting for receive pages.
     * @param peers           the peer table.
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
        final HomaMetrics metrics,
        final CachedNanoClock clock)
    {
        this.rpcs = rpcs;
        this.controlSender = controlSender;
        this.resendRequester = resendRequester;
        this.allocator = allocator;
        this.peers = peers;
        this.metrics = metrics;
        this.clock = clock;
        this.tickNs = ctx.tickNs();
        this.resendTicks = ctx.resendTicks();
        this.resendIntervalTicks = ctx.resendIntervalTicks();
        this.timeoutTicks = ctx.timeoutTicks();
        this.requestAckTicks = ctx.requestAckTicks();
        this.timeoutResends = ctx.timeoutResends();
    }

    /**
     * One tick over every live RPC, then peer eviction and the receive-page retry.
     *
     * @return RPCs acted on.
     */
    int onTick()
    {
        ticks++;
        int work = 0;
        for (Rpc rpc = rpcs.first(); null != rpc; )
        {
            final Rpc next = rpc.allNext;
            work += checkRpc(rpc);
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

    private int checkRpc(final Rpc rpc)
    {
        if (!rpc.client && Rpc.STATE_IN_SERVICE == rpc.state)
        {
            rpc.silentTicks = 0;
            return 0;
        }
        final OutboundMessage out = rpc.out;
        final boolean sending = rpc.client ? Rpc.STATE_OUTGOING_REQUEST == rpc.state :
            Rpc.STATE_RESPONDING == rpc.state;
        if (sending && out.hasTransmittable())
        {
            // The ball is in our court: we hold granted bytes not yet sent.
            rpc.silentTicks = 0;
            return 0;
        }
        final InboundMessage in = rpc.in;
        if (in.waitingForPages)
        {
            rpc.silentTicks = 0;
            return 0;
        }
        if (!rpc.client && Rpc.STATE_RESPONDING == rpc.state)
        {
            if (!out.fullySent())
            {
                // Waiting for the client's grants: a server never gives up on a response it is sending (the
                // kernel's timer counts no silence for it), so a client that holds the response back, e.g. for
                // receive buffer space, still gets it.
                rpc.silentTicks = 0;
                return 0;
            }
            rpc.silentTicks++;
            if (rpc.silentTicks >= timeoutTicks)
            {
                // Every byte sent, NEED_ACK every tick, and nothing at all from the client for timeoutTicks (a live
                // client answers each NEED_ACK with an ACK or a RESEND): it is gone. The kernel would keep the RPC.
                metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                rpcs.freeRpc(rpc);
                return 1;
            }
            if (rpc.silentTicks >= requestAckTicks)
            {
                controlSender.sendControl(PacketType.NEED_ACK, rpc.socket.port, rpc.peerPort, rpc.id, rpc.peerAddress);
                return 1;
            }
            return 0;
        }
        if (in.started() && !in.complete() && 0 == in.gapCount &&
            in.highest >= Math.min(in.length, Math.max(in.incoming, in.grantState.grantedOffset())))
        {
            // Everything we granted has arrived; silence is expected until our scheduler grants more.
            rpc.silentTicks = 0;
            return 0;
        }
        rpc.silentTicks++;
        if (rpc.silentTicks >= timeoutTicks)
        {
            if (rpc.client)
            {
                metrics.increment(HomaMetrics.CLIENT_TIMEOUTS);
                rpcs.failClient(rpc, new HomaTimeoutException(rpc.id, "RPC " + rpc.id + " to " +
                    HostAddress.toString(rpc.peerAddress) + " port " + rpc.peerPort + " timed out: server silent for " +
                    rpc.silentTicks + " ticks of " + tickNs + " ns (timeoutTicks " + timeoutTicks + ")"));
            }
            else
            {
                metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                rpcs.freeRpc(rpc);
            }
            return 1;
        }
        if (rpc.silentTicks >= resendTicks && 0 == (rpc.silentTicks - resendTicks) % resendIntervalTicks)
        {
            if (0 != timeoutResends)
            {
                final Peer peer = rpc.peer;
                if (peer.unansweredResends >= timeoutResends && ticks - peer.lastResendTick >= resendIntervalTicks)
                {
                    // The last round had a whole interval to be answered (other RPCs of the peer may have counted
                    // it in this very tick). One dead peer per tick, as the kernel's timer: others on the next.
                    if (null == deadPeer)
                    {
                        deadPeer = peer;
                    }
                    return 0;
                }
                peers.onResendSent(peer, ticks, resendIntervalTicks);
            }
            resendRequester.requestRetransmission(rpc);
            return 1;
        }
        return 0;
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
                    rpcs.failClient(rpc, new HomaTimeoutException(rpc.id, "RPC " + rpc.id + " to " +
                        HostAddress.toString(rpc.peerAddress) + " port " + rpc.peerPort + " timed out: the peer " +
                        "is presumed dead, " + rounds + " rounds of RESENDs went unanswered (timeoutResends " +
                        timeoutResends + ")"));
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
