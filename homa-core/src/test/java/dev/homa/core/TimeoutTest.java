package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FaultInjector;
import dev.homa.nic.loopback.Steppable;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayDeque;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A dead server gives the client a timeout error within the configured time; the RPC_UNKNOWN path
 * (server never saw the request: the client restarts it) and the BUSY path (server slower than the timeout: BUSY
 * answers keep the RPC alive) each work.
 */
class TimeoutTest
{
    private static final int PORT = 11;

    @Test
    @Timeout(30)
    void deadServerTimesOutWithinConfiguredTime()
    {
        final long tickNs = 1_000_000;
        final int timeoutTicks = 20;
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(),
            ctx -> ctx.tickNs(tickNs).timeoutTicks(timeoutTicks).resendTicks(3).resendIntervalTicks(3)))
        {
            cluster.transport(1).openSocket(PORT);
            cluster.fabric.hostDown(cluster.address(1), true);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final long startNs = cluster.sim.nowNs();
            final long id = client.homaSend(cluster.address(1), PORT, new UnsafeBuffer(new byte[5000]), 0, 5000, 42);
            final HomaMessage[] result = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (result[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                10 * timeoutTicks * tickNs));
            final long elapsedNs = cluster.sim.nowNs() - startNs;
            final HomaMessage error = result[0];
            assertTrue(error.isError());
            assertEquals(id, error.id());
            assertEquals(42, error.cookie());
            final HomaTimeoutException timeout = assertInstanceOf(HomaTimeoutException.class, error.error());
            assertEquals(id, timeout.rpcId());
            assertTrue(timeout.getMessage().contains("timed out"), timeout.getMessage());
            assertEquals(0, timeout.getStackTrace().length, "the protocol thread captures no stack of its own");
            assertTrue(elapsedNs >= timeoutTicks * tickNs && elapsedNs <= (timeoutTicks + 2) * tickNs,
                "timed out after " + elapsedNs + " ns; configured " + timeoutTicks + " ticks of " + tickNs);
            assertTrue(cluster.engine(0).metrics().get(HomaMetrics.RESENDS_REQUESTED) >= 3, "RESENDs before giving up");
            assertEquals(1, cluster.engine(0).metrics().get(HomaMetrics.CLIENT_TIMEOUTS));
            assertEquals(0, cluster.engine(0).rpcCount());
            assertEquals(0, client.outstandingRpcs());
            error.release();
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void lostRequestIsRestartedAfterRpcUnknown()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), ctx -> {}))
        {
            cluster.add(new Cluster.EchoServer(cluster.transport(1).openSocket(PORT)));
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[3000]);
            Cluster.fill(buffer, 3000, 3);
            // The request vanishes: the server never learns of the RPC.
            cluster.fabric.hostDown(cluster.address(1), true);
            client.homaSend(cluster.address(1), PORT, buffer, 0, 3000, 0);
            cluster.runUntil(() -> false, 100_000L);
            cluster.fabric.hostDown(cluster.address(1), false);
            final HomaMessage[] result = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (result[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                50_000_000L));
            assertEquals(HomaMessage.Kind.RESPONSE, result[0].kind(), () -> result[0].toString());
            Cluster.assertPayload(result[0], 3000, 3);
            result[0].release();
            assertTrue(cluster.engine(1).metrics().get(HomaMetrics.UNKNOWN_ANSWERS) >= 1, "server said RPC_UNKNOWN");
            assertTrue(cluster.engine(0).metrics().packetsReceived(PacketType.RPC_UNKNOWN) >= 1,
                "client received RPC_UNKNOWN");
            assertEquals(1, cluster.engine(0).metrics().get(HomaMetrics.CLIENT_RESTARTS), "client restarted");
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void aServerWhoseDriverDropsPacketsAnswersBusyForAnUnknownRequest()
    {
        // Every DATA packet to the server is lost for three timeouts, and its driver counts them as its kernel
        // would (a full socket). RPC_UNKNOWN would draw restart after restart into the same loss until the client
        // timed out; BUSY keeps the client waiting, and once the drops stop it restarts and is answered.
        final int timeoutTicks = 10;
        final long lossNs = 3L * timeoutTicks * TimerSettings.TICK_DEFAULT_NS;
        final boolean[] losing = {true};
        final long[] drops = {0};
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), 2,
            ctx -> ctx.timeoutTicks(timeoutTicks).resendTicks(2).resendIntervalTicks(2),
            (host, driver) -> 1 == host ? new ForwardingNicDriver(driver)
            {
                @Override
                public long receiveDrops()
                {
                    return drops[0];
                }
            } : driver))
        {
            final long server = cluster.address(1);
            cluster.fabric.faultInjector(new FaultInjector()
            {
                @Override
                public boolean shouldDrop(
                    final long source, final long destination, final DirectBuffer buffer, final int length)
                {
                    final boolean drop = losing[0] && server == destination &&
                        PacketType.DATA == HomaHeaderFlyweight.typeOf(buffer, 0);
                    drops[0] += drop ? 1 : 0;
                    return drop;
                }
            });
            cluster.add(new Cluster.EchoServer(cluster.transport(1).openSocket(PORT)));
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[3000]);
            Cluster.fill(buffer, 3000, 4);
            client.homaSend(server, PORT, buffer, 0, 3000, 0);
            final HomaMessage[] result = new HomaMessage[1];
            cluster.runUntil(() -> null != (result[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)), lossNs);
            assertNull(result[0], () -> "ended while its packets were lost: " + result[0]);
            final HomaMetrics serverMetrics = cluster.engine(1).metrics();
            assertTrue(serverMetrics.get(HomaMetrics.UNKNOWN_BUSY_ANSWERS) >= timeoutTicks / 2,
                "BUSY for the unknown request: " + serverMetrics.get(HomaMetrics.UNKNOWN_BUSY_ANSWERS));
            losing[0] = false;
            assertTrue(cluster.runUntil(() -> null != (result[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                lossNs));
            assertEquals(HomaMessage.Kind.RESPONSE, result[0].kind(), () -> result[0].toString());
            Cluster.assertPayload(result[0], 3000, 4);
            result[0].release();
            assertTrue(serverMetrics.get(HomaMetrics.UNKNOWN_ANSWERS) >= 1, "RPC_UNKNOWN once the drops stopped");
            assertTrue(cluster.engine(0).metrics().get(HomaMetrics.CLIENT_RESTARTS) >= 1, "the client restarted");
            assertEquals(0, cluster.engine(0).metrics().get(HomaMetrics.CLIENT_TIMEOUTS));
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void busyKeepsSlowServerAlive()
    {
        final int timeoutTicks = 10;
        final long serviceNs = 40_000_000;
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(),
            ctx -> ctx.timeoutTicks(timeoutTicks).resendTicks(2).resendIntervalTicks(2)))
        {
            echoThroughSlowServer(cluster, serviceNs, 5);
            assertTrue(cluster.sim.nowNs() >= serviceNs, "service took longer than the timeout");
            assertTrue(cluster.engine(1).metrics().get(HomaMetrics.BUSY_ANSWERS) >= 3, "server answered BUSY");
            assertTrue(cluster.engine(0).metrics().packetsReceived(PacketType.BUSY) >= 3, "client received BUSY");
            assertEquals(0, cluster.engine(0).metrics().get(HomaMetrics.CLIENT_TIMEOUTS));
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void aClientBacksOffWhileTheServerAnswersBusy()
    {
        // Defaults: a RESEND after 5 silent ticks, then after 10, 20 and 40 while BUSY answers come: at 5, 15, 35, 75
        // and 115 ms.
        final long resends = resendsWhileAServerServes150Ms(ctx -> {}, 9);
        assertTrue(resends >= 4 && resends <= 6, "RESENDs in 150 ms of BUSY answers: " + resends);
    }

    @Test
    @Timeout(30)
    void withoutBackoffAClientAsksEveryResendIntervalAsTheKernelDoes()
    {
        final long resends = resendsWhileAServerServes150Ms(ctx -> ctx.resendBackoff(0), 10);
        assertTrue(resends >= 28 && resends <= 30, "RESENDs in 150 ms, one per 5 ms: " + resends);
    }

    /**
     * One RPC to a server that takes 150 ms to answer: the client's RESENDs meanwhile, each answered with BUSY.
     */
    private static long resendsWhileAServerServes150Ms(
        final Consumer<HomaTransport.Context> configure, final long seed)
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), configure))
        {
            echoThroughSlowServer(cluster, 150_000_000, seed);
            final long resends = cluster.engine(0).metrics().get(HomaMetrics.RESENDS_REQUESTED);
            assertEquals(resends, cluster.engine(0).metrics().packetsReceived(PacketType.BUSY),
                "each answered with BUSY");
            assertEquals(0, cluster.engine(0).metrics().get(HomaMetrics.CLIENT_TIMEOUTS));
            cluster.assertNoErrors();
            return resends;
        }
    }

    @Test
    @Timeout(30)
    void aDeadServerTimesOutRpcsWaitingForTheirTurnToAsk()
    {
        // 200 RPCs, two of which may ask each tick: while the dead server answers nothing, the RPCs waiting for a
        // turn count their silence all the same and end with the others, not after 100 turns.
        final long tickNs = 1_000_000;
        final int timeoutTicks = 20;
        final int calls = 200;
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(),
            ctx -> ctx.tickNs(tickNs).timeoutTicks(timeoutTicks).resendTicks(3).resendIntervalTicks(3)
                .maxResendsPerPeerPerTick(2)))
        {
            cluster.transport(1).openSocket(PORT);
            cluster.fabric.hostDown(cluster.address(1), true);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final long startNs = cluster.sim.nowNs();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
            for (int i = 0; i < calls; i++)
            {
                client.homaSend(cluster.address(1), PORT, request, 0, 100, i);
            }
            final int[] timedOut = {0};
            assertTrue(cluster.runUntil(() ->
            {
                HomaMessage message;
                while (null != (message = client.homaRecv(HomaSocket.RECV_RESPONSE)))
                {
                    assertInstanceOf(HomaTimeoutException.class, message.error());
                    message.release();
                    timedOut[0]++;
                }
                return calls == timedOut[0];
            }, 10 * timeoutTicks * tickNs));
            final long elapsedNs = cluster.sim.nowNs() - startNs;
            final HomaMetrics metrics = cluster.engine(0).metrics();
            System.out.println(calls + " RPCs to a dead server: all ended after " + elapsedNs / 1_000 + " us; " +
                "RESENDs " + metrics.get(HomaMetrics.RESENDS_REQUESTED) + ", deferred " +
                metrics.get(HomaMetrics.RESENDS_DEFERRED));
            // The first two rounds of RESENDs go unanswered before the waiting RPCs count their silence.
            assertTrue(elapsedNs <= (timeoutTicks + 2 * 3 + 2) * tickNs, "ended after " + elapsedNs + " ns");
            assertTrue(metrics.get(HomaMetrics.RESENDS_DEFERRED) > 0, "RPCs waited for a turn");
            assertTrue(metrics.get(HomaMetrics.RESENDS_REQUESTED) <= 2L * elapsedNs / tickNs,
                "at most two RPCs asked each tick: " + metrics.get(HomaMetrics.RESENDS_REQUESTED));
            assertEquals(calls, metrics.get(HomaMetrics.CLIENT_TIMEOUTS));
            assertEquals(0, client.outstandingRpcs());
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void deadPeerEndsAllItsRpcsOnceItsResendsGoUnanswered()
    {
        final long tickNs = 1_000_000;
        final int rounds = 3;
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(),
            ctx -> ctx.tickNs(tickNs).timeoutTicks(1000).resendTicks(3).resendIntervalTicks(3)
                .timeoutResends(rounds)))
        {
            cluster.transport(1).openSocket(PORT);
            cluster.fabric.hostDown(cluster.address(1), true);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final long startNs = cluster.sim.nowNs();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[5000]);
            for (int i = 0; i < 4; i++)
            {
                client.homaSend(cluster.address(1), PORT, request, 0, 5000, i);
            }
            final HomaMessage[] errors = new HomaMessage[4];
            final int[] count = {0};
            assertTrue(cluster.runUntil(() ->
            {
                HomaMessage message;
                while (null != (message = client.homaRecv(HomaSocket.RECV_RESPONSE)))
                {
                    errors[count[0]++] = message;
                }
                return 4 == count[0];
            }, 100 * tickNs), "all four RPCs ended long before their own 1000-tick timeout");
            final long elapsedNs = cluster.sim.nowNs() - startNs;
            // RESEND rounds at silent ticks 3, 6 and 9 go unanswered; the next RESEND due (tick 12) finds the peer
            // dead instead.
            assertTrue(elapsedNs >= 12 * tickNs && elapsedNs <= 14 * tickNs, "ended after " + elapsedNs + " ns");
            for (final HomaMessage error : errors)
            {
                assertTrue(error.isError());
                final HomaTimeoutException timeout = assertInstanceOf(HomaTimeoutException.class, error.error());
                assertTrue(timeout.getMessage().contains("presumed dead"), timeout.getMessage());
                error.release();
            }
            final HomaMetrics metrics = cluster.engine(0).metrics();
            assertEquals(1, metrics.get(HomaMetrics.PEER_TIMEOUTS));
            assertEquals(4, metrics.get(HomaMetrics.CLIENT_TIMEOUTS));
            assertEquals(0, cluster.engine(0).rpcCount());
            assertEquals(0, client.outstandingRpcs());
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void aServerFreesTheRpcsOfAClientThatDied()
    {
        final long tickNs = 1_000_000;
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(),
            ctx -> ctx.tickNs(tickNs).timeoutTicks(1000).resendTicks(2).resendIntervalTicks(2).timeoutResends(2)))
        {
            cluster.transport(1).openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            // Long enough to need grants: the server holds a partial request when the client goes.
            final int length = 500_000;
            client.homaSend(cluster.address(1), PORT, new UnsafeBuffer(new byte[length]), 0, length, 0);
            assertTrue(cluster.runUntil(() -> 1 == cluster.engine(1).serverRpcCount(), 10 * tickNs));
            cluster.fabric.hostDown(cluster.address(0), true);
            final long downNs = cluster.sim.nowNs();
            assertTrue(cluster.runUntil(() -> 0 == cluster.engine(1).serverRpcCount(), 100 * tickNs),
                "the server freed the RPC long before its own 1000-tick timeout");
            assertTrue(cluster.sim.nowNs() - downNs <= 10 * tickNs, "after " + (cluster.sim.nowNs() - downNs) + " ns");
            assertEquals(1, cluster.engine(1).metrics().get(HomaMetrics.PEER_TIMEOUTS));
            assertEquals(1, cluster.engine(1).metrics().get(HomaMetrics.SERVER_TIMEOUTS));
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void aPeerThatAnswersIsNotPresumedDead()
    {
        final long serviceNs = 40_000_000;
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(),
            ctx -> ctx.timeoutTicks(1000).resendTicks(2).resendIntervalTicks(2).timeoutResends(2)))
        {
            echoThroughSlowServer(cluster, serviceNs, 7);
            assertTrue(cluster.engine(0).metrics().get(HomaMetrics.RESENDS_REQUESTED) >= 3, "RESENDs went out");
            assertTrue(cluster.engine(0).metrics().packetsReceived(PacketType.BUSY) >= 3,
                "and were answered with BUSY");
            assertEquals(0, cluster.engine(0).metrics().get(HomaMetrics.PEER_TIMEOUTS));
            cluster.assertNoErrors();
        }
    }

    /**
     * One 20 KB RPC from host 0 to an echo server on host 1 that answers only after {@code serviceNs}: the response
     * must come back byte-exact within 200 ms of virtual time.
     */
    private static void echoThroughSlowServer(final Cluster cluster, final long serviceNs, final long seed)
    {
        final HomaSocket server = cluster.transport(1).openSocket(PORT);
        cluster.add(new SlowServer(server, serviceNs, cluster));
        final HomaSocket client = cluster.transport(0).openSocket(0);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[20_000]);
        Cluster.fill(buffer, 20_000, seed);
        client.homaSend(cluster.address(1), PORT, buffer, 0, 20_000, 0);
        final HomaMessage[] result = new HomaMessage[1];
        assertTrue(cluster.runUntil(() -> null != (result[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
            200_000_000L));
        assertEquals(HomaMessage.Kind.RESPONSE, result[0].kind(), () -> result[0].toString());
        Cluster.assertPayload(result[0], 20_000, seed);
        result[0].release();
    }

    /** Replies (echo) only after a fixed service time in virtual time. */
    private static final class SlowServer implements Steppable
    {
        private final HomaSocket socket;
        private final long serviceNs;
        private final Cluster cluster;
        private final ArrayDeque<Object[]> pending = new ArrayDeque<>();
        private final UnsafeBuffer scratch = new UnsafeBuffer(new byte[1_000_000]);

        SlowServer(final HomaSocket socket, final long serviceNs, final Cluster cluster)
        {
            this.socket = socket;
            this.serviceNs = serviceNs;
            this.cluster = cluster;
        }

        @Override
        public int doWork()
        {
            int work = 0;
            final HomaMessage request = socket.homaRecv(HomaSocket.RECV_REQUEST);
            if (null != request)
            {
                pending.add(new Object[]{ request, cluster.sim.nowNs() + serviceNs });
                work++;
            }
            final Object[] head = pending.peekFirst();
            if (null != head && (long)head[1] <= cluster.sim.nowNs())
            {
                pending.pollFirst();
                final HomaMessage m = (HomaMessage)head[0];
                m.getBytes(0, scratch, 0, m.length());
                socket.homaReply(m, scratch, 0, m.length());
                m.release();
                work++;
            }
            return work;
        }

        @Override
        public long nextDeadlineNs()
        {
            final Object[] head = pending.peekFirst();
            return null == head ? Long.MAX_VALUE : (long)head[1];
        }
    }
}
