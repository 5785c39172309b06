package dev.homa.nic.raw;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.homa.nic.Packet;
import dev.homa.nic.TestSinks;
import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.frame.Ipv4Flyweight;
import dev.homa.nic.frame.TcpHijack;
import dev.homa.nic.netns.ChecksumOffload;
import dev.homa.test.NetnsPair;
import org.agrona.CloseHelper;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
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
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Segmentation offload over a veth pair: runs of a message's DATA packets leave as one TCP-hijacked frame, arrive
 * whole (veth does not cut them) or cut by the kernel's software segmentation, and come out of the receiving driver
 * as the same bytes at the same offsets.
 */
class RawEthernetOffloadTest
{
    private static final long SEED = Long.getLong("homa.seed", 0x5EED_0037L);
    private static final int DATA_HEADER = 56;
    private static final int SEGMENT = 1480 - DATA_HEADER;
    private static final int NO_ACK = 0;

    private NetnsPair pair;
    private RawEthernetDriver a;
    private RawEthernetDriver b;
    private UnsafeBuffer payload;
    private byte[] payloadBytes;
    private final List<Packet> queued = new ArrayList<>();
    private int lastPriority = -1;

    @BeforeEach
    void setUp() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        System.out.println("seed=" + SEED);
        pair = NetnsPair.create("hoff");
        payloadBytes = new byte[128 * 1024];
        new Random(SEED).nextBytes(payloadBytes);
        payload = new UnsafeBuffer(BufferUtil.allocateDirectAligned(payloadBytes.length, 64));
        payload.putBytes(0, payloadBytes);
    }

    @AfterEach
    void tearDown()
    {
        CloseHelper.closeAll(a, b, pair);
    }

    private void openBoth(final String options) throws Exception
    {
        openBoth(options, "");
    }

    private void openBoth(final String optionsA, final String optionsB) throws Exception
    {
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=512" + optionsA));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=512" + optionsB));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)), "A resolves B");
        assertTrue(b.awaitNeighbour(a.localAddress(), TimeUnit.SECONDS.toNanos(5)), "B resolves A");
    }

    /** B sends A one packet, so that A knows B speaks Homa. */
    private void introduceBToA()
    {
        RawEthernetDriverTest.introduce(b, a);
    }

    @ParameterizedTest
    @EnumSource(RawEthernetDriverContext.RxRing.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRunToAKnownPeerLeavesAsOneFrameAndArrivesWhole(final RawEthernetDriverContext.RxRing ring) throws Exception
    {
        openBoth("&ring=" + ring, "&ring=" + ring);
        introduceBToA();
        final long packetsBefore = a.counters().txPackets();
        final int total = 9 * SEGMENT + 500;
        sendMessage(total, 0, total, 5);

        assertEquals(1, a.counters().txOffloadFrames());
        assertEquals(10, a.counters().txPackets() - packetsBefore);
        final List<byte[]> frames = receiveLent(1);
        assertEquals(5, lastPriority, "the run's level");
        final byte[] frame = frames.get(0);
        assertEquals(DATA_HEADER + total, frame.length, "one packet: the first header and every payload");
        final UnsafeBuffer received = new UnsafeBuffer(frame);
        assertEquals(0, received.getInt(4, BIG_ENDIAN), "sequence of the first");
        assertTrue(TcpHijack.isMarked(received, 0));
        assertEquals(HomaChecksum.seed(frame.length, ipOf(a), ipOf(b)), received.getShort(16, BIG_ENDIAN) & 0xFFFF,
            "the partial checksum's seed covers the whole frame");
        assertArrayEquals(slice(payloadBytes, 0, total), slice(frame, DATA_HEADER, total));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aSinkThatKeepsPacketsGetsTheRunCutBackAtItsOffsets() throws Exception
    {
        openBoth("");
        introduceBToA();
        final int total = 7 * SEGMENT + 99;
        sendMessage(total, 0, total, 0);
        assertEquals(1, a.counters().txOffloadFrames());

        final List<byte[]> packets = receiveKept(8);
        assertPacketsOfTheMessage(packets, total);
        packets.forEach((p) -> assertEquals(-1, new UnsafeBuffer(p).getInt(52, BIG_ENDIAN), "offset in sequence"));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void packetsToAHostNotYetHeardFromLeaveOneByOneAsProtocol146() throws Exception
    {
        openBoth("");
        sendsFrameByFrame(4);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void offloadSwitchedOffSendsEveryPacketAlone() throws Exception
    {
        openBoth("&tso=false");
        introduceBToA();
        sendsFrameByFrame(4);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void onlyPacketsThatContinueTheRunJoinIt() throws Exception
    {
        openBoth("");
        introduceBToA();
        final long total = 7L * SEGMENT;
        final long destination = b.localAddress();
        // 0, 1: a run. 2: a retransmission (its offset in seg.offset) goes alone. 3: an ack starts a run, which 4
        // (no ack) joins. 5: another ack starts another. 6: another level goes alone.
        queue(0, (int)total, 0, -1, NO_ACK, destination, 3);
        queue(1, (int)total, SEGMENT, -1, NO_ACK, destination, 3);
        queue(2, (int)total, 2 * SEGMENT, 2 * SEGMENT, NO_ACK, destination, 3);
        queue(3, (int)total, 3 * SEGMENT, -1, 77, destination, 3);
        queue(4, (int)total, 4 * SEGMENT, -1, NO_ACK, destination, 3);
        queue(5, (int)total, 5 * SEGMENT, -1, 88, destination, 3);
        queue(6, (int)total, 6 * SEGMENT, -1, NO_ACK, destination, 4);
        assertEquals(5, flush(), "frames");
        assertEquals(2, a.counters().txOffloadFrames());
        final List<byte[]> frames = receiveLent(5);
        assertEquals(List.of(2 * SEGMENT, SEGMENT, 2 * SEGMENT, SEGMENT, SEGMENT),
            frames.stream().map((f) -> f.length - DATA_HEADER).toList());
        assertEquals(77L, new UnsafeBuffer(frames.get(2)).getLong(36, BIG_ENDIAN), "the run carries its first ack");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void softwareSegmentationPutsEveryPacketOnTheWireWithItsOffset() throws Exception
    {
        // With transmit checksum offload off the device offers no TSO either: the kernel cuts the frame into TCP
        // segments and completes each one's checksum, as a NIC does; only through the qdisc.
        ChecksumOffload.transmit(pair, pair.nsA(), pair.ifA(), false);
        openBoth("&qdiscBypass=false");
        introduceBToA();
        final int total = 5 * SEGMENT + 1;
        sendMessage(total, 0, total, 0);
        assertEquals(1, a.counters().txOffloadFrames());

        final List<byte[]> packets = receiveLent(6);
        assertPacketsOfTheMessage(packets, total);
        for (final byte[] packet : packets)
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(packet);
            assertTrue(TcpHijack.isMarked(buffer, 0), "marks");
            assertTrue(HomaChecksum.isValid(buffer, 0, packet.length, ipOf(a), ipOf(b)), "each packet's checksum");
        }
    }

    /** Packet i holds the message's bytes from i segments on, under a header with that offset. */
    private void assertPacketsOfTheMessage(final List<byte[]> packets, final int total)
    {
        for (int i = 0; i < packets.size(); i++)
        {
            final byte[] packet = packets.get(i);
            final int length = Math.min(SEGMENT, total - i * SEGMENT);
            assertEquals(DATA_HEADER + length, packet.length, "packet " + i);
            assertEquals(i * SEGMENT, new UnsafeBuffer(packet).getInt(4, BIG_ENDIAN), "offset of packet " + i);
            assertArrayEquals(slice(payloadBytes, i * SEGMENT, length), slice(packet, DATA_HEADER, length));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aDeviceThatDoesNotSegmentGetsSingleFramesWhenTheQdiscIsBypassed() throws Exception
    {
        ChecksumOffload.transmit(pair, pair.nsA(), pair.ifA(), false);
        openBoth("");
        introduceBToA();
        sendsFrameByFrame(3);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anOffloadFrameStaysBelowTheDevicesLargestOne() throws Exception
    {
        // 9,350-byte segments: seven under one header are 65,506 Homa bytes, within an IPv4 packet, but with the
        // Ethernet, tag and IPv4 headers the frame would pass the 64 KiB a device segments, and the kernel would
        // cut it in software, which a bypassed qdisc drops.
        final String mtu = "9426";
        pair.exec(pair.nsA(), "ip", "link", "set", "dev", pair.ifA(), "mtu", mtu);
        pair.exec(pair.nsB(), "ip", "link", "set", "dev", pair.ifB(), "mtu", mtu);
        openBoth("&maxPacket=9406", "&maxPacket=9406");
        introduceBToA();
        final int segment = a.maxPacketLength() - DATA_HEADER;
        assertEquals(9350, segment);
        final int total = 7 * segment;
        for (int i = 0; i < 7; i++)
        {
            queuePayload(i, total, i * segment, segment, -1, NO_ACK, b.localAddress(), 0);
        }
        assertEquals(2, flush(), "six packets under one header, then the seventh");
        assertEquals(0, a.counters().txDropped() + a.counters().txErrors(), () -> a.counters().toString());
        assertEquals(List.of(6 * segment, segment),
            receiveLent(2).stream().map((f) -> f.length - DATA_HEADER).toList());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void onlyAHijackedFrameMayBeLongerThanAPacket() throws Exception
    {
        // B takes packets of 1,000 bytes; a veth device still passes it A's 1,480-byte frames.
        openBoth("", "&maxPacket=1000");
        final int total = 3 * SEGMENT;
        queuePayload(0, total, 0, SEGMENT, -1, NO_ACK, b.localAddress(), 0);
        assertEquals(1, flush());
        RawEthernetDriverTest.awaitTrue(() ->
        {
            b.poll((p) -> b.release(p), 16);
            return b.counters().rxTooLong() > 0;
        }, () -> b.counters().toString());
        assertEquals(0, b.counters().rxPackets(), "a protocol-146 frame longer than a packet is dropped");

        // A run under one header, each packet's offset in its copy of the header, is taken whole.
        introduceBToA();
        sendMessage(total, 0, total, 0);
        assertEquals(1, a.counters().txOffloadFrames());
        assertEquals(DATA_HEADER + total, receiveLent(1).get(0).length);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRunMoreSlotsLongThanTheWholePoolIsDroppedNotWaitedFor() throws Exception
    {
        // B's slots hold 8 payload bytes: a 40-packet run would take 7,120 of its 512.
        openBoth("", "&maxPacket=64");
        introduceBToA();
        final int total = 40 * SEGMENT;
        sendMessage(total, 0, total, 0);
        assertEquals(1, a.counters().txOffloadFrames());
        RawEthernetDriverTest.awaitTrue(() ->
        {
            b.poll(TestSinks.sink((p) -> b.release(p), false, false), 16);
            return b.counters().rxTooLong() > 0;
        }, () -> b.counters().toString());
        assertEquals(0, b.counters().rxPackets(), "nothing delivered");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void realTcpNeverReachesTheRingAndHijackedTcpDoes() throws Exception
    {
        openBoth("");
        final long before = b.counters().rxPackets();
        sendForged(a, b, forgedTcp(a, b, 0x10, 0));
        sendForged(a, b, forgedTcp(a, b, TcpHijack.FLAGS, 0));
        sendForged(a, b, forgedTcp(a, b, TcpHijack.FLAGS, TcpHijack.URGENT));
        assertEquals(1, receiveLent(1).size());
        assertEquals(1, b.counters().rxPackets() - before);
        assertEquals(0, b.counters().rxWrongProtocol(), "the filter drops real TCP before the ring");
    }

    /** A message of that many full packets from A to B leaves and arrives as as many frames. */
    private void sendsFrameByFrame(final int packets)
    {
        final int total = packets * SEGMENT;
        sendMessage(total, 0, total, 0);
        assertEquals(0, a.counters().txOffloadFrames());
        assertEquals(packets, receiveLent(packets).size());
    }

    /** One message of {@code total} bytes from A to B, as full segments and a last short one, then one flush. */
    private void sendMessage(final int total, final int first, final int end, final int priority)
    {
        int index = 0;
        for (int offset = first; offset < end; offset += SEGMENT)
        {
            queuePayload(index++, total, offset, Math.min(SEGMENT, end - offset), -1, NO_ACK, b.localAddress(),
                priority);
        }
        flush();
    }

    private int flush()
    {
        final int frames = a.flush();
        queued.forEach(a::release);
        queued.clear();
        return frames;
    }

    private void queue(
        final int index, final int total, final int offset, final int segmentOffset, final long ack,
        final long destination, final int priority)
    {
        queuePayload(index, total, offset, SEGMENT, segmentOffset, ack, destination, priority);
    }

    private void queuePayload(
        final int index, final int total, final int offset, final int length, final int segmentOffset, final long ack,
        final long destination, final int priority)
    {
        final Packet packet = a.acquire();
        assertNotNull(packet, "pool packet " + index);
        writeDataHeader(packet.buffer(), offset, total, segmentOffset, ack);
        packet.length(DATA_HEADER);
        assertTrue(packet.appendPayload(payload.addressOffset() + offset, length));
        assertTrue(a.send(packet, destination, priority));
        queued.add(packet);
    }

    /**
     * A kernel DATA header with the hijacking marks: ports 40000 to 99, sender id 1234, the offset in
     * {@code sequence}, a retransmission where {@code segmentOffset} is not -1.
     */
    static void writeDataHeader(
        final MutableDirectBuffer header, final int offset, final int total, final int segmentOffset, final long ack)
    {
        header.setMemory(0, DATA_HEADER, (byte)0);
        header.putShort(0, (short)40000, BIG_ENDIAN);
        header.putShort(2, (short)99, BIG_ENDIAN);
        header.putInt(4, offset, BIG_ENDIAN);
        header.putByte(11, (byte)0x10);
        header.putByte(12, (byte)(14 << 4));
        header.putByte(TcpHijack.FLAGS_OFFSET, (byte)TcpHijack.FLAGS);
        header.putShort(TcpHijack.URGENT_OFFSET, (short)TcpHijack.URGENT, BIG_ENDIAN);
        header.putLong(20, 1234L, BIG_ENDIAN);
        header.putInt(28, total, BIG_ENDIAN);
        header.putInt(32, total, BIG_ENDIAN);
        header.putLong(36, ack, BIG_ENDIAN);
        header.putShort(46, (short)1, BIG_ENDIAN);
        header.putByte(48, (byte)(-1 == segmentOffset ? 0 : 1));
        header.putInt(52, segmentOffset, BIG_ENDIAN);
    }

    private List<byte[]> receiveLent(final int count)
    {
        return receive(count, true);
    }

    private List<byte[]> receiveKept(final int count)
    {
        return receive(count, false);
    }

    private List<byte[]> receive(final int count, final boolean lend)
    {
        final List<byte[]> received = new ArrayList<>();
        final long tooLongBefore = b.counters().rxTooLong();
        final var sink = TestSinks.sink((p) ->
        {
            final byte[] bytes = new byte[p.length()];
            p.buffer().getBytes(0, bytes);
            received.add(bytes);
            lastPriority = p.priority();
            b.release(p);
        }, lend, false);
        RawEthernetDriverTest.awaitTrue(() ->
        {
            b.poll(sink, 64);
            return received.size() >= count;
        }, () -> "received " + received.size() + " of " + count + " " + b.counters());
        // Nothing more than expected arrives.
        for (int i = 0; i < 1000; i++)
        {
            b.poll(sink, 64);
        }
        assertEquals(count, received.size(), () -> b.counters().toString());
        assertEquals(tooLongBefore, b.counters().rxTooLong(), () -> b.counters().toString());
        return received;
    }

    private static void sendForged(final RawEthernetDriver sender, final RawEthernetDriver receiver, final byte[] f)
    {
        final Packet packet = sender.acquire();
        assertNotNull(packet);
        packet.length(f.length - FrameLayout.TAGGED_HEADER_LENGTH);
        assertTrue(sender.send(packet, receiver.localAddress(), 0));
        final long frameAddress = packet.buffer().addressOffset() - FrameLayout.TAGGED_HEADER_LENGTH;
        new UnsafeBuffer(frameAddress, f.length).putBytes(0, f);
        assertEquals(1, sender.flush());
        sender.release(packet);
    }

    /** A tagged IPv4 protocol-6 frame from A to B with 64 Homa-looking bytes and the given flags and urgent. */
    private byte[] forgedTcp(
        final RawEthernetDriver from, final RawEthernetDriver to, final int flags, final int urgent)
    {
        final int ipOffset = FrameLayout.ETHERNET_HEADER_LENGTH + FrameLayout.VLAN_TAG_LENGTH;
        final byte[] homa = RawEthernetDriverTest.homaLooking(new Random(SEED), 64, 0, 0);
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[ipOffset + Ipv4Flyweight.HEADER_LENGTH + homa.length]);
        EthernetFlyweight.putMac(frame, 0, macOf(to));
        EthernetFlyweight.putMac(frame, 6, macOf(from));
        frame.putShort(12, (short)EthernetFlyweight.ETHER_TYPE_VLAN, BIG_ENDIAN);
        frame.putShort(16, (short)EthernetFlyweight.ETHER_TYPE_IPV4, BIG_ENDIAN);
        frame.putByte(ipOffset, (byte)0x45);
        frame.putShort(ipOffset + Ipv4Flyweight.TOTAL_LENGTH_OFFSET,
            (short)(Ipv4Flyweight.HEADER_LENGTH + homa.length), BIG_ENDIAN);
        frame.putByte(ipOffset + Ipv4Flyweight.TTL_OFFSET, (byte)Ipv4Flyweight.DEFAULT_TTL);
        frame.putByte(ipOffset + Ipv4Flyweight.PROTOCOL_OFFSET, (byte)TcpHijack.IPPROTO_TCP);
        frame.putInt(ipOffset + Ipv4Flyweight.SOURCE_ADDRESS_OFFSET, ipOf(from), BIG_ENDIAN);
        frame.putInt(ipOffset + Ipv4Flyweight.DESTINATION_ADDRESS_OFFSET, ipOf(to), BIG_ENDIAN);
        frame.putShort(ipOffset + Ipv4Flyweight.HEADER_CHECKSUM_OFFSET,
            (short)Ipv4Flyweight.checksum(frame, ipOffset, Ipv4Flyweight.HEADER_LENGTH), BIG_ENDIAN);
        frame.putBytes(ipOffset + Ipv4Flyweight.HEADER_LENGTH, homa);
        final int homaOffset = ipOffset + Ipv4Flyweight.HEADER_LENGTH;
        frame.putByte(homaOffset + TcpHijack.FLAGS_OFFSET, (byte)flags);
        frame.putShort(homaOffset + TcpHijack.URGENT_OFFSET, (short)urgent, BIG_ENDIAN);
        return frame.byteArray();
    }

    private static long macOf(final RawEthernetDriver driver)
    {
        return driver.localMac();
    }

    private static int ipOf(final RawEthernetDriver driver)
    {
        return dev.homa.nic.HostAddress.ipv4Of(driver.localAddress());
    }

    private static byte[] slice(final byte[] bytes, final int from, final int length)
    {
        final byte[] copy = new byte[length];
        System.arraycopy(bytes, from, copy, 0, length);
        return copy;
    }
}
