package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Freeing server state: acks piggybacked on the next request, NEED_ACK / ACK after request_ack_ticks, explicit ACK
 * packets when a peer's ack store (5) fills, and abort of a client RPC.
 */
class AckTest
{
    private static final int PORT = 31;

    @Test
    @Timeout(30)
    void piggybackedAcksThenNeedAckFreeServerState()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), ctx -> {}))
        {
            cluster.add(new Cluster.EchoServer(cluster.transport(1).openSocket(PORT)));
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[100]);
            final HomaMetrics server = cluster.engine(1).metrics();
            for (int i = 0; i < 10; i++)
            {
                client.homaSend(cluster.address(1), PORT, buffer, 0, 100, i);
                final HomaMessage[] r = new HomaMessage[1];
                assertTrue(cluster.runUntil(() -> null != (r[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                    100_000_000L));
                r[0].release();
                // Each request carries the ack of the previous RPC: at most one server RPC is alive.
                assertTrue(cluster.engine(1).rpcCount() <= 1, "server RPCs alive: " + cluster.engine(1).rpcCount());
            }
            assertEquals(9, server.get(HomaMetrics.SERVER_RPCS_ACKED), "nine freed by piggybacked acks");
            assertEquals(0, server.packetsSent(PacketType.NEED_ACK), "no NEED_ACK needed so far");
            final long start = cluster.sim.nowNs();
            assertTrue(cluster.runUntil(() -> 0 == cluster.engine(1).rpcCount(), 100_000_000L));
            final long waited = cluster.sim.nowNs() - start;
            assertTrue(server.packetsSent(PacketType.NEED_ACK) >= 1, "last RPC: NEED_ACK");
            assertTrue(cluster.engine(0).metrics().packetsSent(PacketType.ACK) >= 1, "client answered with ACK");
            assertEquals(10, server.get(HomaMetrics.SERVER_RPCS_ACKED), "the last freed by the ACK");
            assertEquals(0, server.get(HomaMetrics.ACKS_IGNORED), "the ACK names the last RPC twice: one ack");
            assertTrue(waited <= 4_000_000, "freed within request_ack_ticks + a tick: " + waited + " ns");
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void closingTheClientTransportSendsItsPendingAcks()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), ctx -> {}))
        {
            cluster.add(new Cluster.EchoServer(cluster.transport(1).openSocket(PORT)));
            completeRpcs(cluster, cluster.transport(0).openSocket(0), 3);
            assertEquals(3, cluster.engine(1).rpcCount(), "three responses sent, none acknowledged yet");
            cluster.transport(0).close();
            assertTrue(cluster.runUntil(() -> 0 == cluster.engine(1).rpcCount(), 100_000L),
                "freed within 100 us, long before a NEED_ACK");
            final HomaMetrics server = cluster.engine(1).metrics();
            assertEquals(3, server.get(HomaMetrics.SERVER_RPCS_ACKED));
            assertEquals(1, server.packetsReceived(PacketType.ACK), "one ACK carried all three");
            assertEquals(0, server.packetsSent(PacketType.NEED_ACK));
            assertEquals(0, server.get(HomaMetrics.ACKS_IGNORED));
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void closingFromAnotherThreadThanTheInvokerSendsNothing() throws InterruptedException
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), ctx -> {}))
        {
            cluster.add(new Cluster.EchoServer(cluster.transport(1).openSocket(PORT)));
            completeRpcs(cluster, cluster.transport(0).openSocket(0), 1);
            // This thread drives the client's duty cycle; the transmitter is its alone.
            final Thread closer = new Thread(cluster.transport(0)::close);
            closer.start();
            closer.join();
            cluster.runUntil(() -> false, 100_000L);
            assertEquals(0, cluster.engine(1).metrics().packetsReceived(PacketType.ACK));
            assertEquals(1, cluster.engine(1).rpcCount(), "left to NEED_ACK and the timeout");
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void fullAckStoreGoesOutAsExplicitAck()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(),
            ctx -> ctx.requestAckTicks(50)))
        {
            cluster.add(new Cluster.EchoServer(cluster.transport(1).openSocket(PORT)));
            completeRpcs(cluster, cluster.transport(0).openSocket(0), 6);
            cluster.runUntil(() -> false, 100_000L);
            assertEquals(1, cluster.engine(0).metrics().packetsSent(PacketType.ACK),
                "the sixth completion went out in one ACK packet with the five stored acks (homa_peer_add_ack)");
            assertEquals(6, cluster.engine(1).metrics().get(HomaMetrics.SERVER_RPCS_ACKED));
            assertEquals(0, cluster.engine(1).rpcCount(), "none left for NEED_ACK (request_ack_ticks 50)");
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void abortStopsAClientRpc()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), ctx -> {}))
        {
            cluster.transport(1).openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1_000_000]);
            final long id = client.homaSend(cluster.address(1), PORT, buffer, 0, 1_000_000, 0);
            cluster.runUntil(() -> false, 50_000L);
            assertEquals(1, cluster.engine(0).rpcCount());
            client.abort(id);
            cluster.runUntil(() -> false, 1_000L);
            final long sent = cluster.engine(0).metrics().packetsSent(PacketType.DATA);
            assertEquals(0, cluster.engine(0).rpcCount(), "client state gone");
            assertEquals(0, cluster.engine(0).sendPagesInUse(), "send pages freed");
            assertEquals(0, client.outstandingRpcs());
            assertEquals(1, cluster.engine(0).metrics().get(HomaMetrics.RPCS_ABORTED));
            cluster.runUntil(() -> false, 10_000_000L);
            assertEquals(sent, cluster.engine(0).metrics().packetsSent(PacketType.DATA), "nothing sent after abort");
            cluster.assertNoErrors();
        }
    }

    /** Send {@code count} 100-byte requests to the echo server on host 1 and take every response. */
    private static void completeRpcs(final Cluster cluster, final HomaSocket client, final int count)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[100]);
        for (int i = 0; i < count; i++)
        {
            client.homaSend(cluster.address(1), PORT, buffer, 0, 100, i);
        }
        final int[] done = new int[1];
        assertTrue(cluster.runUntil(() ->
        {
            final HomaMessage m = client.homaRecv(HomaSocket.RECV_RESPONSE);
            if (null != m)
            {
                m.release();
                done[0]++;
            }
            return count == done[0];
        }, 100_000_000L));
    }
}
