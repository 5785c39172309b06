package dev.homa.core.engine;

import dev.homa.core.HomaTimeoutException;
import dev.homa.core.HomaTransport;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.HostAddress;
import org.agrona.concurrent.CachedNanoClock;

/**
 * The periodic tick over every live RPC: counts ticks of silence while the peer owes us packets (never while we owe
 * it, while the application serves a request, or while everything granted has arrived), asks for missing bytes
 * (RESEND) after {@code resendTicks} and then every {@code resendIntervalTicks}, asks a client to acknowledge a sent
 * response (NEED_ACK), and ends an RPC silent for {@code timeoutTicks}. The same tick evicts idle peers and retries
 * messages waiting for receive pages.
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
    private long ticks;

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
            rpc.silentTicks++;
            if (rpc.silentTicks >= timeoutTicks)
            {
                metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                rpcs.freeRpc(rpc);
                return 1;
            }
            if (out.fullySent() && rpc.silentTicks >= requestAckTicks)
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
            resendRequester.requestRetransmission(rpc);
            return 1;
        }
        return 0;
    }
}
