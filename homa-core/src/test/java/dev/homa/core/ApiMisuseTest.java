package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.HostAddress;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.Steppable;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an application can get wrong, and what it must never see: every RPC ends (a destination no driver can reach
 * fails at once, a future the application gives up aborts its RPC, a deadline ends it, a timeout says how long in
 * milliseconds), a released message cannot be read, a request cannot be answered twice, and a burst of calls to a
 * slow server is answered, not timed out.
 */
class ApiMisuseTest
{
    private static final int PORT = 50;
    private static final long MS = 1_000_000L;

    @Test
    @Timeout(30)
    void aUdpDestinationWithoutAPortIsRefusedAtSend()
    {
        try (HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
            .driverUri("udp://127.0.0.1:0").threadingMode(ThreadingMode.DEDICATED)))
        {
            final HomaSocket socket = transport.openSocket(0);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            final HomaException send = assertThrows(HomaException.class,
                () -> socket.homaSend(HostAddress.parseIpv4("127.0.0.1"), PORT, request, 0, 8, 0));
            assertTrue(send.getMessage().contains("no UDP port"), send.getMessage());
            assertThrows(HomaException.class,
                () -> socket.call(HostAddress.parseIpv4("224.0.0.1:4000"), PORT, request, 0, 8));
            assertEquals(0, socket.outstandingRpcs(), "nothing started");
        }
    }

    @Test
    @Timeout(30)
    void aFutureTheApplicationGivesUpAbortsItsRpc()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(), ctx -> { }))
        {
            // The server takes requests and never answers: only the client's side can end these RPCs.
            cluster.transport(0).openSocket(PORT);
            final HomaSocket client = cluster.transport(1).openSocket(0);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
            final CompletableFuture<HomaMessage> cancelled = client.call(cluster.address(0), PORT, request, 0, 100);
            final CompletableFuture<HomaMessage> timedOut = client.call(cluster.address(0), PORT, request, 0, 100);
            cluster.runUntil(() -> false, 5 * MS);
            assertEquals(2, cluster.engine(1).rpcCount());
            assertTrue(cancelled.cancel(true));
            // What orTimeout does when its time comes.
            assertTrue(timedOut.completeExceptionally(new TimeoutException()));
            cluster.runUntil(() -> false, MS);
            assertEquals(0, cluster.engine(1).rpcCount(), "both RPCs ended");
            assertEquals(0, client.outstandingRpcs());
            assertEquals(2, cluster.engine(1).metrics().get(HomaMetrics.RPCS_ABORTED));
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void aCallWithADeadlineEndsWhenItPasses() throws Exception
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(), ctx -> { }))
        {
            cluster.transport(0).openSocket(PORT);
            final HomaSocket client = cluster.transport(1).openSocket(0);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
            final long startNs = cluster.sim.nowNs();
            final CompletableFuture<HomaMessage> call =
                client.call(cluster.address(0), PORT, request, 0, 100, 20, TimeUnit.MILLISECONDS);
            assertTrue(cluster.runUntil(call::isDone, 60 * MS), "the server keeps the RPC alive with BUSY");
            final long elapsedNs = cluster.sim.nowNs() - startNs;
            assertTrue(elapsedNs >= 20 * MS && elapsedNs <= 22 * MS, "ended after " + elapsedNs + " ns");
            final ExecutionException failure = assertThrows(ExecutionException.class, call::get);
            final HomaTimeoutException timeout = assertInstanceOf(HomaTimeoutException.class, failure.getCause());
            assertTrue(timeout.getMessage().contains("deadline"), timeout.getMessage());
            assertEquals(0, cluster.engine(1).rpcCount());
            assertEquals(1, cluster.engine(1).metrics().get(HomaMetrics.DEADLINES_EXPIRED));
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void aTimeoutSaysHowLongInMilliseconds()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(), ctx -> { }))
        {
            cluster.fabric.hostDown(cluster.address(0), true);
            final HomaSocket client = cluster.transport(1).openSocket(0);
            client.homaSend(cluster.address(0), PORT, new UnsafeBuffer(new byte[100]), 0, 100, 0);
            final HomaMessage[] result = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (result[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                200 * MS));
            final String message = result[0].error().getMessage();
            assertTrue(message.contains("no packet from the server for 100 ms"), message);
            result[0].release();
        }
    }

    @Test
    @Timeout(30)
    void aReleasedMessageCannotBeReadAndARequestIsAnsweredOnce()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(), ctx -> { }))
        {
            final HomaSocket server = cluster.transport(0).openSocket(PORT);
            final HomaSocket client = cluster.transport(1).openSocket(0);
            final UnsafeBuffer bytes = new UnsafeBuffer(new byte[100]);
            client.homaSend(cluster.address(0), PORT, bytes, 0, 100, 0);
            final HomaMessage[] request = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (request[0] = server.homaRecv(HomaSocket.RECV_REQUEST)), MS));
            server.homaReply(request[0], bytes, 0, 100);
            final HomaException twice = assertThrows(HomaException.class,
                () -> server.homaReply(request[0], bytes, 0, 100));
            assertTrue(twice.getMessage().contains("already answered"), twice.getMessage());
            request[0].release();
            assertThrows(IllegalStateException.class, request[0]::length);
            assertThrows(IllegalStateException.class, () -> request[0].segment(0));
            assertThrows(IllegalStateException.class, () -> request[0].getByte(0));
            assertThrows(IllegalStateException.class, request[0]::toByteArray);
            assertThrows(IllegalStateException.class, () -> server.homaReply(request[0], bytes, 0, 100));
            assertEquals("HomaMessage{released}", request[0].toString());
            final HomaMessage[] response = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (response[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                MS));
            response[0].release();
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(60)
    void aBurstOfCallsToASlowServerIsAnsweredNotTimedOut() throws Exception
    {
        final int calls = 2_000;
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), ctx -> { }))
        {
            final HomaSocket server = cluster.transport(0).openSocket(PORT);
            // One request served every 100 us: the last of the burst waits 200 ms, twice the RPC timeout, while
            // the server answers every probe with BUSY.
            cluster.add(new Steppable()
            {
                private long nextNs;

                @Override
                public int doWork()
                {
                    final long now = cluster.sim.nowNs();
                    if (now < nextNs)
                    {
                        return 0;
                    }
                    final HomaMessage request = server.homaRecv(HomaSocket.RECV_REQUEST);
                    if (null == request)
                    {
                        return 0;
                    }
                    nextNs = now + 100_000;
                    final UnsafeBuffer copy = new UnsafeBuffer(request.toByteArray());
                    server.homaReply(request, copy, 0, copy.capacity());
                    request.release();
                    return 1;
                }

                @Override
                public long nextDeadlineNs()
                {
                    return nextNs > cluster.sim.nowNs() ? nextNs : Long.MAX_VALUE;
                }
            });
            final HomaSocket client = cluster.transport(1).openSocket(0);
            final long startNs = cluster.sim.nowNs();
            final List<CompletableFuture<HomaMessage>> futures = new ArrayList<>();
            for (int i = 0; i < calls; i++)
            {
                futures.add(client.call(cluster.address(0), PORT, new UnsafeBuffer(new byte[64 + i % 2000]), 0,
                    64 + i % 2000));
            }
            assertTrue(cluster.runUntil(() -> futures.stream().allMatch(CompletableFuture::isDone), 2_000 * MS));
            int failed = 0;
            for (final CompletableFuture<HomaMessage> future : futures)
            {
                if (future.isCompletedExceptionally())
                {
                    failed++;
                }
                else
                {
                    future.get().release();
                }
            }
            final long ticks = (cluster.sim.nowNs() - startNs) / MS;
            final HomaMetrics metrics = cluster.engine(1).metrics();
            System.out.println(calls + " calls: " + failed + " failed in " + ticks + " ms, client timeouts " +
                metrics.get(HomaMetrics.CLIENT_TIMEOUTS) + ", RESENDs " + metrics.get(HomaMetrics.RESENDS_REQUESTED) +
                ", deferred " + metrics.get(HomaMetrics.RESENDS_DEFERRED) + ", server answers limited " +
                cluster.engine(0).metrics().get(HomaMetrics.ANSWERS_LIMITED));
            assertEquals(0, failed, "every call answered");
            // The calls waiting at the server ask it at a bounded rate, not each one every interval.
            assertTrue(metrics.get(HomaMetrics.RESENDS_REQUESTED) <=
                (ticks + 1) * TimerSettings.MAX_RESENDS_PER_PEER_PER_TICK_DEFAULT);
            assertNotNull(client);
            cluster.assertNoErrors();
        }
    }
}
