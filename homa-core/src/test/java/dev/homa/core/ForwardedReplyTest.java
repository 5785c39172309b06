package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.RandomFaultInjector;
import dev.homa.nic.loopback.Steppable;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.SplittableRandom;

import static dev.homa.core.ModeTransports.launch;
import static dev.homa.core.ModeTransports.receive;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code homaReply(request, body)}: a reply made of a received message's receive-pool pages, with no copy into the
 * send pool. Its bytes arrive exact, also when they are sent again after loss (retransmissions read the same pages);
 * the pages go back to the receive pool when the RPC ends, and the send pool is never touched; misuse throws.
 */
class ForwardedReplyTest
{
    private static final int PORT = 77;

    @Test
    @Timeout(120)
    void forwardedRepliesArriveExactThroughLossAndFreeTheirPages()
    {
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("ForwardedReplyTest seed=" + seed);
        final RandomFaultInjector faults = new RandomFaultInjector(seed).lossRate(0.05);
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).faultInjector(faults)
            .packetPoolSize(4096).build();
        try (Cluster cluster = new Cluster(fabric, ctx -> {}))
        {
            final ForwardingEcho server = new ForwardingEcho(cluster.transport(1).openSocket(PORT), cluster.engine(1));
            cluster.add(server);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer source = new UnsafeBuffer(new byte[1_000_000 + 65_536]);
            Cluster.fill(source, source.capacity(), seed);
            final SplittableRandom random = new SplittableRandom(seed);
            // A slot-sized message, one of a few packets, and multi-page ones up to the maximum.
            final int[] sizes = { 1, 1_000, 2_048, 5_000, 70_000, 300_000, 1_000_000 };
            final int rpcs = 40;
            int completed = 0;
            for (int i = 0; i < rpcs; i++)
            {
                final int size = sizes[i % sizes.length];
                final int offset = random.nextInt(65_536);
                final long id = client.homaSend(cluster.address(1), PORT, source, offset, size, i);
                final HomaMessage[] response = new HomaMessage[1];
                assertTrue(cluster.runUntil(() -> null != (response[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                    60_000_000_000L), "response to RPC " + i + " of " + size + " bytes, seed " + seed);
                final HomaMessage r = response[0];
                assertTrue(!r.isError(), () -> "RPC failed: " + r + ", seed " + seed);
                assertEquals(id, r.id());
                final byte[] expected = new byte[size];
                source.getBytes(offset, expected);
                assertArrayEquals(expected, r.toByteArray(), "reply of " + size + " bytes, seed " + seed);
                r.release();
                completed++;
            }
            assertEquals(rpcs, completed);
            final HomaEngine serverEngine = cluster.engine(1);
            assertTrue(cluster.runUntil(() -> 0 == serverEngine.rpcCount(), 5_000_000_000L),
                "ACKs free every server RPC");
            assertEquals(rpcs, serverEngine.metrics().get(HomaMetrics.FORWARDED_REPLIES), "replies without a copy");
            assertTrue(serverEngine.metrics().get(HomaMetrics.RETRANSMITTED_PACKETS) > 0,
                "some reply bytes were sent again from the receive pool, seed " + seed);
            assertEquals(0, serverEngine.receivePagesInUse(), "the replies' pages went back to the receive pool");
            assertEquals(0, server.sendPagesSeen, "a forwarded reply takes no send-pool pages");
            cluster.assertNoErrors();
        }
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    @Timeout(30)
    void aBodyIsConsumedAndMisuseThrows(final ThreadingMode mode)
    {
        // INVOKER: this thread runs both duty cycles, so the reply starts inline. DEDICATED: the body is queued for
        // the protocol thread.
        final boolean invoker = ThreadingMode.INVOKER == mode;
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(3).build();
        try (HomaTransport client = launch(mode, fabric, 0);
            HomaTransport server = launch(mode, fabric, 1);
            HomaTransport other = launch(mode, fabric, 2))
        {
            final HomaSocket clientSocket = client.openSocket(0);
            final HomaSocket serverSocket = server.openSocket(PORT);
            final HomaSocket otherSocket = other.openSocket(PORT);
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[150_000]);
            Cluster.fill(payload, payload.capacity(), 7);
            if (invoker)
            {
                client.doWork();
                server.doWork();
                other.doWork();
            }
            final long id = clientSocket.homaSend(server.context().driver().localAddress(), PORT, payload, 0,
                payload.capacity(), 1);
            clientSocket.homaSend(other.context().driver().localAddress(), PORT, payload, 0, 10, 2);
            final HomaMessage request = receive(mode, serverSocket, HomaSocket.RECV_REQUEST, client, server, other);
            final HomaMessage foreign = receive(mode, otherSocket, HomaSocket.RECV_REQUEST, client, server, other);

            assertThrows(HomaException.class, () -> serverSocket.homaReply(request, foreign),
                "a body from another transport");
            serverSocket.homaReply(request, request);
            assertThrows(IllegalStateException.class, request::length, "the body is no longer the caller's");
            assertThrows(IllegalStateException.class, request::release, "nor can it be released again");
            assertThrows(IllegalStateException.class, () -> serverSocket.homaReply(request, request),
                "one reply per request");
            foreign.release();

            final HomaMessage response = receive(mode, clientSocket, HomaSocket.RECV_RESPONSE, client, server, other);
            assertEquals(id, response.id());
            final byte[] expected = new byte[payload.capacity()];
            payload.getBytes(0, expected);
            assertArrayEquals(expected, response.toByteArray(), "the request's own bytes came back");
            response.release();
            assertEquals(1, server.metrics().get(HomaMetrics.FORWARDED_REPLIES));
        }
        finally
        {
            fabric.close();
        }
    }

    /** Answers every request with itself, and notes the most send-pool pages the server ever held. */
    private static final class ForwardingEcho implements Steppable
    {
        private final HomaSocket socket;
        private final HomaEngine engine;
        long sendPagesSeen;

        ForwardingEcho(final HomaSocket socket, final HomaEngine engine)
        {
            this.socket = socket;
            this.engine = engine;
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage request;
            while (null != (request = socket.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                socket.homaReply(request, request);
                work++;
            }
            sendPagesSeen = Math.max(sendPagesSeen, engine.sendPagesInUse());
            return work;
        }
    }
}
