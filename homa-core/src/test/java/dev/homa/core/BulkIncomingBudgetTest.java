package dev.homa.core;

import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.NicDriver;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a software path whose receive queue holds more than the incoming budget, a receiver grants a long message up to
 * what that queue holds while no message short enough to need no grant has arrived, and within the budget for a
 * while after one has; on a NIC the budget is one. Requests of 1,000,000 bytes on the virtual-time fabric (10 Gb/s:
 * a 160,000-byte budget, 80,000 bytes per peer), the server's driver reporting a 4,000,000-byte receive queue.
 */
final class BulkIncomingBudgetTest
{
    private static final int PORT = 70;
    private static final int LONG = 1_000_000;
    private static final long QUEUE_BYTES = 4_000_000;
    private static final GrantFlyweight GRANT = new GrantFlyweight();

    @Test
    @Timeout(30)
    void aSoftwarePathGrantsALongMessageWholeUntilAShortMessageArrives()
    {
        final List<Integer> grants = new ArrayList<>();
        try (Cluster cluster = cluster(true, grants))
        {
            final HomaTransport server = cluster.transport(1);
            assertEquals(QUEUE_BYTES, server.context().bulkIncomingBytes());
            final HomaSocket socket = server.openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);

            request(cluster, socket, client, LONG);
            assertEquals(List.of(LONG), grants, "one GRANT covers the whole message");

            request(cluster, socket, client, 100);
            grants.clear();
            request(cluster, socket, client, LONG);
            assertTrue(grants.get(0) < 200_000 && grants.size() >= 10, "windows within the budget: " + grants);
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void aNicKeepsOneBudget()
    {
        final List<Integer> grants = new ArrayList<>();
        try (Cluster cluster = cluster(false, grants))
        {
            assertEquals(160_000, cluster.transport(1).context().bulkIncomingBytes());
            request(cluster, cluster.transport(1).openSocket(PORT), cluster.transport(0).openSocket(0), LONG);
            assertTrue(grants.get(0) < 200_000, "the first GRANT within the budget: " + grants);
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(10)
    void theBulkBudgetIsWhatASoftwarePathsReceiveQueueHolds()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            assertEquals(QUEUE_BYTES, bulk(path(fabric.driverAt(0), true, QUEUE_BYTES), 0));
            assertEquals(160_000, bulk(path(fabric.driverAt(0), true, 100_000), 0),
                "never below the budget");
            assertEquals(160_000, bulk(path(fabric.driverAt(0), false, QUEUE_BYTES), 0),
                "a NIC: one budget");
            assertEquals(700_000, bulk(path(fabric.driverAt(0), true, QUEUE_BYTES), 700_000),
                "a value set is kept");
        }
    }

    private static int bulk(final NicDriver driver, final int bulkIncomingBytes)
    {
        return new HomaTransport.Context().driver(driver).bulkIncomingBytes(bulkIncomingBytes).conclude()
            .bulkIncomingBytes();
    }

    private static Cluster cluster(final boolean software, final List<Integer> grants)
    {
        return new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), 2, ctx -> { },
            (host, driver) -> 1 == host ? path(driver, software, QUEUE_BYTES).onSend((packet) ->
            {
                if (PacketType.GRANT == HomaHeaderFlyweight.typeOf(packet.buffer(), 0))
                {
                    grants.add(GRANT.wrap(packet.buffer(), 0).offset());
                }
            }) : driver);
    }

    private static PathDriver path(final NicDriver delegate, final boolean software, final long queueBytes)
    {
        return new PathDriver(delegate).transmitQueue(!software).receiveQueueBytes(queueBytes);
    }

    private static void request(
        final Cluster cluster, final HomaSocket server, final HomaSocket client, final int length)
    {
        client.homaSend(cluster.address(1), PORT, new UnsafeBuffer(new byte[length]), 0, length, length);
        assertTrue(cluster.runUntilRequestReleased(server, 100_000_000L), "a " + length + "-byte request received");
    }
}
