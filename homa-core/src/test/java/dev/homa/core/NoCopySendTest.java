package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.RandomFaultInjector;
import dev.homa.nic.loopback.Steppable;
import org.agrona.BufferUtil;
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
 * {@link HomaSocket#SEND_NO_COPY}: a request sent from the application's own off-heap memory. Its bytes arrive exact,
 * also when DATA is sent again after loss (retransmissions read the same memory), the send pool is never used, and
 * the flag is refused for memory the garbage collector may move.
 */
class NoCopySendTest
{
    private static final int PORT = 78;

    @Test
    @Timeout(120)
    void lentRequestsArriveExactThroughLossWithoutTheSendPool()
    {
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("NoCopySendTest seed=" + seed);
        final RandomFaultInjector faults = new RandomFaultInjector(seed).lossRate(0.05);
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).faultInjector(faults)
            .packetPoolSize(4096).build();
        try (Cluster cluster = new Cluster(fabric, ctx -> {}))
        {
            cluster.add(new Cluster.EchoServer(cluster.transport(1).openSocket(PORT)));
            final HomaEngine clientEngine = cluster.engine(0);
            final long[] sendPagesSeen = new long[1];
            cluster.add((Steppable)() ->
            {
                sendPagesSeen[0] = Math.max(sendPagesSeen[0], clientEngine.sendPagesInUse());
                return 0;
            });
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer source = new UnsafeBuffer(BufferUtil.allocateDirectAligned(1_000_000 + 65_536, 64));
            Cluster.fill(source, source.capacity(), seed);
            final SplittableRandom random = new SplittableRandom(seed);
            final int[] sizes = { 1, 1_000, 2_048, 5_000, 70_000, 300_000, 1_000_000 };
            final int rpcs = 40;
            for (int i = 0; i < rpcs; i++)
            {
                final int size = sizes[i % sizes.length];
                final int offset = random.nextInt(65_536);
                final long id = client.homaSend(cluster.address(1), PORT, source, offset, size, i,
                    HomaSocket.SEND_NO_COPY);
                final HomaMessage[] response = new HomaMessage[1];
                assertTrue(cluster.runUntil(() -> null != (response[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                    60_000_000_000L), "response to RPC " + i + " of " + size + " bytes, seed " + seed);
                final HomaMessage r = response[0];
                assertTrue(!r.isError(), () -> "RPC failed: " + r + ", seed " + seed);
                assertEquals(id, r.id());
                final byte[] expected = new byte[size];
                source.getBytes(offset, expected);
                assertArrayEquals(expected, r.toByteArray(), "echo of " + size + " lent bytes, seed " + seed);
                r.release();
            }
            assertEquals(rpcs, clientEngine.metrics().get(HomaMetrics.LENT_REQUESTS));
            assertTrue(clientEngine.metrics().get(HomaMetrics.RETRANSMITTED_PACKETS) > 0,
                "some request bytes were sent again from the lent memory, seed " + seed);
            assertEquals(0, sendPagesSeen[0], "a lent request takes no send-pool pages");
            cluster.assertNoErrors();
        }
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    @Timeout(30)
    void aLentRequestGoesInlineOrThroughTheRingAndHeapMemoryIsRefused(final ThreadingMode mode)
    {
        // INVOKER: this thread runs both duty cycles, so the request starts inline. DEDICATED (protocol threads, UDP
        // on loopback): the request's address goes through the command ring.
        final boolean invoker = ThreadingMode.INVOKER == mode;
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
        try (HomaTransport client = launch(mode, fabric, 0);
            HomaTransport server = launch(mode, fabric, 1))
        {
            final HomaSocket clientSocket = client.openSocket(0);
            final HomaSocket serverSocket = server.openSocket(PORT);
            final long serverAddress = server.context().driver().localAddress();
            final UnsafeBuffer heap = new UnsafeBuffer(new byte[1_000]);
            assertThrows(HomaException.class, () -> clientSocket.homaSend(serverAddress, PORT, heap, 0, 1_000, 0,
                HomaSocket.SEND_NO_COPY), "a byte[] may move");
            assertThrows(HomaException.class, () -> clientSocket.homaSend(serverAddress, PORT, heap, 0, 1_000, 0, 2),
                "unknown flag");
            assertEquals(0, clientSocket.outstandingRpcs(), "refused sends start no RPC");
            final UnsafeBuffer lent = new UnsafeBuffer(BufferUtil.allocateDirectAligned(150_000, 64));
            Cluster.fill(lent, lent.capacity(), 11);
            if (invoker)
            {
                client.doWork();
                server.doWork();
            }
            final long id = clientSocket.homaSend(serverAddress, PORT, lent, 0, lent.capacity(), 3,
                HomaSocket.SEND_NO_COPY);
            final HomaMessage request = receive(mode, serverSocket, HomaSocket.RECV_REQUEST, client, server);
            Cluster.assertPayload(request, lent.capacity(), 11);
            serverSocket.homaReply(request, request);
            final HomaMessage response = receive(mode, clientSocket, HomaSocket.RECV_RESPONSE, client, server);
            assertEquals(id, response.id());
            assertEquals(3L, response.cookie());
            final byte[] expected = new byte[lent.capacity()];
            lent.getBytes(0, expected);
            assertArrayEquals(expected, response.toByteArray());
            response.release();
            assertEquals(1, client.metrics().get(HomaMetrics.LENT_REQUESTS));
        }
        finally
        {
            fabric.close();
        }
    }
}
