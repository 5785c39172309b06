package dev.homa.nic.loopback;

import dev.homa.nic.Packet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Racks, spines and their timing: a frame's idle latency is the sum of its hops, spraying spreads frames over the
 * spines, one priority level is one FIFO, and a pFabric port serves and drops by rank.
 */
@Timeout(20)
class TopologyTest
{
    private static final int FULL = 1500 - Fabric.DEFAULT_WIRE_OVERHEAD_BYTES;

    /** The paper's network: 9 racks of 16, 4 spines, 10 and 40 Gb/s, 250 ns per switch, 500 ns per host link. */
    private static Topology.Builder paper()
    {
        return Topology.builder().racks(9).hostsPerRack(16).spines(4).hostLinkBitsPerSecond(10_000_000_000L)
            .fabricLinkBitsPerSecond(40_000_000_000L).switchLatencyNs(250).hostLinkDelayNs(500);
    }

    private static Fabric fabric(final Topology topology)
    {
        return Fabric.builder().mode(FabricMode.TIMED).topology(topology).packetPoolSize(512).build();
    }

    private static void send(final FabricDriver from, final FabricDriver to, final int priority, final int length,
        final int tag)
    {
        final Packet packet = from.acquire();
        packet.length(length);
        packet.buffer().putInt(0, tag, ByteOrder.BIG_ENDIAN);
        assertTrue(from.send(packet, to.localAddress(), priority));
        from.flush();
        from.release(packet);
    }

    private static void drain(final Fabric fabric)
    {
        while (fabric.scheduler().runNext())
        {
            // Every event until the network is quiet.
        }
    }

    private static List<Integer> tags(final FabricDriver driver)
    {
        final List<Integer> tags = new ArrayList<>();
        driver.poll(packet ->
        {
            tags.add(packet.buffer().getInt(0, ByteOrder.BIG_ENDIAN));
            driver.release(packet);
        }, 1_000);
        return tags;
    }

    @Test
    void idleLatencyIsTheSumOfTheHopsWithinAndAcrossRacks()
    {
        final Topology topology = paper().build();
        final Fabric fabric = fabric(topology);
        assertEquals(144, fabric.hostCount());
        final long[] arrival = new long[1];
        for (final int destination : new int[]{ 5, 100 })
        {
            final FabricDriver to = fabric.driverAt(destination);
            to.arrivalListener((driver) -> arrival[0] = fabric.scheduler().nowNs());
            final long start = fabric.scheduler().nowNs();
            send(fabric.driverAt(0), to, 0, FULL, 1);
            drain(fabric);
            final boolean sameRack = topology.rackOf(destination) == 0;
            // 1500 bytes: 1,200 ns at 10 Gb/s, 300 ns at 40 Gb/s.
            final long expectedNs = sameRack ? 1200 + 500 + 250 + 1200 + 500 :
                1200 + 500 + 250 + 300 + 250 + 300 + 250 + 1200 + 500;
            assertEquals(expectedNs, arrival[0] - start, "to host " + destination);
            assertEquals(expectedNs * 1000, topology.idleFrameLatencyPs(1500, sameRack));
            tags(to);
        }
    }

    @Test
    void sprayingSpreadsFramesOverEverySpineTheSameWayForTheSameSeed()
    {
        final long[][] perSpine = new long[2][];
        for (int run = 0; run < 2; run++)
        {
            final Fabric fabric = fabric(paper().sprayingSeed(42).build());
            for (int i = 0; i < 400; i++)
            {
                send(fabric.driverAt(i % 16), fabric.driverAt(16 + i % 16), 0, 100, i);
                drain(fabric);
            }
            perSpine[run] = new long[4];
            for (int s = 0; s < 4; s++)
            {
                perSpine[run][s] = fabric.torUplinks().get(s).packets();
                assertTrue(perSpine[run][s] > 60, "spine " + s + " carried " + perSpine[run][s] + " of 400");
                assertEquals(perSpine[run][s], fabric.spineDownlinks().get(s * 9 + 1).packets(), "down to rack 1");
            }
            assertEquals(400, fabric.port(fabric.driverAt(16).localAddress()).packets() * 16, "all delivered");
        }
        assertEquals(List.of(perSpine[0][0], perSpine[0][1], perSpine[0][2], perSpine[0][3]),
            List.of(perSpine[1][0], perSpine[1][1], perSpine[1][2], perSpine[1][3]), "same seed, same spray");
    }

