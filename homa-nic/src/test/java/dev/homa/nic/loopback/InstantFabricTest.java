package dev.homa.nic.loopback;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class InstantFabricTest
{
    private static final long A = Fabric.hostAddress(0);
    private static final long B = Fabric.hostAddress(1);

    @Test
    void hostsGetBenchmarkRangeAddresses()
    {
        final Fabric fabric = Fabric.builder().hosts(3).packetPoolSize(4).build();
        assertEquals("198.18.0.1", HostAddress.toString(fabric.driverAt(0).localAddress()));
        assertEquals("198.18.0.3", HostAddress.toString(fabric.driverAt(2).localAddress()));
        assertEquals(fabric.driverAt(1), fabric.driver(HostAddress.parseIpv4("198.18.0.2")));
        assertEquals(fabric.driverAt(1), fabric.driver(HostAddress.parseIpv4("198.18.0.2:4000")));
        assertThrows(IllegalArgumentException.class, () -> fabric.driver(HostAddress.parseIpv4("198.18.0.9")));
        final FabricDriver driver = fabric.driverAt(0);
        assertEquals(1480, driver.maxPacketLength());
        assertEquals(62, driver.wireOverheadBytes());
        assertEquals(8, driver.priorityLevels());
        assertEquals(10_000_000_000L, driver.linkBitsPerSecond());
    }

    @Test
    void customHostAddresses()
    {
        final long x = HostAddress.parseIpv4("198.19.1.1");
        final Fabric fabric = Fabric.builder().addHost(x).addHost(HostAddress.parseIpv4("198.19.1.2"))
            .packetPoolSize(4).build();
        assertEquals(x, fabric.driver(x).localAddress());
        assertThrows(IllegalArgumentException.class,
            () -> Fabric.builder().addHost(x).addHost(x).packetPoolSize(4).build());
        assertThrows(IllegalArgumentException.class,
            () -> Fabric.builder().addHost(HostAddress.parseIpv4("198.19.1.1:99")));
    }

    @Test
    void deliversOnFlushToNextPoll()
    {
        final Fabric fabric = Fabric.builder().hosts(2).packetPoolSize(8).build();
        fabric.clock().advanceTo(777);
        final FabricDriver a = fabric.driver(A);
        final FabricDriver b = fabric.driver(B);

        final Packet packet = a.acquire();
        packet.buffer().putLong(0, 0x0102030405060708L, ByteOrder.BIG_ENDIAN);
        packet.length(100);
        assertTrue(a.send(packet, B, 5));
        assertEquals(0, b.poll(p -> { }, 10), "nothing before flush");
        assertEquals(1, a.flush());
        a.release(packet);

        final List<Packet> received = new ArrayList<>();
        assertEquals(1, b.poll(received::add, 10));
        final Packet in = received.getFirst();
        assertEquals(100, in.length());
        assertEquals(0x0102030405060708L, in.buffer().getLong(0, ByteOrder.BIG_ENDIAN));
        assertEquals(A, in.source());
        assertEquals(5, in.priority());
        assertEquals(777, in.timestampNs());
        b.release(in);
        assertEquals(0, b.poll(p -> { }, 10));
        assertEquals(1, fabric.port(B).packets(5));
        assertEquals(162, fabric.port(B).bytes(5));
        assertEquals(0, a.queuedBytes());
    }

    @Test
    void samePacketMaySendToManyAndPollRespectsLimitAndOrder()
    {
        final Fabric fabric = Fabric.builder().hosts(3).packetPoolSize(16).build();
        final FabricDriver a = fabric.driverAt(0);
        final Packet packet = a.acquire().length(10);
        for (int i = 0; i < 5; i++)
        {
            packet.buffer().putInt(0, i, ByteOrder.BIG_ENDIAN);
            a.send(packet, fabric.driverAt(1).localAddress(), 0);
            a.flush();
        }
        a.send(packet, fabric.driverAt(2).localAddress(), 0);
        a.send(packet, fabric.driverAt(2).localAddress(), 0);
        assertEquals(2, a.flush());

        final FabricDriver b = fabric.driverAt(1);
        final List<Integer> order = new ArrayList<>();
        final PacketSink record = (p) ->
        {
            order.add(p.buffer().getInt(0, ByteOrder.BIG_ENDIAN));
            b.release(p);
        };
        assertEquals(3, b.poll(record, 3));
        assertEquals(2, b.poll(record, 3));
        assertEquals(List.of(0, 1, 2, 3, 4), order);
        assertEquals(2, fabric.driverAt(2).receiveQueueDepth());
    }

    @Test
    void packetPoolExhaustionIsReportedNotThrown()
    {
        final Fabric fabric = Fabric.builder().hosts(2).packetPoolSize(4).build();
        final FabricDriver a = fabric.driver(A);
        final FabricDriver b = fabric.driver(B);
        final Packet[] held = new Packet[4];
        for (int i = 0; i < 4; i++)
        {
            held[i] = a.acquire();
            assertNotNull(held[i]);
        }
        assertNull(a.acquire(), "pool of 4 is empty");
        assertEquals(0, a.availablePackets());
        a.release(held[3]);
        assertNotNull(a.acquire());

        // Fill the receiver's pool: the fifth and sixth arrivals are tail-dropped and counted.
        held[0].length(20);
        for (int i = 0; i < 6; i++)
        {
            a.send(held[0], B, 1);
        }
        a.flush();
        assertEquals(4, b.receiveQueueDepth());
        assertEquals(2, b.rxPoolDrops());
        assertEquals(2, fabric.drops(DropReason.RX_POOL_EMPTY));
        assertEquals(4, b.poll(b::release, 100));
        a.send(held[0], B, 1);
        a.flush();
        assertEquals(1, b.receiveQueueDepth());
    }

    @Test
    void apiMisuseIsPrecise()
    {
        final Fabric fabric = Fabric.builder().hosts(2).packetPoolSize(4).txBatchCapacity(2).build();
        final FabricDriver a = fabric.driver(A);
        final FabricDriver b = fabric.driver(B);
        final Packet packet = a.acquire();
        assertThrows(IllegalArgumentException.class, () -> a.send(packet, B, 0), "empty packet");
        packet.length(10);
        assertThrows(IllegalArgumentException.class, () -> a.send(packet, B, 8));
        assertThrows(IllegalArgumentException.class, () -> a.send(packet, B, -1));
        assertTrue(a.send(packet, B, 0));
        assertTrue(a.send(packet, B, 0));
        assertFalse(a.send(packet, B, 0), "batch of 2 is full");
        assertEquals(1, a.sendRejects());
        assertEquals(2, a.flush());
        assertThrows(IllegalArgumentException.class, () -> b.release(packet), "not b's packet");
        a.release(packet);
        assertThrows(IllegalStateException.class, () -> a.release(packet), "double release");
        a.close();
        assertThrows(IllegalStateException.class, () -> a.send(packet, B, 0));
        assertThrows(IllegalArgumentException.class, () -> Fabric.builder().build());
        assertThrows(IllegalArgumentException.class, () -> Fabric.builder().hosts(1).linkBitsPerSecond(0).build());
        assertThrows(IllegalArgumentException.class, () -> Fabric.builder().hosts(1).maxPacketLength(70_000).build());
    }

    @Test
    void unknownDestinationAndDownHostsAreDroppedAndCounted()
    {
        final Fabric fabric = Fabric.builder().hosts(2).packetPoolSize(4).build();
        final FabricDriver a = fabric.driver(A);
        final Packet packet = a.acquire().length(10);
        a.send(packet, HostAddress.parseIpv4("198.18.7.7"), 0);
        a.flush();
        assertEquals(1, fabric.drops(DropReason.NO_ROUTE));

        fabric.hostDown(B, true);
        a.send(packet, B, 0);
        a.flush();
        assertEquals(1, fabric.drops(DropReason.HOST_DOWN));
        assertEquals(0, fabric.driver(B).receiveQueueDepth());

        fabric.hostDown(B, false);
        a.send(packet, B, 0);
        a.flush();
        assertEquals(1, fabric.driver(B).receiveQueueDepth());
        assertEquals(2, fabric.drops());
    }

    @Test
    void traceSeesSentEnqueuedDelivered()
    {
        final Fabric fabric = Fabric.builder().hosts(2).packetPoolSize(4).build();
        final FabricTraceRecorder recorder = new FabricTraceRecorder(true, 100);
        fabric.addTraceListener(recorder);
        final FabricDriver a = fabric.driver(A);
        final Packet packet = a.acquire().length(3);
        packet.buffer().putByte(0, (byte)0x10);
        a.send(packet, B, 7);
        a.flush();
        assertEquals(3, recorder.count());
        assertEquals(FabricTraceListener.SENT, recorder.entries().get(0).event());
        assertEquals(FabricTraceListener.ENQUEUED, recorder.entries().get(1).event());
        final FabricTraceRecorder.Entry delivered = recorder.entries().get(2);
        assertEquals(FabricTraceListener.DELIVERED, delivered.event());
        assertEquals(A, delivered.source());
        assertEquals(B, delivered.destination());
        assertEquals(7, delivered.priority());
        assertEquals(0x10, delivered.bytes()[0]);
        final FabricTraceRecorder sentOnly = new FabricTraceRecorder(false, 10, 1 << FabricTraceListener.SENT);
        fabric.addTraceListener(sentOnly);
        a.send(packet, B, 7);
        a.flush();
        assertEquals(1, sentOnly.count());
        assertEquals(6, recorder.count());
        assertEquals(2, recorder.entries(FabricTraceListener.DELIVERED).size());
        fabric.removeTraceListener(recorder);
        a.send(packet, B, 7);
        a.flush();
        assertEquals(6, recorder.count());
        assertEquals(2, sentOnly.count());
    }
}
