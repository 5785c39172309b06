package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a software path (a driver without a transmit queue) the unscheduled bytes of a peer's messages follow the
 * round trip measured to it, from a message's start to its first GRANT; on a NIC, or where the user set them, they
 * stay as configured. Three 100,000-byte requests in turn to a server whose duty cycle runs every 40 us, on the
 * virtual-time fabric (10 Gb/s, 1,424-byte payloads: 11,392 unscheduled bytes configured, 79,744 the per-peer
 * incoming budget in whole packets).
 */
final class UnscheduledSizerTest
{
    private static final int PORT = 60;
    private static final int LENGTH = 100_000;
    private static final int MESSAGES = 3;

    @Test
    @Timeout(30)
    void aSoftwarePathSizesUnscheduledBytesFromTheMeasuredRoundTrip()
    {
        final long[] raises = new long[1];
        final int[] incoming = incomingOfEachMessage(true, 0, raises);
        assertEquals(11_392, incoming[0], "before any round trip is measured: " + Arrays.toString(incoming));
        assertTrue(raises[0] >= 1, "unscheduled_raises " + raises[0]);
        // The first GRANT came back at least one 40 us server cycle after the first message started: 50,000 bytes
        // of the link or more, within the per-peer budget.
        for (int m = 1; m < MESSAGES; m++)
        {
            assertTrue(incoming[m] >= 50_000 && incoming[m] <= 79_744, Arrays.toString(incoming));
            assertEquals(0, incoming[m] % 1_424, "whole packets: " + Arrays.toString(incoming));
        }
    }

    @Test
    @Timeout(30)
    void aNicKeepsTheConfiguredUnscheduledBytes()
    {
        final long[] raises = new long[1];
        assertArrayEquals(new int[] { 11_392, 11_392, 11_392 }, incomingOfEachMessage(false, 0, raises));
        assertEquals(0, raises[0], "unscheduled_raises");
    }

    @Test
    @Timeout(30)
    void unscheduledBytesTheUserSetAreKept()
    {
        assertArrayEquals(new int[] { 21_360, 21_360, 21_360 }, incomingOfEachMessage(true, 20_000, new long[1]));
    }

    /**
     * @return the incoming field of each message's first DATA packet, as the client sent it; the client's
     * {@code unscheduled_raises} in {@code raises[0]}.
     */
    private static int[] incomingOfEachMessage(final boolean software, final int unscheduledBytes, final long[] raises)
    {
        final int[] incoming = new int[MESSAGES];
        final int[] messages = new int[1];
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), 2,
            ctx -> ctx.unscheduledBytes(unscheduledBytes),
            (host, driver) -> new PathDriver(driver).transmitQueue(!software).onSend((packet) ->
            {
                if (0 == host && PacketType.DATA == HomaHeaderFlyweight.typeOf(packet.buffer(), 0) &&
                    0 == DataHeaderFlyweight.segmentOffsetOf(packet.buffer(), 0) && messages[0] < incoming.length)
                {
                    incoming[messages[0]++] = DataHeaderFlyweight.incomingOf(packet.buffer(), 0);
                }
            })))
        {
            cluster.slowHost(1, 40_000);
            final HomaSocket server = cluster.transport(1).openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[LENGTH]);
            for (int m = 0; m < MESSAGES; m++)
            {
                client.homaSend(cluster.address(1), PORT, buffer, 0, LENGTH, m);
                assertTrue(cluster.runUntilRequestReleased(server, 100_000_000L), "message " + m + " received");
            }
            cluster.assertNoErrors();
            raises[0] = cluster.transport(0).metrics().get(HomaMetrics.UNSCHEDULED_RAISES);
        }
        return incoming;
    }
}
