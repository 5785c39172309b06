package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.metrics.MetricsSnapshot;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GRANTs are decided once per duty cycle, after the cycle has taken its batch of packets: a message whose packets
 * arrive a dozen at a time gets one GRANT per batch, not one per packet. On the instant fabric a sender's flush
 * arrives as one batch.
 */
class GrantBatchingTest
{
    private static final int PORT = 100;

    @Test
    @Timeout(60)
    void aBatchOfPacketsOfOneMessageDrawsOneGrant()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(), ctx -> {}))
        {
            final HomaSocket server = cluster.transport(1).openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            client.homaSend(cluster.address(1), PORT, new UnsafeBuffer(new byte[1_000_000]), 0, 1_000_000, 0);
            final HomaMessage[] request = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (request[0] = null != request[0] ? request[0] :
                server.homaRecv(HomaSocket.RECV_REQUEST)), 1_000_000_000L));
            assertNotNull(request[0]);
            request[0].release();
            final MetricsSnapshot receiver = cluster.transport(1).metrics().snapshot();
            final long data = receiver.get(HomaMetrics.PACKETS_RECEIVED + PacketType.DATA - PacketType.MIN_TYPE);
            final long grants = receiver.get(HomaMetrics.PACKETS_SENT + PacketType.GRANT - PacketType.MIN_TYPE);
            System.out.println(data + " DATA packets drew " + grants + " GRANTs");
            assertTrue(grants > 0 && 4 * grants < data, data + " DATA packets drew " + grants + " GRANTs");
            cluster.assertNoErrors();
        }
    }
}
