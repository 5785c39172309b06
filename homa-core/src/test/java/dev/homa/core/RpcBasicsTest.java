package dev.homa.core;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RPCs of 1 B, one packet, unscheduled bytes +-1, 100 KB and 1 MB complete byte-exact in both
 * directions; many clients and servers at once.
 */
class RpcBasicsTest
{
    private static final int SERVER_PORT = 100;

    @Test
    @Timeout(60)
    void rpcsOfEverySizeCompleteByteExact()
    {
        try (Cluster cluster = new Cluster(
            Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), ctx -> {}))
        {
            final HomaSocket server = cluster.transport(1).openSocket(SERVER_PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            cluster.add(new Cluster.EchoServer(server));
            final HomaEngine engine = cluster.engine(0);
            final int payload = engine.maxPayload();
            final int unsched = engine.unscheduledBytes();
            final int[] sizes = { 1, payload, payload + 1, unsched - 1, unsched, unsched + 1, 100_000, 1_000_000 };
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1_000_000]);
            for (final int size : sizes)
            {
                Cluster.fill(buffer, size, size);
                final long id = client.homaSend(cluster.address(1), SERVER_PORT, buffer, 0, size, 1000 + size);
                assertEquals(0, id & 1, "client ids are even");
                final HomaMessage[] response = new HomaMessage[1];
                assertTrue(cluster.runUntil(
                    () -> null != (response[0] = null != response[0] ? response[0] :
                        client.homaRecv(HomaSocket.RECV_RESPONSE)), 2_000_000_000L), "response for " + size);
                final HomaMessage message = response[0];
                assertEquals(HomaMessage.Kind.RESPONSE, message.kind(), () -> "kind for " + size + ": " + message);
                assertEquals(id, message.id());
                assertEquals(1000 + size, message.cookie());
                assertEquals(cluster.address(1), message.peer());
                assertEquals(SERVER_PORT, message.peerPort());
                Cluster.assertPayload(message, size, size);
                message.release();
            }
            // Let the ACKs flow: no server state remains, no pages are held.
            cluster.runUntil(() -> 0 == cluster.engine(1).rpcCount(), 50_000_000L);
            cluster.runUntil(() -> false, 5_000_000L);
            assertEquals(0, cluster.engine(1).rpcCount(), "server RPCs freed by ACK");
            assertEquals(0, cluster.engine(0).rpcCount(), "client RPCs freed");
            assertEquals(0, cluster.engine(0).receivePagesInUse(), "client pages released");
            assertEquals(0, cluster.engine(1).receivePagesInUse(), "server pages released");
            assertEquals(0, cluster.engine(0).sendPagesInUse(), "client send pages freed");
            assertEquals(0, cluster.engine(1).sendPagesInUse(), "server send pages freed");
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(60)
    void manyClientsAndServersAtOnce()
    {
        final int clients = 6;
        final int servers = 4;
        try (Cluster cluster = new Cluster(
            Fabric.builder().mode(FabricMode.TIMED).hosts(clients + servers).build(), ctx -> {}))
        {
            for (int s = 0; s < servers; s++)
            {
                cluster.add(new Cluster.EchoServer(cluster.transport(clients + s).openSocket(SERVER_PORT)));
            }
            final int[] sizes = { 1, 1500, 9000, 40_000, 100_000, 300_000 };
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1_000_000]);
            final List<HomaSocket> sockets = new ArrayList<>();
            final Map<Long, long[]> expected = new HashMap<>();
            int sent = 0;
            for (int c = 0; c < clients; c++)
            {
                final HomaSocket socket = cluster.transport(c).openSocket(0);
                sockets.add(socket);
                for (int s = 0; s < servers; s++)
                {
                    final int size = sizes[(c + s) % sizes.length];
                    final long seed = c * 100 + s;
                    Cluster.fill(buffer, size, seed);
                    final long id = socket.homaSend(cluster.address(clients + s), SERVER_PORT, buffer, 0, size, seed);
                    expected.put(((long)c << 48) | id, new long[]{ size, seed });
                    sent++;
                }
            }
            final int[] received = new int[1];
            final int total = sent;
            assertTrue(cluster.runUntil(() ->
            {
                for (int c = 0; c < clients; c++)
                {
                    HomaMessage m;
                    while (null != (m = sockets.get(c).homaRecv(HomaSocket.RECV_RESPONSE)))
                    {
                        final long[] want = expected.remove(((long)c << 48) | m.id());
                        assertNotNull(want, "unexpected response " + m);
                        Cluster.assertPayload(m, (int)want[0], want[1]);
                        m.release();
                        received[0]++;
                    }
                }
                return received[0] == total;
            }, 5_000_000_000L), "all responses: " + received[0] + "/" + total);
            cluster.assertNoErrors();
        }
    }
}
