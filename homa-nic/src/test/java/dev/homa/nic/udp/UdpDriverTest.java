package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.TestSinks;
import dev.homa.nic.frame.AllocationMeter;
import dev.homa.nic.time.VirtualClock;
import dev.homa.test.Capabilities;
import org.agrona.BitUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two drivers on 127.0.0.1 exchange real datagrams. Every test runs both drivers on the test thread, which becomes
 * their owner (the thread that drives Netty's loop).
 */
@Timeout(60)
class UdpDriverTest
{
    static final long LOOPBACK = HostAddress.parseIpv4("127.0.0.1");

    /**
     * A driver context on loopback with Ethernet's 1,500-byte MTU: the tests exercise the path a NIC gives (packets of
     * 1,472 bytes, GSO runs of them), where loopback's own MTU of 64 KiB would make every packet one datagram.
     */
    static UdpDriverContext ethernet()
    {
        return new UdpDriverContext().bindAddress(LOOPBACK).mtu(1500);
    }

    private final List<UdpDriver> drivers = new ArrayList<>();

    @AfterEach
    void closeDrivers()
    {
        for (final UdpDriver driver : drivers)
        {
            driver.close();
        }
    }

    UdpDriver open(final UdpDriverContext context)
    {
        final UdpDriver driver = new UdpDriver(context);
        drivers.add(driver);
        return driver;
    }

    static long seed()
    {
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("seed=" + seed);
        return seed;
    }

    @ParameterizedTest(name = "{0} gso={1} gro={2}")
    @CsvSource({
        "NATIVE,true,true", "NATIVE,true,false", "NATIVE,false,true", "NATIVE,false,false",
        "NETTY,true,true", "NETTY,true,false", "NETTY,false,true", "NETTY,false,false" })
    @Timeout(60)
    void exchangesPacketsAtAllPrioritiesByteExactInBothDirections(
        final UdpDriverContext.Datapath datapath, final boolean gso, final boolean gro)
    {
        final Random random = new Random(seed());
        final UdpDriver a = open(ethernet().datapath(datapath).gso(gso).gro(gro));
        final UdpDriver b = open(ethernet().datapath(datapath).gso(gso).gro(gro));
        assertEquals(1472, a.maxPacketLength());
        assertEquals(8, a.priorityLevels());
        assertEquals(HostAddress.ipv4Of(LOOPBACK), HostAddress.ipv4Of(a.localAddress()));
        assertTrue(HostAddress.portOf(a.localAddress()) != 0);
        assertFalse(gso && !a.gsoEnabled(), "GSO requested and supported by this kernel");
        assertFalse(!gso && a.gsoEnabled());
        assertEquals(gro, a.groEnabled(), "GRO requested and supported by this kernel");
        assertTrue(a.prioritySteering(), "reuseport steering attaches without privilege");
        assertEquals(UdpDriverContext.Datapath.NATIVE == datapath, a.singleReceiveSocket());
        assertEquals(a.socketReceiveBufferBytes() / 2, a.receiveQueueBytes(), "the kernel accounts twice the bytes");

        int sequence = 0;
        for (int round = 0; round < 20; round++)
        {
            sequence = sendBatch(random, a, b, sequence);
            sequence = sendBatch(random, b, a, sequence);
        }
        if (gso)
        {
            assertTrue(a.counters().gsoSends() > 0 && b.counters().gsoSends() > 0,
                "runs of full packets went out as GSO");
            assertTrue(a.counters().gsoSegments() >= 2 * a.counters().gsoSends());
            if (UdpDriverContext.Datapath.NATIVE == datapath)
            {
                assertEquals(a.counters().gsoSends(), a.counters().gsoStaged(),
                    "a batch's few runs all leave from contiguous copies");
            }
            if (gro && UdpDriverContext.Datapath.NATIVE == datapath)
            {
                assertTrue(a.counters().groSuperDatagrams() > 0 && b.counters().groSuperDatagrams() > 0,
                    "GSO runs arrive coalesced and are cut at the UDP_GRO segment size");
            }
        }
        assertEquals(0, a.counters().rxDroppedNoBuffer() + b.counters().rxDroppedNoBuffer());
        assertEquals(0, a.counters().ioErrors() + b.counters().ioErrors());
        assertEquals(a.freePackets(), UdpDriverContext.POOL_SIZE_DEFAULT);
        assertEquals(b.freePackets(), UdpDriverContext.POOL_SIZE_DEFAULT);
    }

    @ParameterizedTest(name = "gso={0} gro={1}")
    @CsvSource({ "true,true", "true,false", "false,true", "false,false" })
    @Timeout(60)
    void gathersPayloadPiecesOntoTheWireByteExact(final boolean gso, final boolean gro)
    {
        final Random random = new Random(seed());
        final UdpDriver a = open(ethernet().gso(gso).gro(gro));
        final UdpDriver b = open(ethernet().gso(gso).gro(gro));
        assertTrue(a.gathersPayload(), "the native datapath gathers");
        int sequence = 0;
        for (int round = 0; round < 20; round++)
        {
            sequence = sendBatch(random, a, b, sequence, true);
            sequence = sendBatch(random, b, a, sequence, true);
        }
        if (gso)
        {
            assertTrue(a.counters().gsoSends() > 0, "runs of gathered packets of one length still go out as GSO");
        }
        assertFalse(open(ethernet().datapath(UdpDriverContext.Datapath.NETTY)).gathersPayload(),
            "the Netty datapath copies");
    }

    /**
     * A batch of more GSO runs at one level than {@link RunStaging} has slots: the first runs leave from contiguous
     * copies, the rest gathered from their pieces, all byte-exact.
     */
    @Test
    @Timeout(60)
    void stagesRunsWhileSlotsLastThenGathersTheRestByteExact()
    {
        final Random random = new Random(seed());
        final UdpDriver a = open(ethernet().gso(true));
        final UdpDriver b = open(ethernet());
        assumeTrue(a.gsoEnabled(), "this kernel has UDP GSO");
        final Map<Integer, byte[]> expected = new HashMap<>();
        final Map<Integer, Integer> expectedPriority = new HashMap<>();
        final List<Packet> sent = new ArrayList<>();
        final int runs = 20;
        int sequence = 0;
        for (int run = 0; run < runs; run++)
        {
            // Two full packets and a shorter one: the short one ends the run, so the next starts a new one.
            for (int k = 0; k < 3; k++)
            {
                final byte[] bytes = new byte[k < 2 ? a.maxPacketLength() : 100 + random.nextInt(1000)];
                random.nextBytes(bytes);
                new UnsafeBuffer(bytes).putInt(0, sequence, java.nio.ByteOrder.BIG_ENDIAN);
                final Packet packet = a.acquire();
                assertNotNull(packet);
                packet.buffer().putBytes(0, bytes);
                packet.length(bytes.length);
                assertTrue(a.send(packet, b.localAddress(), 3));
                expected.put(sequence, bytes);
                expectedPriority.put(sequence, 3);
                sent.add(packet);
                sequence++;
            }
        }
        flushAndReceive(a, b, sent, expected, expectedPriority);
        assertEquals(runs, a.counters().gsoSends());
        assertTrue(a.counters().gsoStaged() > 0 && a.counters().gsoStaged() < runs,
            "staged " + a.counters().gsoStaged() + " of " + runs + " runs");
        assertEquals(0, a.counters().ioErrors());
    }

    @ParameterizedTest(name = "gso={0} gro={1}")
    @CsvSource({ "true,true", "false,false" })
    @Timeout(60)
    void nativeFallbackWithOneSocketPerLevelAlsoExchangesByteExact(final boolean gso, final boolean gro)
    {
        final Random random = new Random(seed());
        final UdpDriver a = open(ethernet().singleReceiveSocket(false)
            .gso(gso).gro(gro));
        final UdpDriver b = open(ethernet().singleReceiveSocket(false)
            .gso(gso).gro(gro));
        assertFalse(a.singleReceiveSocket());
        assertTrue(a.prioritySteering());
        int sequence = 0;
        for (int round = 0; round < 10; round++)
        {
            sequence = sendBatch(random, a, b, sequence);
            sequence = sendBatch(random, b, a, sequence);
        }
        assertEquals(0, a.counters().ioErrors() + b.counters().ioErrors());
    }

    /**
     * One flush worth of packets: runs of full-size packets to one level (GSO material) mixed with single packets of
     * random length at random levels. Every packet carries its sequence number and seeded random bytes.
     */
    static int sendBatch(final Random random, final UdpDriver from, final UdpDriver to, final int firstSequence)
    {
        return sendBatch(random, from, to, firstSequence, false);
    }

    /**
     * @param gather put each packet's bytes past a random split point (8 or more bytes in) into 1 to 4 gathered
     *               pieces of native memory instead of the packet.
     */
    static int sendBatch(
        final Random random, final UdpDriver from, final UdpDriver to, final int firstSequence, final boolean gather)
    {
        final UnsafeBuffer staging = new UnsafeBuffer(ByteBuffer.allocateDirect(40 * from.maxPacketLength() * 8));
        int stagingUsed = 0;
        final Map<Integer, byte[]> expected = new HashMap<>();
        final Map<Integer, Integer> expectedPriority = new HashMap<>();
        final List<Packet> sent = new ArrayList<>();
        int sequence = firstSequence;
        final int groups = 1 + random.nextInt(8);
        for (int g = 0; g < groups; g++)
        {
            final int level = random.nextInt(8);
            final boolean run = random.nextBoolean();
            final int count = run ? 2 + random.nextInt(30) : 1;
            for (int k = 0; k < count; k++)
            {
                final int length = run && k < count - 1 ? from.maxPacketLength() :
                    8 + random.nextInt(from.maxPacketLength() - 7);
                final byte[] bytes = new byte[length];
                random.nextBytes(bytes);
                bytes[0] = (byte)(sequence >>> 24);
                bytes[1] = (byte)(sequence >>> 16);
                bytes[2] = (byte)(sequence >>> 8);
                bytes[3] = (byte)sequence;
                final Packet packet = from.acquire();
                assertNotNull(packet);
                if (gather)
                {
                    final int own = Math.min(length, 8 + random.nextInt(Math.max(1, length - 7)));
                    packet.buffer().putBytes(0, bytes, 0, own);
                    packet.length(own);
                    int at = own;
                    final int pieces = 1 + random.nextInt(Packet.MAX_PAYLOAD_SEGMENTS);
                    for (int piece = 0; piece < pieces && at < length; piece++)
                    {
                        final int n = piece == pieces - 1 ? length - at : 1 + random.nextInt(length - at);
                        staging.putBytes(stagingUsed, bytes, at, n);
                        assertTrue(packet.appendPayload(staging.addressOffset() + stagingUsed, n));
                        stagingUsed += n;
                        at += n;
                    }
                    assertEquals(length, packet.wireLength());
                }
                else
                {
                    packet.buffer().putBytes(0, bytes);
                    packet.length(length);
                }
                assertTrue(from.send(packet, to.localAddress(), level));
                expected.put(sequence, bytes);
                expectedPriority.put(sequence, level);
                sent.add(packet);
                sequence++;
            }
        }
        flushAndReceive(from, to, sent, expected, expectedPriority);
        return sequence;
    }

    /**
     * Flushes {@code from}, whose queued packets are {@code sent}, and releases them; then polls {@code to} until
     * every expected packet has arrived from {@code from}, each once, byte-exact, at its level.
     */
    static void flushAndReceive(
        final UdpDriver from, final UdpDriver to, final List<Packet> sent, final Map<Integer, byte[]> expected,
        final Map<Integer, Integer> expectedPriority)
    {
        assertEquals(sent.size(), from.flush());
        for (final Packet packet : sent)
        {
            from.release(packet);
        }
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        while (!expected.isEmpty())
        {
            to.poll(packet ->
            {
                try
                {
                    final int seq = packet.buffer().getInt(0, java.nio.ByteOrder.BIG_ENDIAN);
                    final byte[] want = expected.remove(seq);
                    assertNotNull(want, "unexpected or duplicate packet " + seq);
                    final byte[] got = new byte[packet.length()];
                    packet.buffer().getBytes(0, got);
                    assertArrayEquals(want, got, "payload of packet " + seq);
                    assertEquals(from.localAddress(), packet.source());
                    assertEquals((int)expectedPriority.get(seq), packet.priority(), "priority of packet " + seq);
                    assertTrue(packet.timestampNs() > 0);
                }
                finally
                {
                    to.release(packet);
                }
            }, 64);
            if (System.nanoTime() > deadlineNs)
            {
                fail("missing " + expected.size() + " packets, first " + expected.keySet().iterator().next() +
                    "; drops noBuffer=" + to.counters().rxDroppedNoBuffer() + " oversize=" +
                    to.counters().rxDroppedOversize());
            }
        }
    }

    @Test
    @Timeout(30)
    void lendsCoalescedSegmentsInPlaceToASinkThatReleasesBeforeReturning()
    {
        final UdpDriver a = open(ethernet());
        final UdpDriver b = open(ethernet());
        final int count = 21;
        final List<Packet> sent = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            final Packet packet = a.acquire();
            final int length = i < count - 1 ? a.maxPacketLength() : 100;
            for (int j = 0; j < length; j++)
            {
                packet.buffer().putByte(j, (byte)(i * 31 + j));
            }
            packet.length(length);
            assertTrue(a.send(packet, b.localAddress(), 3));
            sent.add(packet);
        }
        assertEquals(count, a.flush());
        sent.forEach(a::release);

        final int pool = b.freePackets();
        final int[] received = new int[1];
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        while (received[0] < count)
        {
            b.poll(TestSinks.sink(packet ->
            {
                final int i = received[0]++;
                assertEquals(pool, b.freePackets(), "a lent segment takes no pool slot");
                assertEquals(i < count - 1 ? a.maxPacketLength() : 100, packet.length());
                for (int j = 0; j < packet.length(); j++)
                {
                    assertEquals((byte)(i * 31 + j), packet.buffer().getByte(j), "byte " + j + " of packet " + i);
                }
                b.release(packet);
            }, true, false), 64);
            assertTrue(System.nanoTime() < deadlineNs, "received " + received[0]);
        }
        assertTrue(b.counters().groSuperDatagrams() > 0, "the run arrived coalesced");
        assertEquals(pool, b.freePackets());
    }

    @ParameterizedTest(name = "{0} gro={1}")
    @CsvSource({ "NATIVE,true", "NATIVE,false", "NETTY,true", "NETTY,false" })
    @Timeout(30)
    void dropsOversizeDatagramsAndKeepsReceiving(final UdpDriverContext.Datapath datapath, final boolean gro)
        throws Exception
    {
        final UdpDriver b = open(ethernet().datapath(datapath).gro(gro));
        final int port = HostAddress.portOf(b.localAddress());
        try (DatagramChannel foreign = DatagramChannel.open())
        {
            final InetSocketAddress target = new InetSocketAddress("127.0.0.1", port);
            foreign.send(ByteBuffer.allocate(b.maxPacketLength() + 1), target);
            foreign.send(ByteBuffer.allocate(9000), target);
            final ByteBuffer good = ByteBuffer.allocate(b.maxPacketLength());
            good.put(0, (byte)42);
            foreign.send(good, target);

            final int[] lengths = new int[1];
            final long deadlineNs = System.nanoTime() + 10_000_000_000L;
            while (0 == lengths[0])
            {
                b.poll(packet ->
                {
                    lengths[0] = packet.length();
                    assertEquals(42, packet.buffer().getByte(0));
                    assertEquals(-1 == packet.priority() ? -1 : 0, packet.priority());
                    b.release(packet);
                }, 16);
                assertTrue(System.nanoTime() < deadlineNs, "good datagram never arrived");
            }
            assertEquals(b.maxPacketLength(), lengths[0]);
            assertEquals(2, b.counters().rxDroppedOversize());
        }
    }

    @ParameterizedTest(name = "{0} gro={1}")
    @CsvSource({ "NATIVE,true", "NATIVE,false", "NETTY,false" })
    @Timeout(30)
    void poolExhaustionDropsReceivesAndRecovers(final UdpDriverContext.Datapath datapath, final boolean gro)
    {
        final UdpDriver a = open(ethernet().datapath(datapath).gso(false));
        final UdpDriver b = open(
            ethernet().datapath(datapath).poolSize(8).gro(gro));

        final List<Packet> held = new ArrayList<>();
        for (int i = 0; i < 8; i++)
        {
            held.add(b.acquire());
        }
        assertNull(b.acquire(), "pool of 8 is exhausted");

        sendSmall(a, b, 20);
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        while (b.counters().rxDroppedNoBuffer() < 20)
        {
            assertEquals(0, b.poll(packet -> fail("nothing can be received"), 16));
            assertTrue(System.nanoTime() < deadlineNs, "drops not counted: " + b.counters().rxDroppedNoBuffer());
        }

        for (final Packet packet : held)
        {
            b.release(packet);
        }
        assertThrows(IllegalStateException.class, () -> b.release(held.get(0)), "double release is misuse");

        sendSmall(a, b, 5);
        final int[] received = new int[1];
        while (received[0] < 5)
        {
            b.poll(packet ->
            {
                received[0]++;
                b.release(packet);
            }, 16);
            assertTrue(System.nanoTime() < deadlineNs, "no recovery after release");
        }
        assertEquals(8, b.freePackets());
    }

    @Test
    @Timeout(30)
    void connectedPeerSocketsCarryTheirPeersTrafficAndTheLimitHolds() throws Exception
    {
        final UdpDriver a = open(ethernet().connectedPeers(1));
        final UdpDriver b = open(ethernet().connectedPeers(1));
        final UdpDriver c = open(ethernet());
        assertEquals(0, a.counters().connectedSockets(), "opened on demand");

        // Ping-pong of lone datagrams at level 7: the first one to each peer opens its connected socket, the rest
        // leave on it and arrive on the peer's connected socket, source and level intact.
        for (int i = 0; i < 50; i++)
        {
            exchangeOne(a, b, 7, i);
            exchangeOne(b, a, 7, i);
        }
        assertEquals(1, a.counters().connectedSockets());
        assertEquals(1, b.counters().connectedSockets());
        assertEquals(50, a.counters().connectedSends(), "every lone datagram to b went on the connected socket");
        assertEquals(50, b.counters().connectedSends());

        // Another level leaves unconnected until eight in a row move the socket to it; a batch always leaves
        // unconnected. All of it arrives, on b's connected socket, at the level it was sent at.
        for (int i = 0; i < 7; i++)
        {
            exchangeOne(a, b, 3, 1000 + i);
        }
        assertEquals(50, a.counters().connectedSends());
        exchangeOne(a, b, 3, 1007);
        assertEquals(1, a.counters().connectedRelevels());
        assertEquals(51, a.counters().connectedSends());
        exchangeOne(a, b, 7, 1008);
        assertEquals(51, a.counters().connectedSends(), "one datagram at the old level does not move it back");
        sendSmall(a, b, 10);
        final int[] batch = new int[1];
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        while (batch[0] < 10 && System.nanoTime() < deadlineNs)
        {
            b.poll(p ->
            {
                assertEquals(a.localAddress(), p.source());
                assertEquals(3, p.priority());
                batch[0]++;
                b.release(p);
            }, 16);
        }
        assertEquals(10, batch[0], "the batch arrived");

        // The limit: a third peer talks to a over the unconnected sockets, both ways.
        exchangeOne(a, c, 7, 2000);
        exchangeOne(c, a, 7, 2001);
        assertEquals(1, a.counters().connectedSockets());
        assertEquals(0, c.counters().connectedSockets());

        // A blocking wait wakes for a datagram on a connected socket too.
        final Packet packet = a.acquire().length(64);
        packet.buffer().putInt(0, 3000);
        a.send(packet, b.localAddress(), 7);
        a.flush();
        a.release(packet);
        b.idleStrategy(0, 20_000_000_000L).idle(0);
        final int[] woken = new int[1];
        b.poll(p ->
        {
            assertEquals(3000, p.buffer().getInt(0));
            woken[0]++;
            b.release(p);
        }, 8);
        assertEquals(1, woken[0], "the wait ended with the datagram ready");

        assertEquals(0, a.counters().ioErrors() + b.counters().ioErrors() + c.counters().ioErrors());
        assertEquals(0,
            a.counters().rxDroppedNoBuffer() + b.counters().rxDroppedNoBuffer() + c.counters().rxDroppedNoBuffer());
    }

    @Test
    @Timeout(30)
    void withConnectedSocketsTheUnconnectedOneIsReadEveryFewPollsAndWhileBusy()
    {
        final UdpDriver[] hosts = connectedTrio(4);
        final UdpDriver a = hosts[0];
        final UdpDriver b = hosts[1];
        final UdpDriver c = hosts[2];
        assertEquals(1, a.counters().connectedSockets());

        for (int trial = 0; trial < 3; trial++)
        {
            // A datagram from c, which has no connected socket at a, waits for the unconnected socket's turn:
            // at most 4 polls. Reading it makes the socket busy, so the next poll reads it again and finds it
            // empty, which starts the count of 4 afresh.
            sendFrom(c, a, 100 + trial);
            assertTrue(pollsUntilOne(a) <= 4);
            assertEquals(0, a.poll(p -> fail("nothing more was sent"), 1));

            // Two more: the first is read on exactly the 4th poll, the second on the next (busy).
            sendFrom(c, a, 10 * trial);
            sendFrom(c, a, 10 * trial + 1);
            assertEquals(4, pollsUntilOne(a), "the unconnected socket is read on every 4th poll");
            assertEquals(1, a.poll(a::release, 1), "busy: read again on the next poll");
        }
        // Its connected peer is read on every poll.
        exchangeOne(b, a, 7, 3);
        assertEquals(0, a.counters().ioErrors());
    }

    @Test
    @Timeout(30)
    void aBusySocketDoesNotStarveTheOthers()
    {
        final UdpDriver[] hosts = connectedTrio(1);
        final UdpDriver a = hosts[0];
        final UdpDriver b = hosts[1];
        final UdpDriver c = hosts[2];
        for (int round = 0; round < 4; round++)
        {
            // Five datagrams wait on a's unconnected socket (from c), one on its connected socket (from b); a poll
            // takes one. b's must not wait behind all of c's, whichever socket went first last time.
            for (int i = 0; i < 5; i++)
            {
                sendFrom(c, a, 100 + i);
            }
            sendFrom(b, a, 200);
            final long[] sources = new long[6];
            for (int p = 0; p < 6; p++)
            {
                final int index = p;
                assertEquals(1, a.poll(packet ->
                {
                    sources[index] = packet.source();
                    a.release(packet);
                }, 1));
            }
            int position = -1;
            for (int p = 0; p < 6; p++)
            {
                if (sources[p] == b.localAddress())
                {
                    position = p;
                }
            }
            assertTrue(position >= 0 && position <= 1, "b's datagram came " + (position + 1) + "th of 6");
        }
    }

    @Test
    @Timeout(30)
    void aConnectedPeerThatGoesAwayIsNotAnError()
    {
        final UdpDriver a = open(ethernet().connectedPeers(2));
        final UdpDriver b = new UdpDriver(ethernet().connectedPeers(2));
        final long gone = b.localAddress();
        try
        {
            exchangeOne(a, b, 7, 1);
            exchangeOne(b, a, 7, 2);
        }
        finally
        {
            b.close();
        }
        // Datagrams to the closed port draw ICMP port-unreachable, which a connected socket reports as
        // ECONNREFUSED on its next call: the protocol's timers deal with a dead peer, the driver must not fail.
        for (int i = 0; i < 5; i++)
        {
            final Packet packet = a.acquire().length(100);
            assertTrue(a.send(packet, gone, 7));
            a.flush();
            a.release(packet);
            for (int p = 0; p < 100; p++)
            {
                a.poll(x -> fail("nothing can arrive from a closed port"), 8);
            }
        }
        final UdpDriver c = open(ethernet());
        exchangeOne(a, c, 7, 3);
        exchangeOne(c, a, 7, 4);
        assertEquals(0, a.counters().ioErrors(), "a refused peer is not an I/O error");
    }

    @Test
    @Timeout(30)
    void withoutReceiveTosPacketsArriveWithoutALevel()
    {
        final UdpDriver a = open(ethernet().receiveTos(false));
        final UdpDriver b = open(ethernet().receiveTos(false).connectedPeers(1));
        exchangeOne(a, b, -1, 7, 1);
        exchangeOne(b, a, -1, 7, 2);
        exchangeOne(a, b, -1, 3, 3);
        assertEquals(1, b.counters().connectedSockets());
        assertEquals(0, a.counters().ioErrors() + b.counters().ioErrors());
    }

    @ParameterizedTest
    @EnumSource(UdpDriverContext.Datapath.class)
    @Timeout(30)
    void packetsCarryTheDriversClockUnlessTheSinkNeedsNoTimestamps(final UdpDriverContext.Datapath datapath)
    {
        final VirtualClock clock = new VirtualClock();
        clock.advanceBy(12_345);
        final UdpDriver a = open(ethernet().datapath(datapath));
        final UdpDriver b = open(ethernet().datapath(datapath).clock(clock));
        sendFrom(a, b, 1);
        assertEquals(List.of(12_345L), timestampsOfOne(b, true));
        clock.advanceBy(1_000);
        sendFrom(a, b, 2);
        assertEquals(List.of(0L), timestampsOfOne(b, false), "no clock read for a sink that reads no timestamp");
        sendFrom(a, b, 3);
        assertEquals(List.of(13_345L), timestampsOfOne(b, true));
    }

    private static List<Long> timestampsOfOne(final UdpDriver driver, final boolean needsTimestamps)
    {
        final List<Long> stamps = new ArrayList<>();
        final PacketSink sink = TestSinks.sink((packet) ->
        {
            stamps.add(packet.timestampNs());
            driver.release(packet);
        }, false, needsTimestamps);
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        while (stamps.isEmpty() && System.nanoTime() < deadlineNs)
        {
            driver.poll(sink, 1);
        }
        return stamps;
    }

    /**
     * Three hosts on loopback: a, with one connected socket, reads its unconnected one every
     * {@code unconnectedEvery} polls; b is a's connected peer (one exchange each way has opened both connected
     * sockets); c has none, so its datagrams reach a's unconnected socket.
     */
    private UdpDriver[] connectedTrio(final int unconnectedEvery)
    {
        final UdpDriver a = open(ethernet().connectedPeers(1)
            .unconnectedPollInterval(unconnectedEvery));
        final UdpDriver b = open(ethernet().connectedPeers(1));
        final UdpDriver c = open(ethernet());
        exchangeOne(a, b, 7, 1);
        exchangeOne(b, a, 7, 2);
        return new UdpDriver[]{ a, b, c };
    }

    private static void sendFrom(final UdpDriver from, final UdpDriver to, final int value)
    {
        final Packet packet = from.acquire().length(64);
        packet.buffer().putInt(0, value);
        assertTrue(from.send(packet, to.localAddress(), 7));
        from.flush();
        from.release(packet);
    }

    private static int pollsUntilOne(final UdpDriver driver)
    {
        final int[] got = new int[1];
        int polls = 0;
        while (0 == got[0] && polls < 1_000)
        {
            polls++;
            driver.poll(p ->
            {
                got[0]++;
                driver.release(p);
            }, 1);
        }
        assertEquals(1, got[0], "a datagram arrived");
        return polls;
    }

    private static void exchangeOne(final UdpDriver from, final UdpDriver to, final int level, final int value)
    {
        exchangeOne(from, to, level, level, value);
    }

    private static void exchangeOne(
        final UdpDriver from, final UdpDriver to, final int expectedLevel, final int level, final int value)
    {
        final Packet packet = from.acquire();
        packet.buffer().putInt(0, value);
        packet.length(100);
        assertTrue(from.send(packet, to.localAddress(), level));
        from.flush();
        from.release(packet);
        final int[] received = new int[1];
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        while (0 == received[0] && System.nanoTime() < deadlineNs)
        {
            to.poll(p ->
            {
                assertEquals(from.localAddress(), p.source());
                assertEquals(expectedLevel, p.priority());
                assertEquals(value, p.buffer().getInt(0));
                assertEquals(100, p.length());
                received[0]++;
                to.release(p);
            }, 8);
        }
        assertEquals(1, received[0], "datagram " + value + " at level " + level + " arrived");
    }

    private static void sendSmall(final UdpDriver from, final UdpDriver to, final int count)
    {
        final List<Packet> sent = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            final Packet packet = from.acquire();
            packet.buffer().putInt(0, i);
            packet.length(64);
            assertTrue(from.send(packet, to.localAddress(), 3));
            sent.add(packet);
        }
        from.flush();
        sent.forEach(from::release);
    }

    @Test
    @Timeout(30)
    void pollReadsNoMoreThanItDeliversLeavingTheRestInTheSocket()
    {
        final UdpDriver a = open(ethernet());
        final UdpDriver b = open(ethernet().gro(false));
        sendSmall(a, b, 100);
        final int[] delivered = new int[1];
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        while (delivered[0] < 100)
        {
            final int count = b.poll(packet ->
            {
                delivered[0]++;
                b.release(packet);
            }, 7);
            assertTrue(count <= 7);
            assertEquals(delivered[0], b.counters().packetsReceived(), "nothing read ahead into the pool");
            assertEquals(UdpDriverContext.POOL_SIZE_DEFAULT, b.freePackets());
            assertTrue(System.nanoTime() < deadlineNs, "only " + delivered[0] + " delivered");
        }
        assertEquals(0, b.counters().rxDroppedNoBuffer());
    }

    @Test
    @Timeout(30)
    void aPortInUseFailsClearlyUnlessSharingIsAsked() throws Exception
    {
        final UdpDriver first = open(new UdpDriverContext().bindAddress(LOOPBACK));
        final long taken = first.localAddress();
        final IllegalStateException error = assertThrows(IllegalStateException.class,
            () -> open(new UdpDriverContext().bindAddress(taken)));
        assertTrue(error.getMessage().contains("already in use") && error.getMessage().contains("share=true"),
            error.getMessage());
        try (DatagramChannel other = DatagramChannel.open())
        {
            other.bind(new InetSocketAddress("127.0.0.1", 0));
            final long held = HostAddress.withPort(LOOPBACK, ((InetSocketAddress)other.getLocalAddress()).getPort());
            assertThrows(IllegalStateException.class, () -> open(new UdpDriverContext().bindAddress(held)),
                "a port held by any socket, not only by another driver");
        }
        final UdpDriver second = open(UdpDriverContext.fromUri("udp://" + HostAddress.toString(taken) + "?share=true"));
        assertEquals(taken, second.localAddress(), "asked for: the second driver joins the port");
    }

    @Test
    @Timeout(30)
    void receiveBuffersPassTheSysctlCapWithCapNetAdmin() throws Exception
    {
        assumeTrue(Capabilities.has(Capabilities.CAP_NET_ADMIN),
            "SO_RCVBUFFORCE needs CAP_NET_ADMIN, which this process does not have");
        final Path rmemMaxFile = Path.of("/proc/sys/net/core/rmem_max");
        final long rmemMax = Long.parseLong(Files.readAllLines(rmemMaxFile).get(0).trim());
        final long wanted = 4 * rmemMax;
        assumeTrue(wanted <= 256L << 20, "net.core.rmem_max is " + rmemMax + ": a buffer past it would be too large");
        final UdpDriver driver = open(new UdpDriverContext().bindAddress(LOOPBACK)
            .socketReceiveBufferBytes((int)wanted));
        assertTrue(driver.socketReceiveBufferBytes() >= wanted, "asked for " + wanted + " with rmem_max " +
            rmemMax + ", the kernel reports " + driver.socketReceiveBufferBytes());
        assertEquals("socket_receive_buffer", driver.counterName(14));
        assertEquals(driver.socketReceiveBufferBytes(), driver.counterValue(14), "readable from outside the process");
    }

    @ParameterizedTest
    @EnumSource(UdpDriverContext.Datapath.class)
    @Timeout(30)
    void anEmptyDatagramIsCountedAsEmptyNotOversize(final UdpDriverContext.Datapath datapath) throws Exception
    {
        final UdpDriver a = open(ethernet().datapath(datapath));
        try (DatagramChannel sender = DatagramChannel.open())
        {
            final InetSocketAddress target = new InetSocketAddress("127.0.0.1", HostAddress.portOf(a.localAddress()));
            sender.send(ByteBuffer.allocate(0), target);
            sender.send(ByteBuffer.allocate(a.maxPacketLength() + 1), target);
            final long deadlineNs = System.nanoTime() + 10_000_000_000L;
            while (0 == a.counters().rxDroppedEmpty() || 0 == a.counters().rxDroppedOversize())
            {
                a.poll(packet -> fail("nothing is a packet"), 8);
                assertTrue(System.nanoTime() < deadlineNs, "empty " + a.counters().rxDroppedEmpty() + " oversize " +
                    a.counters().rxDroppedOversize());
            }
        }
        assertEquals(1, a.counters().rxDroppedEmpty());
        assertEquals(1, a.counters().rxDroppedOversize());
    }

    @ParameterizedTest
    @EnumSource(UdpDriverContext.Datapath.class)
    @Timeout(30)
    void datagramsTheKernelDropsForAFullSocketBufferAreCounted(final UdpDriverContext.Datapath datapath)
        throws Exception
    {
        final UdpDriver a = open(ethernet().datapath(datapath).gro(false)
            .socketReceiveBufferBytes(4096));
        final int sent = 2000;
        try (DatagramChannel sender = DatagramChannel.open())
        {
            final InetSocketAddress target = new InetSocketAddress("127.0.0.1", HostAddress.portOf(a.localAddress()));
            for (int i = 0; i < sent; i++)
            {
                sender.send(ByteBuffer.allocate(1000), target);
            }
        }
        assertTrue(a.kernelReceiveDrops() > 0, "a 4 KiB socket buffer overflows without a poll");
        final int[] received = new int[1];
        while (0 != a.poll(packet ->
        {
            received[0]++;
            a.release(packet);
        }, 64))
        {
            // Drain what the socket kept.
        }
        assertEquals(sent, received[0] + a.kernelReceiveDrops(), "every datagram was read or counted as dropped");
    }

    @ParameterizedTest
    @EnumSource(UdpDriverContext.Datapath.class)
    @Timeout(60)
    @Tag("allocation")
    void readingTheKernelDropsAllocatesNothing(final UdpDriverContext.Datapath datapath)
    {
        // The engine refreshes the driver's counters every few milliseconds on the protocol thread.
        final UdpDriver a = open(ethernet().datapath(datapath));
        final long[] sink = new long[1];
        final long allocated = new AllocationMeter().measure(20_000, i -> sink[0] += a.kernelReceiveDrops());
        assertEquals(0, allocated, "bytes allocated by 20,000 reads of the kernel's drop count");
        assertEquals(0, sink[0]);
    }

    @Test
    @Timeout(30)
    void transmitQueueFullMeansFlushAndRetry()
    {
        final UdpDriver a = open(ethernet().txQueueCapacity(4));
        final UdpDriver b = open(ethernet());
        final Packet packet = a.acquire().length(100);
        for (int i = 0; i < 4; i++)
        {
            assertTrue(a.send(packet, b.localAddress(), 0));
        }
        assertFalse(a.send(packet, b.localAddress(), 0));
        assertEquals(4, a.flush());
        assertTrue(a.send(packet, b.localAddress(), 0));
        assertEquals(1, a.flush());
        a.release(packet);
    }

    @Test
    @Timeout(30)
    void rejectsMisuse()
    {
        final UdpDriver a = open(ethernet());
        final UdpDriver b = open(ethernet());
        final Packet packet = a.acquire().length(10);
        assertThrows(IllegalArgumentException.class, () -> a.send(packet, a.localAddress(), 8));
        assertThrows(IllegalArgumentException.class, () -> a.send(packet, a.localAddress(), -1));
        assertThrows(IllegalArgumentException.class, () -> a.send(packet, LOOPBACK, 0), "no port");
        assertThrows(IllegalArgumentException.class, () -> b.send(packet, a.localAddress(), 0), "foreign packet");
        assertThrows(IllegalArgumentException.class, () -> packet.length(a.maxPacketLength() + 1));
        a.release(packet);
        assertThrows(IllegalStateException.class, () -> a.send(packet, b.localAddress(), 0), "released packet");
    }

    @Test
    @Timeout(30)
    void anotherThreadIsRejectedOnceOwned() throws Exception
    {
        final UdpDriver a = open(ethernet());
        assertEquals(0, a.flush());
        final Throwable[] thrown = new Throwable[1];
        final Thread other = new Thread(() ->
        {
            try
            {
                a.poll(packet -> { }, 1);
            }
            catch (final Throwable ex)
            {
                thrown[0] = ex;
            }
        });
        other.start();
        other.join();
        assertTrue(thrown[0] instanceof IllegalStateException, String.valueOf(thrown[0]));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(UdpDriverContext.Datapath.class)
    @Timeout(30)
    void idleStrategyWaitsInEpollUntilADatagramOrAWakeup(final UdpDriverContext.Datapath datapath) throws Exception
    {
        final UdpDriver a = open(ethernet().datapath(datapath));
        final UdpDriver b = open(ethernet().datapath(datapath));
        final EpollIdleStrategy idle = b.idleStrategy(0, 20_000_000_000L);
        final EpollIdleStrategy brief = b.idleStrategy(0, 1_000L);
        brief.idle(0);
        assertFalse(b.isOwnerThread(), "idling before the first poll parks and does not take ownership");
        assertEquals(0, b.poll(packet -> fail("nothing sent yet"), 1));
        assertTrue(b.isOwnerThread());
        final Throwable[] thrown = new Throwable[1];
        final Thread other = new Thread(() ->
        {
            try
            {
                brief.idle(0);
            }
            catch (final Throwable ex)
            {
                thrown[0] = ex;
            }
        });
        other.start();
        other.join();
        assertNull(thrown[0], "another thread idling on the strategy parks instead of failing");
        assertTrue(b.isOwnerThread());

        // A datagram ends the wait long before its 20 s bound, and the next poll has it.
        final Packet packet = a.acquire().length(100);
        a.send(packet, b.localAddress(), 5);
        a.flush();
        a.release(packet);
        final long startNs = System.nanoTime();
        final int[] received = new int[1];
        while (0 == received[0])
        {
            idle.idle(0);
            b.poll(p ->
            {
                assertEquals(5, p.priority());
                received[0]++;
                b.release(p);
            }, 8);
        }
        assertTrue(System.nanoTime() - startNs < 10_000_000_000L, "woken by the datagram, not the timeout");

        // A wakeup from another thread ends an idle wait too.
        // Whether it lands before or during the wait, a wakeup is never lost.
        final Thread waker = new Thread(b::wakeup);
        final long waitStartNs = System.nanoTime();
        waker.start();
        idle.idle(0);
        waker.join();
        assertTrue(System.nanoTime() - waitStartNs < 10_000_000_000L, "woken by wakeup(), not the timeout");
        assertEquals("udp-epoll", idle.alias());
    }

    @Test
    @Timeout(30)
    void eachLevelsSocketCarriesItsTosAndSkbPriority() throws Exception
    {
        final UdpDriver a = open(ethernet());
        for (int level = 0; level < UdpDriver.PRIORITY_LEVELS; level++)
        {
            assertEquals(level << 5, a.socketTos(level), "IP_TOS of level " + level);
            // This test runs as root; without CAP_NET_ADMIN level 7 gets 6 (UdpUnprivilegedTest).
            final int priority = a.socketPriority(level);
            assertTrue(level == priority || (7 == level && 6 == priority), "SO_PRIORITY of level " + level);
        }
    }

    @Test
    @Timeout(30)
    void takesItsPacketSizeAndPacingFromTheDevice() throws Exception
    {
        // Loopback: the device's MTU (64 KiB, so the UDP payload limit binds), and no transmit queue to pace: the
        // kernel delivers a datagram inside sendmmsg, so whatever was flushed is gone.
        final UdpDriver a = open(new UdpDriverContext().bindAddress(LOOPBACK));
        final UdpDriver b = open(ethernet());
        final int loMtu = java.net.NetworkInterface.getByName("lo").getMTU();
        assertEquals(
            Math.min(loMtu - UdpDriver.IPV4_UDP_HEADER_LENGTH, UdpDriver.MAX_UDP_PAYLOAD), a.maxPacketLength());
        assertFalse(a.hasTransmitQueue());
        assertEquals(UdpDriverContext.LINK_BITS_PER_SECOND_FALLBACK, a.linkBitsPerSecond(), "lo reports no speed");
        assertEquals(UdpDriverContext.POOL_BYTES_TARGET / BitUtil.align(a.maxPacketLength(), 64), a.freePackets(),
            "a pool of large packets is held to the memory target");
        final Packet packet = a.acquire().length(a.maxPacketLength());
        for (int i = 0; i < 8; i++)
        {
            assertTrue(a.send(packet, b.localAddress(), 0));
        }
        assertEquals(8, a.flush());
        a.release(packet);
        assertEquals(0, a.queuedBytes());

        // A rate set by hand is a link to pace, whatever the device.
        final UdpDriver paced = open(new UdpDriverContext().bindAddress(LOOPBACK).linkBitsPerSecond(1_000_000L));
        assertTrue(paced.hasTransmitQueue());
        assertEquals(1_000_000L, paced.linkBitsPerSecond());
        final Packet another = paced.acquire().length(1000);
        assertTrue(paced.send(another, b.localAddress(), 0));
        assertEquals(1, paced.flush());
        paced.release(another);
        assertTrue(paced.queuedBytes() > 0, "a millisecond of queue at 1 Mb/s");
    }

    @Test
    @Timeout(30)
    void queuedBytesFollowTheLinkRateOnTheDriverClock()
    {
        final dev.homa.nic.time.VirtualClock clock = new dev.homa.nic.time.VirtualClock(1_000_000L);
        final UdpDriver a = open(ethernet().clock(clock)
            .linkBitsPerSecond(8_000_000L));
        final UdpDriver b = open(ethernet());
        assertEquals(66, a.wireOverheadBytes(), "IPv4 + UDP + Ethernet header, FCS, preamble, gap");
        assertEquals(0, a.queuedBytes());
        final Packet packet = a.acquire().length(934);
        for (int i = 0; i < 10; i++)
        {
            assertTrue(a.send(packet, b.localAddress(), 1));
        }
        assertEquals(10, a.flush());
        a.release(packet);
        // 10 frames of 1000 wire bytes at 1 MB/s (less the estimator's 1% margin): about 10,000 bytes queued.
        assertTrue(Math.abs(a.queuedBytes() - 10_000) <= 2, "queued " + a.queuedBytes());
        clock.advanceBy(5_050_000L);
        assertTrue(Math.abs(a.queuedBytes() - 5_000) <= 60, "queued after 5 ms " + a.queuedBytes());
        clock.advanceBy(10_000_000L);
        assertEquals(0, a.queuedBytes());
    }

    @Test
    @Timeout(10)
    void parsesUri()
    {
        final UdpDriverContext context = UdpDriverContext.fromUri(
            "udp://198.18.0.1:4000?mtu=9000&rate=25g&pool=1k&gso=false&gro=true&rxbatch=16&rcvbuf=2m&connect=8" +
            "&rxtos=false&unconnectedEvery=16&peek=false");
        context.conclude();
        assertEquals(HostAddress.parseIpv4("198.18.0.1:4000"), context.bindAddress());
        assertEquals(9000, context.mtu());
        assertEquals(25_000_000_000L, context.linkBitsPerSecond());
        assertEquals(1024, context.poolSize());
        assertFalse(context.gso());
        assertTrue(context.gro());
        assertEquals(16, context.receiveBatch());
        assertEquals(2 * 1024 * 1024, context.socketReceiveBufferBytes());
        assertEquals(8, context.connectedPeers());
        assertFalse(context.receiveTos());
        assertEquals(16, context.unconnectedPollInterval());
        assertFalse(context.peek());
        assertTrue(new UdpDriverContext().peek(), "placed reads peek by default");
        assertThrows(IllegalArgumentException.class,
            () -> UdpDriverContext.fromUri("udp://1.2.3.4:1?connect=65").conclude());
        assertThrows(IllegalArgumentException.class, () -> UdpDriverContext.fromUri("raw://eth0"));
        assertThrows(IllegalArgumentException.class, () -> UdpDriverContext.fromUri("udp://1.2.3.4:1?bogus=1"));
        assertThrows(IllegalArgumentException.class, () -> UdpDriverContext.fromUri("udp://1.2.3.4:1?mtu=x"));
        assertThrows(IllegalArgumentException.class,
            () -> UdpDriverContext.fromUri("udp://1.2.3.4:1?mtu=20").conclude());

        final UdpDriver driver = UdpDriver.fromUri("udp://127.0.0.1:0?mtu=9000");
        drivers.add(driver);
        assertEquals(9000 - 28, driver.maxPacketLength());
    }
}
