package dev.homa.nic.frame;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class HomaFrameTest
{
    private static final long DST_MAC = 0x0200_C612_0002L;
    private static final long SRC_MAC = 0x0200_C612_0001L;
    private static final int SRC_IP = (198 << 24) | (18 << 16) | 1;
    private static final int DST_IP = (198 << 24) | (18 << 16) | 2;
    private static final int HOMA_LENGTH = 100;

    private final UnsafeBuffer frame = new UnsafeBuffer(new byte[2048]);
    private final HomaFrameWriter writer = new HomaFrameWriter();
    private final HomaFrameReader reader = new HomaFrameReader();

    @Test
    void constantsMatchTheKernel()
    {
        assertEquals(14, FrameLayout.ETHERNET_HEADER_LENGTH);
        assertEquals(4, FrameLayout.VLAN_TAG_LENGTH);
        assertEquals(20, FrameLayout.IPV4_HEADER_LENGTH);
        assertEquals(146, FrameLayout.IPPROTO_HOMA);
        assertEquals(42, FrameLayout.HOMA_ETH_OVERHEAD);
        assertEquals(38, FrameLayout.TAGGED_HEADER_LENGTH);
        assertEquals(34, FrameLayout.UNTAGGED_HEADER_LENGTH);
        assertEquals(62, FrameLayout.WIRE_OVERHEAD_BYTES);
        assertEquals(1480, FrameLayout.maxHomaPacketLength(1500));
        assertEquals(1542, FrameLayout.wireBytes(1480), "1500-byte IP packet + 42");
    }

    @Test
    void writesTaggedHeadersInFrontOfTheHomaBytes()
    {
        final int frameOffset = 10;
        fillHoma(frameOffset + FrameLayout.TAGGED_HEADER_LENGTH, HOMA_LENGTH);

        final int headerLength = writer.writeHeaders(
            frame, frameOffset, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 0, 0x1234);

        assertEquals(38, headerLength);
        final EthernetFlyweight ethernet = new EthernetFlyweight().wrap(frame, frameOffset);
        assertEquals(DST_MAC, ethernet.destinationMac());
        assertEquals(SRC_MAC, ethernet.sourceMac());
        assertEquals(0x8100, ethernet.etherType());
        final VlanTagFlyweight tag = new VlanTagFlyweight().wrap(frame, frameOffset + 12);
        assertEquals(1, tag.pcp(), "level 0 rides PCP 1 (background)");
        assertFalse(tag.dei());
        assertEquals(0, tag.vid(), "priority tag");
        assertEquals(0x0800, tag.innerEtherType());
        final Ipv4Flyweight ip = new Ipv4Flyweight().wrap(frame, frameOffset + 18);
        assertEquals(4, ip.version());
        assertEquals(5, ip.ihl());
        assertEquals(0, ip.tos());
        assertEquals(20 + HOMA_LENGTH, ip.totalLength());
        assertEquals(0x1234, ip.identification());
        assertTrue(ip.dontFragment());
        assertEquals(0, ip.fragmentOffset());
        assertEquals(64, ip.ttl());
        assertEquals(146, ip.protocol());
        assertEquals(SRC_IP, ip.sourceAddress());
        assertEquals(DST_IP, ip.destinationAddress());
        assertTrue(ip.isChecksumValid());
        assertHomaIntact(frameOffset + 38, HOMA_LENGTH);
    }

    @Test
    void everyLevelRoundTripsThroughPcpAndTos()
    {
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, level, level);
            assertEquals(PriorityMapping.levelToPcp(level), new VlanTagFlyweight().wrap(frame, 12).pcp());
            assertEquals(level << 5, new Ipv4Flyweight().wrap(frame, 18).tos());

            assertEquals(FrameRejectReason.NONE, reader.read(frame, 0, 38 + HOMA_LENGTH));
            assertEquals(level, reader.priority());
            assertEquals(PriorityMapping.levelToPcp(level), reader.pcp());
        }
    }

    @Test
    void readerFindsTheHomaBytesOfATaggedFrame()
    {
        fillHoma(5 + 38, HOMA_LENGTH);
        writer.writeHeaders(frame, 5, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 6, 77);

        assertEquals(FrameRejectReason.NONE, reader.read(frame, 5, 38 + HOMA_LENGTH));
        assertEquals(5 + 38, reader.homaOffset());
        assertEquals(HOMA_LENGTH, reader.homaLength());
        assertEquals(SRC_IP, reader.sourceIpv4());
        assertEquals(DST_IP, reader.destinationIpv4());
        assertEquals(SRC_MAC, reader.sourceMac());
        assertEquals(DST_MAC, reader.destinationMac());
        assertTrue(reader.tagged());
        assertEquals(0, reader.vlanId());
        assertEquals(6, reader.pcp());
        assertEquals(6, reader.priority());
        assertEquals(77, reader.ipIdentification());
        assertHomaIntact(reader.homaOffset(), reader.homaLength());
        assertEquals(1, reader.acceptedCount());
    }

    @Test
    void readerTakesTcpOnlyWithHomasHijackingMarks()
    {
        fillHoma(38, HOMA_LENGTH);
        writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 2, 5, TcpHijack.IPPROTO_TCP);
        assertEquals(TcpHijack.IPPROTO_TCP, frame.getByte(38 - 20 + 9), "protocol 6 written");
        // Real TCP: the Homa-looking bytes carry no marks.
        assertEquals(FrameRejectReason.NOT_HOMA, reader.read(frame, 0, 38 + HOMA_LENGTH));

        frame.putByte(38 + TcpHijack.FLAGS_OFFSET, (byte)TcpHijack.FLAGS);
        assertEquals(FrameRejectReason.NOT_HOMA, reader.read(frame, 0, 38 + HOMA_LENGTH), "flags alone");
        frame.putShort(38 + TcpHijack.URGENT_OFFSET, (short)TcpHijack.URGENT, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(FrameRejectReason.NONE, reader.read(frame, 0, 38 + HOMA_LENGTH));
        assertTrue(reader.hijacked());
        assertEquals(HOMA_LENGTH, reader.homaLength());
        assertEquals(2, reader.priority());

        frame.putByte(38 + TcpHijack.FLAGS_OFFSET, (byte)(TcpHijack.FLAGS | 0x80));
        assertEquals(FrameRejectReason.NOT_HOMA, reader.read(frame, 0, 38 + HOMA_LENGTH), "other flags are TCP's");
        // Too short to carry the marks: not Homa, and nothing read beyond the frame.
        writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, 12, 2, 5, TcpHijack.IPPROTO_TCP);
        assertEquals(FrameRejectReason.NOT_HOMA, reader.read(frame, 0, 38 + 12));

        writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 2, 5);
        assertEquals(FrameRejectReason.NONE, reader.read(frame, 0, 38 + HOMA_LENGTH));
        assertFalse(reader.hijacked(), "protocol 146");
    }

    @Test
    void readerAcceptsUntaggedFramesAndTakesThePriorityFromTos()
    {
        final int headerLength = writer.writeUntaggedHeaders(
            frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 3, 1);
        assertEquals(34, headerLength);
        assertEquals(0x0800, EthernetFlyweight.etherTypeOf(frame, 0));

        assertEquals(FrameRejectReason.NONE, reader.read(frame, 0, 34 + HOMA_LENGTH));
        assertFalse(reader.tagged());
        assertEquals(-1, reader.pcp());
        assertEquals(-1, reader.vlanId());
        assertEquals(34, reader.homaOffset());
        assertEquals(3, reader.priority());
        assertEquals(0x60, reader.tos());
    }

    @Test
    void untaggedWithUnknownPriorityLeavesTosZero()
    {
        writer.writeUntaggedHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, -1, 1);
        assertEquals(0, new Ipv4Flyweight().wrap(frame, 14).tos());
    }

    @Test
    void configuredVlanTtlAndNoTosMarking()
    {
        final HomaFrameWriter custom = new HomaFrameWriter(100, 1, false);
        custom.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 7, 0);

        assertEquals(100, new VlanTagFlyweight().wrap(frame, 12).vid());
        final Ipv4Flyweight ip = new Ipv4Flyweight().wrap(frame, 18);
        assertEquals(1, ip.ttl());
        assertEquals(0, ip.tos());
        assertTrue(ip.isChecksumValid());
        assertEquals(FrameRejectReason.NONE, reader.read(frame, 0, 38 + HOMA_LENGTH));
        assertEquals(100, reader.vlanId());
        assertEquals(7, reader.priority());
    }

    @Test
    void trailingPaddingIsNotHomaBytes()
    {
        writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, 28, 2, 0);

        assertEquals(FrameRejectReason.NONE, reader.read(frame, 0, 38 + 28 + 4));
        assertEquals(28, reader.homaLength());
    }

    @Test
    void ipOptionsMoveTheHomaOffset()
    {
        writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 2, 0);
        // Rebuild the IP header with one word of options (NOPs) in front of the same Homa length.
        final Ipv4Flyweight ip = new Ipv4Flyweight().wrap(frame, 18);
        frame.putBytes(18 + 24, frame, 18 + 20, HOMA_LENGTH);
        frame.putInt(18 + 20, 0x01010101);
        ip.versionAndIhl(4, 6).totalLength(24 + HOMA_LENGTH).updateChecksum();

        assertEquals(FrameRejectReason.NONE, reader.read(frame, 0, 42 + HOMA_LENGTH));
        assertEquals(42, reader.homaOffset());
        assertEquals(HOMA_LENGTH, reader.homaLength());
    }

    @Test
    void rejectsEveryMalformedFrameWithItsReason()
    {
        final int length = 38 + HOMA_LENGTH;

        rewrite();
        assertEquals(FrameRejectReason.TOO_SHORT, reader.read(frame, 0, 13));
        assertEquals(FrameRejectReason.TOO_SHORT, reader.read(frame, 0, 17));
        assertEquals(FrameRejectReason.TOO_SHORT, reader.read(frame, 0, 18 + 19));

        rewrite();
        frame.putShort(16, (short)0x86DD, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(FrameRejectReason.NOT_IPV4, reader.read(frame, 0, length));
        frame.putShort(12, (short)0x88A8, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(FrameRejectReason.STACKED_TAGS, reader.read(frame, 0, length), "an 802.1ad service tag");

        rewrite();
        frame.putShort(16, (short)0x8100, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(FrameRejectReason.STACKED_TAGS, reader.read(frame, 0, length), "a tag inside a tag (QinQ)");

        rewrite();
        frame.putByte(18, (byte)0x65);
        assertEquals(FrameRejectReason.BAD_IP_VERSION, reader.read(frame, 0, length));

        rewrite();
        frame.putByte(18, (byte)0x44);
        assertEquals(FrameRejectReason.BAD_IP_HEADER_LENGTH, reader.read(frame, 0, length));

        rewrite();
        frame.putByte(18, (byte)0x4F);
        assertEquals(FrameRejectReason.TOO_SHORT, reader.read(frame, 0, 18 + 40), "IHL 15 needs 60 bytes");

        rewrite();
        final Ipv4Flyweight ip = new Ipv4Flyweight().wrap(frame, 18);
        ip.protocol(17).updateChecksum();
        assertEquals(FrameRejectReason.NOT_HOMA, reader.read(frame, 0, length));

        rewrite();
        frame.putByte(18 + 8, (byte)63);
        assertEquals(FrameRejectReason.BAD_CHECKSUM, reader.read(frame, 0, length), "TTL changed, checksum not");

        rewrite();
        ip.totalLength(20 + HOMA_LENGTH + 1).updateChecksum();
        assertEquals(FrameRejectReason.BAD_TOTAL_LENGTH, reader.read(frame, 0, length));
        ip.totalLength(19).updateChecksum();
        assertEquals(FrameRejectReason.BAD_TOTAL_LENGTH, reader.read(frame, 0, length));

        rewrite();
        ip.flagsAndFragmentOffset(Ipv4Flyweight.FLAG_MORE_FRAGMENTS).updateChecksum();
        assertEquals(FrameRejectReason.FRAGMENTED, reader.read(frame, 0, length));
        ip.flagsAndFragmentOffset(10).updateChecksum();
        assertEquals(FrameRejectReason.FRAGMENTED, reader.read(frame, 0, length));

        assertEquals(4, reader.rejectedCount(FrameRejectReason.TOO_SHORT));
        assertEquals(1, reader.rejectedCount(FrameRejectReason.NOT_IPV4));
        assertEquals(2, reader.rejectedCount(FrameRejectReason.STACKED_TAGS));
        assertEquals(1, reader.rejectedCount(FrameRejectReason.BAD_IP_VERSION));
        assertEquals(1, reader.rejectedCount(FrameRejectReason.BAD_IP_HEADER_LENGTH));
        assertEquals(1, reader.rejectedCount(FrameRejectReason.NOT_HOMA));
        assertEquals(1, reader.rejectedCount(FrameRejectReason.BAD_CHECKSUM));
        assertEquals(2, reader.rejectedCount(FrameRejectReason.BAD_TOTAL_LENGTH));
        assertEquals(2, reader.rejectedCount(FrameRejectReason.FRAGMENTED));
        assertEquals(0, reader.acceptedCount());
    }

    @Test
    void corruptedChecksumIsRejectedAndTheRepairedFrameAccepted()
    {
        rewrite();
        final int length = 38 + HOMA_LENGTH;
        final int checksum = frame.getShort(18 + 10, java.nio.ByteOrder.BIG_ENDIAN) & 0xFFFF;
        frame.putShort(18 + 10, (short)(checksum ^ 0x0100), java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(FrameRejectReason.BAD_CHECKSUM, reader.read(frame, 0, length));

        frame.putShort(18 + 10, (short)checksum, java.nio.ByteOrder.BIG_ENDIAN);
        assertEquals(FrameRejectReason.NONE, reader.read(frame, 0, length));
    }

    @Test
    void readerNeverThrowsOnGarbage()
    {
        final long seed = Long.getLong("homa.seed", 146L);
        System.out.println("seed=" + seed);
        final java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        final byte[] bytes = new byte[frame.capacity()];
        for (int round = 0; round < 5_000; round++)
        {
            random.nextBytes(bytes);
            frame.putBytes(0, bytes);
            if (random.nextBoolean())
            {
                writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, random.nextInt(1500), 1, 0);
                frame.putByte(random.nextInt(38), (byte)random.nextInt());
            }
            final int length = random.nextInt(1600);
            final FrameRejectReason reason = reader.read(frame, 0, length);
            if (FrameRejectReason.NONE == reason)
            {
                assertTrue(reader.homaOffset() + reader.homaLength() <= length, "round " + round);
            }
        }
        long total = 0;
        for (int i = 0; i < FrameRejectReason.count(); i++)
        {
            total += reader.rejectedCount(FrameRejectReason.get(i));
        }
        assertEquals(5_000, total);
    }

    @Test
    void writerRejectsMisuse()
    {
        assertThrows(IllegalArgumentException.class,
            () -> writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 8, 0));
        assertThrows(IllegalArgumentException.class,
            () -> writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, -1, 0, 0));
        assertThrows(IllegalArgumentException.class,
            () -> writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, 65516, 0, 0));
        assertThrows(IllegalArgumentException.class,
            () -> writer.writeUntaggedHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, -2, 0));
        assertThrows(IllegalArgumentException.class, () -> new HomaFrameWriter(4095, 64, true));
        assertThrows(IllegalArgumentException.class, () -> new HomaFrameWriter(0, 0, true));
    }

    @Test
    @Tag("allocation")
    void writeAndReadAllocateNothing()
    {
        final long allocated = new AllocationMeter().measure(20_000, this::writeAndRead);
        assertEquals(0, allocated, "bytes allocated by 20 000 writes and reads");
    }

    private void writeAndRead(final int i)
    {
        writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, i & 7, i);
        if (FrameRejectReason.NONE != reader.read(frame, 0, 38 + HOMA_LENGTH))
        {
            throw new AssertionError("rejected");
        }
    }

    private void rewrite()
    {
        writer.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, HOMA_LENGTH, 4, 9);
    }

    private void fillHoma(final int offset, final int length)
    {
        for (int i = 0; i < length; i++)
        {
            frame.putByte(offset + i, (byte)(i * 7 + 3));
        }
    }

    private void assertHomaIntact(final int offset, final int length)
    {
        for (int i = 0; i < length; i++)
        {
            assertEquals((byte)(i * 7 + 3), frame.getByte(offset + i), "Homa byte " + i);
        }
    }
}