    @Test
    void oneLevelIsOneFifoWhereEightLetTheHighestOvertake()
    {
        for (final int levels : new int[]{ 8, 1 })
        {
            final Fabric fabric = fabric(Topology.builder().racks(1).hostsPerRack(3).priorityLevels(levels).build());
            final FabricDriver receiver = fabric.driverAt(2);
            assertEquals(levels, receiver.priorityLevels());
            // Two senders: low-priority frames queue at the receiver's port, then a high one arrives.
            send(fabric.driverAt(0), receiver, 0, FULL, 1);
            send(fabric.driverAt(1), receiver, 0, FULL, 2);
            send(fabric.driverAt(1), receiver, 0, FULL, 3);
            fabric.scheduler().runUntil(1300);
            send(fabric.driverAt(0), receiver, 7, 100, 4);
            drain(fabric);
            // 1 leaves at 1,200 ns; 2 waits from 1,200, 4 from 1,430, 3 from 2,400: the high one overtakes only
            // where it has a queue of its own.
            assertEquals(8 == levels ? List.of(1, 4, 2, 3) : List.of(1, 2, 4, 3), tags(receiver),
                levels + " levels");
        }
    }

    @Test
    void aPfabricPortServesTheLowestRankKeepsFlowsInOrderAndDropsTheHighest()
    {
        final Topology topology = Topology.builder().racks(1).hostsPerRack(3)
            .discipline(Topology.QueueDiscipline.RANK).hostPortBufferBytes(4 * 1500L).build();
        final Fabric fabric = fabric(topology);
        final FabricDriver a = fabric.driverAt(0);
        final FabricDriver b = fabric.driverAt(1);
        final FabricDriver receiver = fabric.driverAt(2);
        // a's flow 1 (ranks 9000, 8000, 7000) and b's flow 2 (ranks 500, 400): the port is busy with a's first.
        ranked(a, receiver, 9000, 1, 11);
        ranked(a, receiver, 8000, 1, 12);
        ranked(a, receiver, 7000, 1, 13);
        ranked(b, receiver, 500, 2, 21);
        ranked(b, receiver, 400, 2, 22);
        drain(fabric);
        // 11 arrives first and leaves at once; then flow 2 beats flow 1, each flow in order.
        assertEquals(List.of(11, 21, 22, 12, 13), tags(receiver));

        // Two senders fill the 4-frame buffer with high ranks (arrivals twice as fast as the port drains); the
        // arriving high ranks are refused, then low ranks push queued high ones out.
        final Fabric wide = fabric(Topology.builder().racks(1).hostsPerRack(4)
            .discipline(Topology.QueueDiscipline.RANK).hostPortBufferBytes(4 * 1500L).build());
        final FabricDriver sink = wide.driverAt(3);
        for (int i = 0; i < 12; i++)
        {
            ranked(wide.driverAt(0), sink, 100_000 + i, 3, 100 + i);
            ranked(wide.driverAt(1), sink, 200_000 + i, 4, 200 + i);
        }
        wide.scheduler().runUntil(6 * 1200);
        final long refused = wide.port(sink.localAddress()).drops();
        assertTrue(refused > 0, "a full buffer refuses high ranks");
        for (int i = 0; i < 3; i++)
        {
            ranked(wide.driverAt(2), sink, 10 + i, 5, 40 + i);
        }
        drain(wide);
        final List<Integer> got = tags(sink);
        assertTrue(got.containsAll(List.of(40, 41, 42)), "every low rank delivered: " + got);
        assertTrue(wide.port(sink.localAddress()).drops() > refused, "queued high ranks pushed out: " + got);
        assertEquals(wide.drops(DropReason.PORT_FULL), wide.port(sink.localAddress()).drops());
        assertEquals(24 + 3, got.size() + wide.port(sink.localAddress()).drops(), "each frame delivered or dropped");
    }

    private static void ranked(final FabricDriver from, final FabricDriver to, final long rank, final long flow,
        final int tag)
    {
        final Packet packet = from.acquire();
        packet.length(FULL);
        packet.buffer().putInt(0, tag, ByteOrder.BIG_ENDIAN);
        assertTrue(from.sendRanked(packet, to.localAddress(), rank, flow));
        from.flush();
        from.release(packet);
    }

    @Test
    void badTopologiesAreRefusedByName()
    {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> paper().spines(0).build()).getMessage()
            .startsWith("spines"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> paper().priorityLevels(9).build())
            .getMessage().startsWith("priorityLevels"));
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> Fabric.builder().mode(FabricMode.TIMED).hosts(3).topology(paper().build()).build()).getMessage()
            .contains("144 hosts, 3 were added"));
    }
}
