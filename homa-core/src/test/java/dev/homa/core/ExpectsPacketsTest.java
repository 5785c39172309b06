package dev.homa.core;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link HomaEngine#expectsWorkSoon(boolean)} without hand-offs, which keeps an idle protocol thread polling instead
 * of sleeping: true for a receiver while granted or unscheduled bytes are on their way, true for a sender that has
 * sent all it was granted; false for both once the message is in, and for a transport with nothing under way.
 */
class ExpectsPacketsTest
{
    private static final int PORT = 100;

    @Test
    @Timeout(60)
    void expectsPacketsWhileAMessageMovesAndNotOnceItIsIn()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), ctx -> {}))
        {
            final HomaSocket server = cluster.transport(1).openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            assertFalse(cluster.engine(0).expectsWorkSoon(false), "nothing under way");
            assertFalse(cluster.engine(1).expectsWorkSoon(false), "nothing under way");

            client.homaSend(cluster.address(1), PORT, new UnsafeBuffer(new byte[600_000]), 0, 600_000, 0);
            final boolean[] seen = new boolean[2];
            final HomaMessage[] request = new HomaMessage[1];
            assertTrue(cluster.runUntil(() ->
            {
                seen[0] |= cluster.engine(0).expectsWorkSoon(false);
                seen[1] |= cluster.engine(1).expectsWorkSoon(false);
                if (null == request[0])
                {
                    request[0] = server.homaRecv(HomaSocket.RECV_REQUEST);
                }
                return null != request[0];
            }, 1_000_000_000L));
            assertNotNull(request[0]);
            assertTrue(seen[0], "the sender waited for GRANTs");
            assertTrue(seen[1], "the receiver waited for granted bytes");
            assertFalse(cluster.engine(1).expectsWorkSoon(false), "the whole request is in");
            assertFalse(cluster.engine(0).expectsWorkSoon(false), "the whole request left; the response is up to " +
                "the server's application");
            request[0].release();
            cluster.assertNoErrors();
        }
    }
}
