package dev.homa.nic.loopback;

import dev.homa.nic.Packet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class TimedFabricTest
{
    /** A Homa packet this long is a 1500-byte frame with the default 62 bytes of overhead. */
    private static final int FRAME_1500 = 1500 - Fabric.DEFAULT_WIRE_OVERHEAD_BYTES;
    private static final long PROPAGATION_NS = 250;

    private static Fabric timed(final int hosts)
    {
        return Fabric.builder().mode(FabricMode.TIMED).hosts(hosts).packetPoolSize(256)
            .propagationDelayNs(PROPAGATION_NS).build();
    }

    private static void send(
        final FabricDriver from, final long to, final int priority, final int length, final int tag)
    {
        final Packet packet = from.acquire();
        packet.length(length);
        packet.buffer().putInt(0, tag, ByteOrder.BIG_ENDIAN);
        assertTrue(from.send(packet, to, priority));
        from.flush();
        from.release(packet);
    }

    @Test
    void oneFrameOf1500BytesTakesExactly1200NsPerHop()
    {
        final Fabric fabric = timed(2);
        assertEquals(1_200_000, fabric.serializationPs(FRAME_1500));
        final FabricTraceRecorder recorder = new FabricTraceRecorder();
        fabric.addTraceListener(recorder);
        final FabricDriver a = fabric.driverAt(0);
        final FabricDriver b = fabric.driverAt(1);

        send(a, b.localAddress(), 0, FRAME_1500, 1);
        assertEquals(1500, a.queuedBytes());
        fabric.scheduler().runUntil(600);
        assertEquals(750, a.queuedBytes(), "half the frame is on the wire after 600 ns");
        fabric.scheduler().runUntil(1200);
        assertEquals(0, a.queuedBytes());

        while (fabric.scheduler().runNext())
        {
            // Drain the fabric.
        }
        final List<Long> times = new ArrayList<>();
        recorder.entries().forEach(e -> times.add(e.timeNs()));
        // SENT at 0; at the switch after 1200 + 250; at the host after another 1200 + 250.
        assertEquals(List.of(0L, 1450L, 2900L), times);
        final List<Packet> received = new ArrayList<>();
        b.poll(received::add, 10);
        assertEquals(2900, received.getFirst().timestampNs());
        assertEquals(1200, a.nicBusyNs());
        assertEquals(1200, fabric.port(b.localAddress()).busyNs());
        assertEquals(2900 - 1200, fabric.port(b.localAddress()).idleNs());
    }

    @Test
    void theArrivalListenerHearsOfEveryPacketWhenItLands()
    {
        final Fabric fabric = timed(3);
        final FabricDriver a = fabric.driverAt(0);
        final FabricDriver b = fabric.driverAt(1);
        final List<String> heard = new ArrayList<>();
        b.arrivalListener((driver) -> heard.add(driver.hostIndex() + "@" + fabric.scheduler().nowNs() + "/" +
            driver.receiveQueueDepth()));
        fabric.driverAt(2).arrivalListener((driver) -> heard.add("wrong host"));
        send(a, b.localAddress(), 0, FRAME_1500, 1);
        send(a, b.localAddress(), 0, FRAME_1500, 2);
        while (fabric.scheduler().runNext())
        {
            // Drain the fabric.
        }
        // Each lands 2,900 ns after it left the NIC; the second left 1,200 ns after the first.
        assertEquals(List.of("1@2900/1", "1@4100/2"), heard);
    }

    @Test
    void aFabricCarryingOnlyTheHeadersDeliversThemWithTheWholeLengthAndTiming()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).packetPoolSize(256)
            .propagationDelayNs(PROPAGATION_NS).carriedBytes(8).build();
        final FabricDriver a = fabric.driverAt(0);
        final FabricDriver b = fabric.driverAt(1);
        final Packet packet = a.acquire().length(FRAME_1500);
        packet.buffer().putLong(0, 0x0102030405060708L, ByteOrder.BIG_ENDIAN);
        packet.buffer().putLong(8, 0x1111111111111111L, ByteOrder.BIG_ENDIAN);
        assertTrue(a.send(packet, b.localAddress(), 0));
        a.flush();
        a.release(packet);
        while (fabric.scheduler().runNext())
        {
            // Drain the fabric.
        }
        final List<Packet> received = new ArrayList<>();
        b.poll(received::add, 10);
        assertEquals(1, received.size());
        final Packet arrived = received.getFirst();
        assertEquals(FRAME_1500, arrived.length());
        assertEquals(2900, arrived.timestampNs(), "the same wire time as the whole packet");
        assertEquals(0x0102030405060708L, arrived.buffer().getLong(0, ByteOrder.BIG_ENDIAN));
        assertNotEquals(0x1111111111111111L, arrived.buffer().getLong(8, ByteOrder.BIG_ENDIAN),
            "bytes past the carried ones are not copied");
    }

    @Test
    void backToBackFramesTakeExactlyNTimesTheFrameTime()
    {
        final Fabric fabric = timed(2);
        final FabricDriver a = fabric.driverAt(0);
        final FabricDriver b = fabric.driverAt(1);
        final int n = 1000;
        final Packet packet = a.acquire().length(FRAME_1500);
        for (int i = 0; i < n; i++)
        {
            a.send(packet, b.localAddress(), 3);
            if (0 == (i + 1) % 200)
            {
                a.flush();
            }
        }
        assertEquals(n * 1500L, a.queuedBytes());
        assertEquals(n * 1500L, a.peakQueuedBytes());
        final long[] lastArrival = new long[1];
        final int[] count = new int[1];
        fabric.addTraceListener((event, detail, timeNs, source, destination, priority, buffer, length) ->
        {
            if (FabricTraceListener.DELIVERED == event)
            {
                lastArrival[0] = timeNs;
                count[0]++;
            }
        });
        while (fabric.scheduler().runNext())
        {
            if (b.receiveQueueDepth() > 100)
            {
                b.poll(b::release, Integer.MAX_VALUE);
            }
        }
        assertEquals(n, count[0]);
        // The last frame leaves the NIC at n x 1200, crosses the switch port (one more 1200) and two hops.
        assertEquals(n * 1200L + 1200 + 2 * PROPAGATION_NS, lastArrival[0]);
        assertEquals(n * 1200L, a.nicBusyNs());
        assertEquals(n * 1200L, fabric.port(b.localAddress()).busyNs());
        assertEquals(0, fabric.framesInFlight());
    }

    @Test
    void noDriftWhenTheFrameTimeIsNotAWholeNanosecond()
    {
        // 1542 wire bytes at 10 Gb/s = 1233.6 ns; at 7 Gb/s a 1500-byte frame is 1714.285714... ns.
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).packetPoolSize(64)
            .linkBitsPerSecond(7_000_000_000L).propagationDelayNs(0).build();
        final FabricDriver a = fabric.driverAt(0);
        final Packet packet = a.acquire().length(FRAME_1500);
        for (int i = 0; i < 7 * 20; i++)
        {
            a.send(packet, fabric.driverAt(1).localAddress(), 0);
        }
        a.flush();
        fabric.scheduler().runUntil(1_000_000);
        // 140 frames x 12,000 bits at 7 Gb/s = exactly 240,000 ns, however the ns are split between frames.
        assertEquals(240_000, a.nicBusyNs());
        assertEquals(240_000, fabric.port(fabric.driverAt(1).localAddress()).busyNs());

        final Fabric tenGig = timed(2);
        final FabricDriver c = tenGig.driverAt(0);
        final Packet full = c.acquire().length(1480);
        for (int i = 0; i < 10; i++)
        {
            c.send(full, tenGig.driverAt(1).localAddress(), 0);
        }
        c.flush();
        tenGig.scheduler().runUntil(1_000_000);
        assertEquals(12_336, c.nicBusyNs(), "10 x 1233.6 ns");
    }

    @Test
    void highPriorityFrameQueuedBehindHundredLowOnesLeavesFirst()
    {
        final int lowSenders = 100;
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(lowSenders + 3).packetPoolSize(8)
            .propagationDelayNs(PROPAGATION_NS).build();
        final FabricDriver receiver = fabric.driverAt(0);
        final long to = receiver.localAddress();
        final List<Integer> order = new ArrayList<>();
        fabric.addTraceListener((event, detail, timeNs, source, destination, priority, buffer, length) ->
        {
            if (FabricTraceListener.DELIVERED == event)
            {
                order.add(buffer.getInt(0, ByteOrder.BIG_ENDIAN));
            }
        });

        // t=0: a blocker occupies the port to the receiver from 1450 to 2650 ns.
        send(fabric.driverAt(1), to, 0, FRAME_1500, -1);
        // t=1: one hundred low-priority frames reach the port at 1451 ns and queue behind it.
        fabric.scheduler().runUntil(1);
        for (int i = 0; i < lowSenders; i++)
        {
            send(fabric.driverAt(2 + i), to, 0, FRAME_1500, i);
        }
        // t=2: the high-priority frame arrives last, at 1452 ns.
        fabric.scheduler().runUntil(2);
        send(fabric.driverAt(2 + lowSenders), to, 7, FRAME_1500, 1000);

        final SwitchPort port = fabric.port(to);
        fabric.scheduler().runUntil(2000);
        assertEquals(100 * 1500, port.depthBytes(0) - 1500, "100 low queued behind the blocker");
        assertEquals(1500, port.depthBytes(7));

        while (fabric.scheduler().runNext())
        {
            receiver.poll(receiver::release, Integer.MAX_VALUE);
        }
        assertEquals(102, order.size());
        assertEquals(-1, order.get(0), "the blocker was already on the wire");
        assertEquals(1000, order.get(1), "the high-priority frame overtakes all 100 queued low ones");
        for (int i = 0; i < lowSenders; i++)
        {
            assertEquals(i, order.get(2 + i), "low frames stay FIFO");
        }
        assertEquals(102 * 1500, port.peakDepthBytes());
        assertEquals(101 * 1500, port.peakDepthBytes(0));
        assertEquals(1500, port.peakDepthBytes(7));
        assertEquals(101, port.packets(0));
        assertEquals(1, port.packets(7));
        assertEquals(0, port.depthBytes());
    }

    @Test
    void tailDropAtThePortBufferLimit()
    {
        final int senders = 20;
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(senders + 1).packetPoolSize(32)
            .portBufferBytes(10 * 1500).build();
        final FabricDriver receiver = fabric.driverAt(0);
        for (int i = 1; i <= senders; i++)
        {
            send(fabric.driverAt(i), receiver.localAddress(), i % 8, FRAME_1500, i);
        }
        while (fabric.scheduler().runNext())
        {
            // Drain.
        }
        final SwitchPort port = fabric.port(receiver.localAddress());
        assertEquals(10, port.packets());
        assertEquals(10, port.drops());
        assertEquals(10, fabric.drops(DropReason.PORT_FULL));
        assertEquals(10 * 1500, port.peakDepthBytes());
        assertEquals(10, receiver.receiveQueueDepth());
        long perLevelDrops = 0;
        for (int level = 0; level < 8; level++)
        {
            perLevelDrops += port.drops(level);
        }
        assertEquals(10, perLevelDrops);
    }

    @Test
    void receiverPoolExhaustionDropsAtArrival()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).packetPoolSize(4).build();
        final FabricDriver a = fabric.driverAt(0);
        final Packet packet = a.acquire().length(100);
        for (int i = 0; i < 6; i++)
        {
            a.send(packet, fabric.driverAt(1).localAddress(), 0);
        }
        a.flush();
        fabric.scheduler().runUntil(1_000_000);
        assertEquals(4, fabric.driverAt(1).receiveQueueDepth());
        assertEquals(2, fabric.driverAt(1).rxPoolDrops());
        assertEquals(2, fabric.drops(DropReason.RX_POOL_EMPTY));
        assertEquals(0, fabric.framesInFlight());
    }

    @Test
    void framePoolLimitDropsInsteadOfGrowing()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).packetPoolSize(4)
            .maxFramesInFlight(3).build();
        final FabricDriver a = fabric.driverAt(0);
        final Packet packet = a.acquire().length(100);
        for (int i = 0; i < 5; i++)
        {
            a.send(packet, fabric.driverAt(1).localAddress(), 0);
        }
        a.flush();
        assertEquals(3, fabric.framesInFlight());
        assertEquals(2, fabric.drops(DropReason.FRAME_POOL_EMPTY));
        fabric.scheduler().runUntil(1_000_000);
        assertEquals(3, fabric.driverAt(1).receiveQueueDepth());
    }

    @Test
    void hostDownDropsFramesToIt()
    {
        final Fabric fabric = timed(2);
        final FabricDriver a = fabric.driverAt(0);
        fabric.hostDown(fabric.driverAt(1).localAddress(), true);
        send(a, fabric.driverAt(1).localAddress(), 0, 100, 0);
        fabric.scheduler().runUntil(1_000_000);
        assertEquals(1, fabric.drops(DropReason.HOST_DOWN));
        assertEquals(0, fabric.driverAt(1).receiveQueueDepth());
    }
}
