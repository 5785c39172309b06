package dev.homa.nic.raw;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.TestSinks;
import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.frame.Ipv4Flyweight;
import dev.homa.test.NetnsPair;
import dev.homa.nic.time.VirtualClock;
import org.agrona.CloseHelper;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two network namespaces joined by veth, one driver in each (opened from a thread that entered the namespace with
 * setns), real frames in both directions.
 */
class RawEthernetDriverTest
{
    private static final long SEED = Long.getLong("homa.seed", 0x5EED_0005L);

    private NetnsPair pair;
    private RawEthernetDriver a;
    private RawEthernetDriver b;

    @BeforeEach
    void setUp() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        System.out.println("seed=" + SEED);
        pair = NetnsPair.create("hraw");
    }

    @AfterEach
    void tearDown()
    {
        CloseHelper.closeAll(a, b, pair);
    }

    private void openBoth() throws Exception
    {
        openBoth(RawEthernetDriverContext.RxRing.V2);
    }

    private void openBoth(final RawEthernetDriverContext.RxRing ring) throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=512&ring=" + ring));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=512&ring=" + ring));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)), "A resolves B");
        assertTrue(b.awaitNeighbour(a.localAddress(), TimeUnit.SECONDS.toNanos(5)), "B resolves A");
    }

    @ParameterizedTest
    @EnumSource(RawEthernetDriverContext.RxRing.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void exchangesHomaPacketsBothWaysAtEveryPriority(final RawEthernetDriverContext.RxRing ring) throws Exception
    {
        openBoth(ring);
        assertEquals(HostAddress.parseIpv4(pair.ipA()), a.localAddress());
        assertEquals(HostAddress.parseIpv4(pair.ipB()), b.localAddress());
        assertEquals(1480, a.maxPacketLength());
        assertEquals(b.localMac(), a.neighbourMac(b.localAddress()));

        final Random random = new Random(SEED);
        final int perPriority = 40;
        for (final RawEthernetDriver[] direction : new RawEthernetDriver[][]{ { a, b }, { b, a } })
        {
            final RawEthernetDriver sender = direction[0];
            final RawEthernetDriver receiver = direction[1];
            final List<byte[]> expected = new ArrayList<>();
            final List<Integer> expectedPriority = new ArrayList<>();
            final List<Packet> batch = new ArrayList<>();
            final List<byte[]> received = new ArrayList<>();
            final List<Integer> receivedPriority = new ArrayList<>();
            final List<Long> receivedSource = new ArrayList<>();
            final PacketSink sink = (packet) ->
            {
                final byte[] bytes = new byte[packet.length()];
                packet.buffer().getBytes(0, bytes);
                received.add(bytes);
                receivedPriority.add(packet.priority());
                receivedSource.add(packet.source());
                receiver.release(packet);
            };
            for (int priority = 0; priority < 8; priority++)
            {
                for (int i = 0; i < perPriority; i++)
                {
                    final Packet packet = sender.acquire();
                    final int length = 28 + random.nextInt(sender.maxPacketLength() - 27);
                    final byte[] bytes = homaLooking(random, length, priority, i);
                    packet.buffer().putBytes(0, bytes);
                    packet.length(length);
                    assertTrue(sender.send(packet, receiver.localAddress(), priority));
                    expected.add(onWire(bytes, sender, receiver));
                    expectedPriority.add(priority);
                    batch.add(packet);
                    if (8 == batch.size())
                    {
                        assertEquals(8, sender.flush());
                        batch.forEach(sender::release);
                        batch.clear();
                        // The receiver polls as it would in service: a TPACKET_V3 block is handed over when its
                        // 1 ms retire timer fires, so a receiver that waited until every batch had gone could find
                        // all four blocks handed over and the rest dropped whenever sending took over 4 ms (a cold
                        // JVM on a busy machine: 48 of 320 frames in one CI run).
                        receiver.poll(sink, 64);
                    }
                }
            }
            assertEquals(batch.size(), sender.flush());
            batch.forEach(sender::release);
            awaitReceived(receiver, sink, received, expected.size());

            assertEquals(expected.size(), received.size());
            for (int i = 0; i < expected.size(); i++)
            {
                assertArrayEquals(expected.get(i), received.get(i), "packet " + i);
                assertEquals(expectedPriority.get(i), receivedPriority.get(i), "priority of packet " + i);
                assertEquals(sender.localAddress(), (long)receivedSource.get(i));
            }
            final RawEthernetCounters rx = receiver.counters();
            assertEquals(8L * perPriority, rx.rxPackets());
            assertEquals(0, rx.rxBadChecksum() + rx.rxMalformed() + rx.rxWrongAddress() + rx.rxNotForUs() +
                rx.rxUntagged() + rx.ringDrops());
            assertEquals(8L * perPriority, sender.counters().txPackets());
            System.out.println(ring + ": exchanged " + received.size() + " packets " +
                HostAddress.toString(sender.localAddress()) + " -> " + HostAddress.toString(receiver.localAddress()));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void netnsOptionOpensTheSocketsInsideTheNamespaceFromAnyThread()
    {
        // Opened from the test thread, which stays in the root namespace: the driver enters the namespace itself.
        a = RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64&netns=" + pair.nsA());
        b = RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64&netns=" + pair.nsB());
        assertEquals(HostAddress.parseIpv4(pair.ipA()), a.localAddress());
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        exchange(a, b, 3);

        final RawEthernetException missing = assertThrows(
            RawEthernetException.class, () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?netns=hraw-none"));
        assertTrue(missing.getMessage().contains("/var/run/netns/hraw-none"), missing.getMessage());
        final RawEthernetException wrongIf = assertThrows(
            RawEthernetException.class,
            () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?netns=" + pair.nsA()));
        assertTrue(wrongIf.getMessage().contains("no network interface named " + pair.ifB()), wrongIf.getMessage());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void untaggedFramesCarryTheLevelAsDscpOnly() throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64&tag=false"));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        assertTrue(b.awaitNeighbour(a.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        final List<Integer> priorities = new ArrayList<>();
        final PacketSink sink = (packet) ->
        {
            priorities.add(packet.priority());
            b.release(packet);
        };
        for (int priority = 0; priority < 8; priority++)
        {
            sendOne(a, b.localAddress(), priority);
        }
        awaitTrue(() ->
        {
            b.poll(sink, 8);
            return 8 == priorities.size();
        }, () -> b.counters().toString());
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), priorities, "the level read back from DSCP");
        assertEquals(8, b.counters().rxUntagged(), "no tag on any frame");
        // The untagged driver takes tagged frames too.
        exchange(b, a, 5);
        assertThrows(IllegalArgumentException.class, () -> RawEthernetDriverContext.fromUri(
            "raw://" + pair.ifA() + "?tag=false&vlan=5").conclude(), "a VLAN id needs a tag");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void acceptsOnlyItsOwnVlan() throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64&vlan=5"));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64&vlan=5"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        exchange(a, b, 4);
        b.close();

        // Same host, other VLAN: counted and dropped.
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64"));
        sendOne(a, b.localAddress(), 6);
        awaitTrue(() ->
        {
            b.poll((packet) -> fail("frame of VLAN 5 delivered to a VLAN 0 driver"), 8);
            return 1 == b.counters().rxNotForUs();
        }, () -> b.counters().toString());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void overloadIsCountedNotHidden() throws Exception
    {
        a = pair.callIn(pair.nsA(),
            () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=1024&txbatch=1024"));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64&blocks=4"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        final int rounds = 8;
        final Packet[] batch = new Packet[1024];
        for (int round = 0; round < rounds; round++)
        {
            for (int i = 0; i < batch.length; i++)
            {
                batch[i] = a.acquire();
                batch[i].length(1400);
                assertTrue(a.send(batch[i], b.localAddress(), 0));
            }
            a.flush();
            for (final Packet packet : batch)
            {
                a.release(packet);
            }
        }
        final RawEthernetCounters tx = a.counters();
        assertEquals(rounds * 1024L, tx.txPackets() + tx.txDropped(), tx.toString());

        // Nothing polled yet: the small ring (4 x 256 KiB = 512 frames) overflows; the kernel counts what it drops.
        final long[] received = new long[1];
        awaitTrue(() ->
        {
            received[0] += b.poll((packet) -> b.release(packet), 256);
            return tx.txPackets() == received[0] + b.counters().ringDrops();
        }, () -> "sent " + tx.txPackets() + ", received " + received[0] + ", " + b.counters());
        System.out.println("overload: handed over " + tx.txPackets() + ", dropped at send " + tx.txDropped() +
            ", received " + received[0] + ", ring drops " + b.counters().ringDrops());
        assertTrue(b.counters().ringDrops() > 0, "the ring did overflow");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void queuedBytesFollowTheLinkOnTheDriversClock() throws Exception
    {
        final VirtualClock clock = new VirtualClock();
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.open(
            RawEthernetDriverContext.fromUri("raw://" + pair.ifA() + "?pool=64&rate=1g").clock(clock)));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        assertEquals(0, a.queuedBytes());
        final Packet[] packets = new Packet[10];
        for (int i = 0; i < packets.length; i++)
        {
            packets[i] = a.acquire();
            packets[i].length(1000);
            assertTrue(a.send(packets[i], b.localAddress(), 4));
        }
        assertEquals(0, a.queuedBytes(), "nothing handed to the NIC before flush");
        assertEquals(10, a.flush());
        final long wireBytes = 10L * (1000 + a.wireOverheadBytes());
        assertEquals(wireBytes, a.queuedBytes(), wireBytes * 0.02, "all frames queued at time 0");
        clock.advanceBy(wireBytes * 8 / 2);     // half of the wire time at 1 Gb/s, in ns
        assertEquals(wireBytes / 2.0, a.queuedBytes(), wireBytes * 0.02, "half drained");
        clock.advanceBy(wireBytes * 8);
        assertEquals(0, a.queuedBytes(), "drained");
        for (final Packet packet : packets)
        {
            a.release(packet);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void framesCarryTheDriversClockUnlessTheSinkNeedsNoTimestamps() throws Exception
    {
        final VirtualClock clock = new VirtualClock();
        clock.advanceBy(12_345);
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64"));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.open(
            RawEthernetDriverContext.fromUri("raw://" + pair.ifB() + "?pool=64").clock(clock)));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        for (final boolean lend : new boolean[]{ false, true })
        {
            sendOne(a, b.localAddress(), 1);
            assertEquals(12_345L, timestampOfOne(b, lend, true));
            sendOne(a, b.localAddress(), 1);
            assertEquals(0L, timestampOfOne(b, lend, false), "no clock read for a sink that reads no timestamp");
        }
    }

    private static long timestampOfOne(final RawEthernetDriver driver, final boolean lend, final boolean stamps)
    {
        final List<Long> got = new ArrayList<>();
        final PacketSink sink = TestSinks.sink((packet) ->
        {
            got.add(packet.timestampNs());
            driver.release(packet);
        }, lend, stamps);
        awaitTrue(() ->
        {
            driver.poll(sink, 1);
            return !got.isEmpty();
        }, () -> "no frame");
        return got.getFirst();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void closedDriverRefusesUse() throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=8"));
        final Packet packet = a.acquire();
        a.close();
        assertThrows(IllegalStateException.class, () -> a.acquire());
        assertThrows(IllegalStateException.class,
            () -> a.send(packet, HostAddress.parseIpv4(pair.ipB()), 0));
        assertThrows(IllegalStateException.class, () -> a.flush());
        assertThrows(IllegalStateException.class, () -> a.poll((p) -> { }, 1));
        a.close();
    }

    @ParameterizedTest
    @EnumSource(RawEthernetDriverContext.RxRing.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void lendsRingFramesInPlaceToSinksThatReleaseBeforeReturning(final RawEthernetDriverContext.RxRing ring)
        throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64"));
        // A pool of 4 packets: 40 frames wait between two polls, more than could be copied out at once.
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=4&ring=" + ring));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        final Random random = new Random(SEED);
        final List<byte[]> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++)
        {
            final byte[] bytes = homaLooking(random, 28 + random.nextInt(1400), i % 8, i);
            final Packet packet = a.acquire();
            packet.buffer().putBytes(0, bytes);
            packet.length(bytes.length);
            assertTrue(a.send(packet, b.localAddress(), i % 8));
            a.flush();
            a.release(packet);
            expected.add(onWire(bytes, a, b));
        }

        final List<byte[]> received = new ArrayList<>();
        final List<Packet> lent = new ArrayList<>();
        final PacketSink sink = lending((packet) ->
        {
            final byte[] bytes = new byte[packet.length()];
            packet.buffer().getBytes(0, bytes);
            assertEquals(received.size() % 8, packet.priority(), "priority of packet " + received.size());
            assertEquals(a.localAddress(), packet.source());
            assertThrows(IllegalArgumentException.class, () -> b.send(packet, a.localAddress(), 0),
                "a lent frame is not a pool packet and cannot be sent");
            received.add(bytes);
            lent.add(packet);
            b.release(packet);
            assertThrows(IllegalStateException.class, () -> b.release(packet), "released twice");
        });
        awaitReceived(b, sink, received, expected.size());
        assertEquals(expected.size(), received.size());
        for (int i = 0; i < expected.size(); i++)
        {
            assertArrayEquals(expected.get(i), received.get(i), "packet " + i);
            assertTrue(lent.get(0) == lent.get(i), "every packet is the one view of the ring, not a pool copy");
        }
        assertEquals(expected.size(), b.counters().rxPackets());
        assertEquals(0, b.counters().ringDrops());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sinkThatKeepsALentFrameFailsAndTheFrameIsNotOfferedAgain() throws Exception
    {
        openBoth();
        sendOne(a, b.localAddress(), 2);
        sendOne(a, b.localAddress(), 5);
        final List<Integer> priorities = new ArrayList<>();
        final List<String> failures = new ArrayList<>();
        awaitTrue(() ->
        {
            try
            {
                b.poll(lending((packet) -> priorities.add(packet.priority())), 1);
            }
            catch (final IllegalStateException ex)
            {
                failures.add(ex.getMessage());
            }
            return 2 == priorities.size();
        }, () -> "delivered " + priorities);
        assertEquals(List.of(2, 5), priorities, "each frame once: a frame the sink failed on is not offered again");
        assertEquals(2, failures.size(), failures.toString());
        assertTrue(failures.get(0).contains("kept a packet"), failures.get(0));
        assertEquals(0, b.poll(lending((packet) -> fail("nothing left")), 8));
    }

    private static PacketSink lending(final java.util.function.Consumer<Packet> body)
    {
        return TestSinks.sink(body, true, true);
    }

    @ParameterizedTest
    @EnumSource(RawEthernetDriverContext.RxRing.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void emptyPoolLeavesFramesInTheRingUntilPacketsAreReleased(final RawEthernetDriverContext.RxRing ring)
        throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64"));
        b = pair.callIn(pair.nsB(),
            () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=8&ring=" + ring));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        final int total = 20;
        for (int i = 0; i < total; i++)
        {
            final Packet packet = a.acquire();
            packet.buffer().putInt(0, i, BIG_ENDIAN);
            packet.length(64);
            assertTrue(a.send(packet, b.localAddress(), 1));
            a.flush();
            a.release(packet);
        }

        final List<Packet> held = new ArrayList<>();
        final List<Integer> order = new ArrayList<>();
        awaitTrue(() ->
        {
            b.poll((packet) ->
            {
                held.add(packet);
                order.add(packet.buffer().getInt(0, BIG_ENDIAN));
            }, 64);
            return 8 == held.size();
        }, () -> "held " + held.size());
        assertEquals(0, b.poll((packet) -> fail("pool is empty, nothing can be delivered"), 64));

        while (order.size() < total)
        {
            held.forEach(b::release);
            held.clear();
            awaitTrue(() ->
            {
                b.poll((packet) ->
                {
                    held.add(packet);
                    order.add(packet.buffer().getInt(0, BIG_ENDIAN));
                }, 64);
                return 8 == held.size() || order.size() == total;
            }, () -> "received " + order);
        }
        held.forEach(b::release);
        final List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < total; i++)
        {
            expected.add(i);
        }
        assertEquals(expected, order, "every frame delivered once, in order, none lost while the pool was empty");
        assertEquals(total, b.counters().rxPackets());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void offloadedChecksumGathersPayloadPiecesAfterTheHeader() throws Exception
    {
        openBoth();
        assertTrue(a.completesChecksum(), "PACKET_VNET_HDR is on by default");
        assertTrue(a.gathersPayload());
        final Random random = new Random(SEED);
        final byte[] header = homaLooking(random, 60, 3, 9);
        final byte[] payload = new byte[1400];
        random.nextBytes(payload);
        final UnsafeBuffer offHeap = new UnsafeBuffer(BufferUtil.allocateDirectAligned(payload.length, 64));
        offHeap.putBytes(0, payload);
        final int[] cuts = { 0, 1, 700, 1301, payload.length };
        final Packet packet = a.acquire();
        packet.buffer().putBytes(0, header);
        packet.length(header.length);
        for (int i = 0; i + 1 < cuts.length; i++)
        {
            assertTrue(packet.appendPayload(offHeap.addressOffset() + cuts[i], cuts[i + 1] - cuts[i]));
        }
        // Twice in one batch: the second frame's prefix and first Homa bytes go through the staging buffer.
        assertTrue(a.send(packet, b.localAddress(), 4));
        assertTrue(a.send(packet, b.localAddress(), 6));
        assertEquals(2, a.flush());
        a.release(packet);
        assertEquals(1, a.counters().txStagedHeaders());

        final byte[] whole = new byte[header.length + payload.length];
        System.arraycopy(header, 0, whole, 0, header.length);
        System.arraycopy(payload, 0, whole, header.length, payload.length);
        final byte[] expected = onWire(whole, a, b);
        final List<byte[]> received = new ArrayList<>();
        awaitReceived(b, (p) ->
        {
            final byte[] bytes = new byte[p.length()];
            p.buffer().getBytes(0, bytes);
            received.add(bytes);
            b.release(p);
        }, received, 2);
        assertArrayEquals(expected, received.get(0), "header, then every payload piece in order");
        assertArrayEquals(expected, received.get(1), "the staged copy");
        assertEquals(2L * (FrameLayout.TAGGED_HEADER_LENGTH + whole.length), a.counters().txBytes());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void softwareChecksumModeLeavesEveryByteAsSent() throws Exception
    {
        a = pair.callIn(pair.nsA(),
            () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64&checksum=software"));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)), "A resolves B");
        assertFalse(a.completesChecksum());
        assertFalse(a.gathersPayload(), "a packet whose checksum the protocol fills holds all of its bytes");
        final byte[] bytes = homaLooking(new Random(SEED), 900, 2, 4);
        final Packet packet = a.acquire();
        packet.buffer().putBytes(0, bytes);
        packet.length(bytes.length);
        assertTrue(a.send(packet, b.localAddress(), 2));
        assertEquals(1, a.flush());
        a.release(packet);
        final List<byte[]> received = new ArrayList<>();
        awaitReceived(b, (p) ->
        {
            final byte[] copy = new byte[p.length()];
            p.buffer().getBytes(0, copy);
            received.add(copy);
            b.release(p);
        }, received, 1);
        assertArrayEquals(bytes, received.get(0));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void samePacketQueuedTwiceInOneBatchKeepsBothHeaders() throws Exception
    {
        openBoth();
        final Packet packet = a.acquire();
        final byte[] bytes = homaLooking(new Random(SEED), 600, 5, 1);
        packet.buffer().putBytes(0, bytes);
        packet.length(bytes.length);
        assertTrue(a.send(packet, b.localAddress(), 7));
        assertTrue(a.send(packet, b.localAddress(), 2));
        assertEquals(2, a.flush());
        a.release(packet);
        assertEquals(1, a.counters().txStagedHeaders());

        final List<Integer> priorities = new ArrayList<>();
        awaitTrue(() ->
        {
            b.poll((received) ->
            {
                final byte[] copy = new byte[received.length()];
                received.buffer().getBytes(0, copy);
                assertArrayEquals(onWire(bytes, a, b), copy);
                priorities.add(received.priority());
                b.release(received);
            }, 8);
            return priorities.size() >= 2;
        }, () -> "received " + priorities);
        assertEquals(List.of(7, 2), priorities);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void dropsFramesNotForUsAndCountsThem() throws Exception
    {
        openBoth();
        // Bad IPv4 header checksum: corrupt the header written in the packet's headroom after send().
        final Packet bad = a.acquire();
        bad.buffer().putBytes(0, homaLooking(new Random(SEED), 100, 3, 0));
        bad.length(100);
        assertTrue(a.send(bad, b.localAddress(), 3));
        final UnsafeBuffer header = new UnsafeBuffer(bad.buffer().addressOffset() - FrameLayout.TAGGED_HEADER_LENGTH,
            FrameLayout.TAGGED_HEADER_LENGTH);
        final int checksumOffset = FrameLayout.ETHERNET_HEADER_LENGTH + FrameLayout.VLAN_TAG_LENGTH +
            Ipv4Flyweight.HEADER_CHECKSUM_OFFSET;
        header.putShort(checksumOffset, (short)(header.getShort(checksumOffset, BIG_ENDIAN) ^ 0x0101), BIG_ENDIAN);
        assertEquals(1, a.flush());
        a.release(bad);

        // Another IP behind B's MAC: a static neighbour entry in A makes A address B's NIC with 198.18.0.99.
        final long other = HostAddress.parseIpv4("198.18.0.99");
        pair.exec(pair.nsA(), "ip", "neigh", "replace", "198.18.0.99", "lladdr",
            EthernetFlyweight.macToString(b.localMac()), "dev", pair.ifA(), "nud", "permanent");
        assertTrue(a.awaitNeighbour(other, TimeUnit.SECONDS.toNanos(2)));
        sendOne(a, other, 1);

        // B's IP behind another MAC: the frame reaches B's veth (which delivers anything) with a foreign MAC.
        final long bAddress = b.localAddress();
        pair.exec(pair.nsA(), "ip", "neigh", "replace", pair.ipB(), "lladdr", "02:00:00:00:00:99",
            "dev", pair.ifA(), "nud", "permanent");
        assertTrue(a.awaitNeighbour(bAddress, TimeUnit.SECONDS.toNanos(2)));
        assertEquals(0x0200_0000_0099L, a.neighbourMac(bAddress));
        sendOne(a, bAddress, 4);

        awaitTrue(() ->
        {
            b.poll((packet) -> fail("nothing should be delivered"), 8);
            final RawEthernetCounters counters = b.counters();
            return 1 == counters.rxBadChecksum() && 1 == counters.rxWrongAddress() && 1 == counters.rxNotForUs();
        }, () -> b.counters().toString());
        assertEquals(0, b.counters().rxPackets());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void dropsMartianSourcesAndStackedTagsAsTheIpLayerWould() throws Exception
    {
        openBoth();
        final int aIp = HostAddress.ipv4Of(a.localAddress());
        final int bIp = HostAddress.ipv4Of(b.localAddress());
        final int[] martians = {
            0xFFFF_FFFF, 0, 0x00A0_0001, 0xE000_0001, 0xEFFF_FFFA, 0xF000_0001, 0x7F00_0001, bIp };
        for (final int source : martians)
        {
            sendFrame(a, b, forgedFrame(a.localMac(), b.localMac(), source, bIp, false));
        }
        // A group (multicast) source MAC with a good source IP, and a frame with two tags.
        sendFrame(a, b, forgedFrame(a.localMac() | 0x0100_0000_0000L, b.localMac(), aIp, bIp, false));
        sendFrame(a, b, forgedFrame(a.localMac(), b.localMac(), aIp, bIp, true));
        // The control: the same frame from A's own address is delivered.
        sendFrame(a, b, forgedFrame(a.localMac(), b.localMac(), aIp, bIp, false));

        final List<Long> sources = new ArrayList<>();
        awaitTrue(() ->
        {
            b.poll(TestSinks.sink((packet) ->
            {
                sources.add(packet.source());
                b.release(packet);
            }, true, false), 16);
            final RawEthernetCounters counters = b.counters();
            return 1 == sources.size() && martians.length + 1 == counters.rxMartianSource() &&
                1 == counters.rxStackedTags();
        }, () -> sources + " " + b.counters());
        assertEquals(List.of(a.localAddress()), sources);
    }

    @Test
    void martianSourcesAreTheIpLayersOnes()
    {
        final int local = 0xC612_0002;
        final int broadcast = 0xC612_00FF;
        for (final int martian : new int[] {
            0, 0x00FF_FFFF, 0x7F00_0001, 0xE000_0000, 0xEFFF_FFFF, 0xF000_0000, 0xFFFF_FFFF, local, broadcast })
        {
            assertTrue(ReceiveValidator.isMartianSource(martian, local, broadcast), Integer.toHexString(martian));
        }
        for (final int fine : new int[] { 0x0100_0000, 0x0A00_0001, 0xC612_0001, 0xC612_0000, 0xDFFF_FFFF })
        {
            assertFalse(ReceiveValidator.isMartianSource(fine, local, broadcast), Integer.toHexString(fine));
        }
        assertFalse(ReceiveValidator.isMartianSource(0x7F00_0001, 0x7F00_0002, 0), "loopback on loopback");
        assertFalse(ReceiveValidator.isMartianSource(0xC612_00FF, local, 0), "no broadcast address known");
    }

    /**
     * Send exactly these frame bytes: the driver writes its header into the headroom in front of the packet, and
     * the frame is rewritten after {@code send} and before {@code flush}.
     */
    private static void sendFrame(final RawEthernetDriver sender, final RawEthernetDriver receiver, final byte[] frame)
    {
        final Packet packet = sender.acquire();
        assertNotNull(packet);
        packet.length(frame.length - FrameLayout.TAGGED_HEADER_LENGTH);
        assertTrue(sender.send(packet, receiver.localAddress(), 0));
        new UnsafeBuffer(packet.buffer().addressOffset() - FrameLayout.TAGGED_HEADER_LENGTH, frame.length)
            .putBytes(0, frame);
        assertEquals(1, sender.flush());
        sender.release(packet);
    }

    /**
     * A tagged Ethernet + IPv4 (protocol 146, valid checksum) frame with 64 Homa-looking bytes, from any source
     * address; with {@code stacked}, a second 802.1Q tag inside the first.
     */
    private static byte[] forgedFrame(
        final long sourceMac, final long destinationMac, final int sourceIp, final int destinationIp,
        final boolean stacked)
    {
        final byte[] homa = homaLooking(new Random(SEED), 64, 0, 0);
        final int tags = stacked ? 2 : 1;
        final int ipOffset = FrameLayout.ETHERNET_HEADER_LENGTH + tags * FrameLayout.VLAN_TAG_LENGTH;
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[ipOffset + Ipv4Flyweight.HEADER_LENGTH + homa.length]);
        EthernetFlyweight.putMac(frame, 0, destinationMac);
        EthernetFlyweight.putMac(frame, 6, sourceMac);
        int offset = 12;
        for (int i = 0; i < tags; i++)
        {
            frame.putShort(offset, (short)EthernetFlyweight.ETHER_TYPE_VLAN, BIG_ENDIAN);
            frame.putShort(offset + 2, (short)(1 << 13), BIG_ENDIAN);
            offset += 4;
        }
        frame.putShort(offset, (short)EthernetFlyweight.ETHER_TYPE_IPV4, BIG_ENDIAN);
        frame.putByte(ipOffset, (byte)0x45);
        frame.putShort(ipOffset + Ipv4Flyweight.TOTAL_LENGTH_OFFSET,
            (short)(Ipv4Flyweight.HEADER_LENGTH + homa.length), BIG_ENDIAN);
        frame.putShort(ipOffset + Ipv4Flyweight.FLAGS_FRAGMENT_OFFSET, (short)Ipv4Flyweight.FLAG_DONT_FRAGMENT,
            BIG_ENDIAN);
        frame.putByte(ipOffset + Ipv4Flyweight.TTL_OFFSET, (byte)Ipv4Flyweight.DEFAULT_TTL);
        frame.putByte(ipOffset + Ipv4Flyweight.PROTOCOL_OFFSET, (byte)Ipv4Flyweight.PROTOCOL_HOMA);
        frame.putInt(ipOffset + Ipv4Flyweight.SOURCE_ADDRESS_OFFSET, sourceIp, BIG_ENDIAN);
        frame.putInt(ipOffset + Ipv4Flyweight.DESTINATION_ADDRESS_OFFSET, destinationIp, BIG_ENDIAN);
        frame.putShort(ipOffset + Ipv4Flyweight.HEADER_CHECKSUM_OFFSET,
            (short)Ipv4Flyweight.checksum(frame, ipOffset, Ipv4Flyweight.HEADER_LENGTH), BIG_ENDIAN);
        frame.putBytes(ipOffset + Ipv4Flyweight.HEADER_LENGTH, homa);
        return frame.byteArray();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void resolvesAMissingNeighbourThroughTheKernel() throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64"));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64"));
        assertEquals(-1L, a.neighbourMac(b.localAddress()), "fresh namespace has no entry");

        // The first send finds no MAC: the kernel is asked to ARP and the packet waits for the answer (as the
        // kernel's neighbour layer holds it), then leaves without being sent again.
        sendOne(a, b.localAddress(), 2);
        assertEquals(1, a.counters().txHeld());
        final int[] got = new int[1];
        awaitTrue(() ->
        {
            a.poll(a::release, 8);
            b.poll((packet) ->
            {
                got[0]++;
                b.release(packet);
            }, 8);
            return 1 == got[0];
        }, () -> a.counters() + " / " + b.counters());

        assertEquals(0, a.counters().txUnresolved(), "nothing dropped");
        assertEquals(b.localMac(), a.neighbourMac(b.localAddress()));
        assertTrue(pair.exec(pair.nsA(), "ip", "neigh", "show", pair.ipB())
            .contains(EthernetFlyweight.macToString(b.localMac())));

        sendOne(a, b.localAddress(), 2);
        awaitTrue(() ->
        {
            b.poll((packet) ->
            {
                got[0]++;
                b.release(packet);
            }, 8);
            return 2 == got[0];
        }, () -> b.counters().toString());
        assertEquals(1, a.counters().txHeld(), "the second went at once");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void periodicRefreshPicksUpAChangedNeighbourMac() throws Exception
    {
        a = pair.callIn(pair.nsA(),
            () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=16&neighbourRefreshMs=20"));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=16"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        assertEquals(b.localMac(), a.neighbourMac(b.localAddress()));

        // The kernel learns a new MAC for B (a NIC swap, a failover): flush() reloads the table on its period.
        pair.exec(pair.nsA(), "ip", "neigh", "replace", pair.ipB(), "lladdr", "02:00:00:00:00:42",
            "dev", pair.ifA(), "nud", "permanent");
        awaitTrue(() ->
        {
            a.flush();
            return 0x0200_0000_0042L == a.neighbourMac(b.localAddress());
        }, () -> "MAC still " + Long.toHexString(a.neighbourMac(b.localAddress())));

        // And an entry that disappears from the kernel disappears from the driver.
        pair.exec(pair.nsA(), "ip", "neigh", "del", pair.ipB(), "dev", pair.ifA());
        awaitTrue(() ->
        {
            a.flush();
            return -1L == a.neighbourMac(b.localAddress());
        }, () -> "entry still cached");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void keepsIcmpProtocolUnreachableOffTheWire() throws Exception
    {
        // Control: B with the guard off lets its kernel answer Homa with ICMP protocol-unreachable.
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=64"));
        b = pair.callIn(pair.nsB(),
            () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64&icmpGuard=false"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
        final long before = outDestUnreachs(pair.nsB());
        exchange(a, b, 5);
        final long unguarded = outDestUnreachs(pair.nsB()) - before;
        assertTrue(unguarded >= 1, "without the guard the kernel sends ICMP: " + unguarded);
        b.close();

        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=64"));
        final long guardedBefore = outDestUnreachs(pair.nsB());
        exchange(a, b, 50);
        assertEquals(0, outDestUnreachs(pair.nsB()) - guardedBefore, "ICMP sent while the guard is open");
        System.out.println("ICMP dest-unreachable sent: unguarded " + unguarded + " for 5 packets, guarded 0 for 50");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void fanoutSpreadsFramesOverTheGroupsSockets() throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=256"));
        b = pair.callIn(pair.nsB(),
            () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=256&fanout=4242&fanoutMode=lb"));
        try (RawEthernetDriver b2 = pair.callIn(pair.nsB(),
            () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=256&fanout=4242&fanoutMode=lb")))
        {
            assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
            final int total = 100;
            for (int i = 0; i < total; i++)
            {
                sendOne(a, b.localAddress(), i & 7);
            }
            final int[] counts = new int[2];
            awaitTrue(() ->
            {
                b.poll((packet) ->
                {
                    counts[0]++;
                    b.release(packet);
                }, 64);
                b2.poll((packet) ->
                {
                    counts[1]++;
                    b2.release(packet);
                }, 64);
                return total == counts[0] + counts[1];
            }, () -> counts[0] + " + " + counts[1]);
            assertEquals(total / 2, counts[0], "round robin");
            assertEquals(total / 2, counts[1], "round robin");
        }
    }

    private void exchange(final RawEthernetDriver sender, final RawEthernetDriver receiver, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            sendOne(sender, receiver.localAddress(), 3);
        }
        final int[] got = new int[1];
        awaitTrue(() ->
        {
            receiver.poll((packet) ->
            {
                got[0]++;
                receiver.release(packet);
            }, 64);
            return count == got[0];
        }, () -> got[0] + " of " + count);
    }

    static void sendOne(final RawEthernetDriver sender, final long destination, final int priority)
    {
        final Packet packet = sender.acquire();
        assertNotNull(packet);
        final byte[] bytes = homaLooking(new Random(priority), 64, priority, 0);
        packet.buffer().putBytes(0, bytes);
        packet.length(bytes.length);
        assertTrue(sender.send(packet, destination, priority));
        sender.flush();
        sender.release(packet);
    }

    /**
     * {@code from} sends {@code to} one packet and {@code to} takes it in, so that {@code to} has heard Homa from
     * {@code from} (which lets it send runs of DATA there as offload frames).
     */
    static void introduce(final RawEthernetDriver from, final RawEthernetDriver to)
    {
        sendOne(from, to.localAddress(), 0);
        final int[] heard = new int[1];
        awaitTrue(() ->
        {
            to.poll((p) ->
            {
                heard[0]++;
                to.release(p);
            }, 16);
            return heard[0] > 0;
        }, () -> "heard: " + to.counters());
    }

    private long outDestUnreachs(final String ns)
    {
        final String snmp = pair.exec(ns, "cat", "/proc/net/snmp");
        String[] names = null;
        for (final String line : snmp.split("\n"))
        {
            if (line.startsWith("Icmp:"))
            {
                if (null == names)
                {
                    names = line.split("\\s+");
                }
                else
                {
                    final String[] values = line.split("\\s+");
                    for (int i = 0; i < names.length; i++)
                    {
                        if ("OutDestUnreachs".equals(names[i]))
                        {
                            return Long.parseLong(values[i]);
                        }
                    }
                }
            }
        }
        throw new IllegalStateException("no Icmp OutDestUnreachs in /proc/net/snmp");
    }

    /**
     * The bytes a receiver gets for a packet sent as {@code bytes}: the same, except that a sender offloading the
     * checksum leaves the seed of the partial checksum in its field (a veth pair does not complete it).
     */
    static byte[] onWire(final byte[] bytes, final RawEthernetDriver sender, final RawEthernetDriver receiver)
    {
        final byte[] copy = bytes.clone();
        if (sender.completesChecksum())
        {
            new UnsafeBuffer(copy).putShort(HomaChecksum.CHECKSUM_OFFSET, (short)HomaChecksum.seed(copy.length,
                HostAddress.ipv4Of(sender.localAddress()), HostAddress.ipv4Of(receiver.localAddress())), BIG_ENDIAN);
        }
        return copy;
    }

    /**
     * Bytes that look like a Homa DATA packet: the 28-byte common header (ports, doff, type 0x10, sender id)
     * followed by a seeded payload.
     */
    static byte[] homaLooking(final Random random, final int length, final int priority, final int index)
    {
        final byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
        buffer.putShort(0, (short)40000, BIG_ENDIAN);
        buffer.putShort(2, (short)99, BIG_ENDIAN);
        buffer.putByte(12, (byte)(14 << 4));
        buffer.putByte(13, (byte)0x10);
        buffer.putLong(20, ((long)priority << 32) | index, BIG_ENDIAN);
        return bytes;
    }

    private static void awaitReceived(
        final RawEthernetDriver receiver, final PacketSink sink, final List<?> received, final int count)
    {
        awaitTrue(() ->
        {
            receiver.poll(sink, 64);
            return received.size() >= count;
        }, () -> "received " + received.size() + " of " + count + " " + receiver.counters());
    }

    static void awaitTrue(final BooleanSupplier condition, final java.util.function.Supplier<String> message)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadline > 0)
            {
                fail("timed out: " + message.get());
            }
            Thread.onSpinWait();
        }
    }
}
