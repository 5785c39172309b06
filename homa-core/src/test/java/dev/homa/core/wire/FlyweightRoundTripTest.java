package dev.homa.core.wire;

import dev.homa.nic.frame.PriorityMapping;
import java.util.Arrays;
import java.util.Random;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.homa.core.wire.WireTestSupport.bytes;
import static dev.homa.core.wire.WireTestSupport.copy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every packet type written with the setters reads back with the getters, and DATA, GRANT, RESEND, CUTOFFS and ACK
 * land byte for byte at the kernel's offsets, checked against big-endian dumps written by hand from homa_wire.h.
 * Headers are written at an odd offset inside a larger buffer so that a flyweight ignoring its offset, or writing
 * past its header, is caught.
 */
class FlyweightRoundTripTest
{
    private static final int OFFSET = 3;
    private static final byte GUARD = (byte)0xA5;

    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[4096]);
    private final PacketDecoder decoder = new PacketDecoder(1_000_000, true);

    @BeforeEach
    void fillWithGuard()
    {
        // Non-zero everywhere, so initialize() must really zero the unused bytes.
        buffer.setMemory(0, buffer.capacity(), GUARD);
    }

    @Test
    @Timeout(5)
    void dataHeaderMatchesKernelLayoutByteForByte()
    {
        final DataHeaderFlyweight data = new DataHeaderFlyweight();
        data.wrap(buffer, OFFSET)
            .initialize(PacketType.DATA, 0x1234, 0xABCD, 0x0102030405060708L)
            .messageLength(1_000_000)
            .incoming(40_000)
            .ackClientId(0x1122334455667788L)
            .ackServerPort(0x9ABC)
            .cutoffVersion(0xFEDC)
            .retransmit(true)
            .segmentOffset(10_000)
            .flags(HomaHeaderFlyweight.HIJACK_FLAGS | HomaHeaderFlyweight.FLAG_INCAST);

        final byte[] expected = bytes(
            0x12, 0x34, 0xAB, 0xCD,                         // 0: sport, dport
            0x00, 0x00, 0x27, 0x10,                         // 4: sequence = first payload offset (10000)
            0x00, 0x00, 0x00, 0x10,                         // 8: unused ack bytes, type DATA
            0xE0, 0x86, 0x00, 0x00,                         // 12: doff 14 words, flags SYN|RST + INCAST, window
            0x00, 0x00, 0xB9, 0x7D,                         // 16: checksum (the driver's), urgent 0xb97d
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // 20: sender_id
            0x00, 0x0F, 0x42, 0x40,                         // 28: message_length 1000000
            0x00, 0x00, 0x9C, 0x40,                         // 32: incoming 40000
            0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // 36: ack.client_id
            0x9A, 0xBC, 0xFE, 0xDC,                         // 44: ack.server_port, cutoff_version
            0x01, 0x00, 0x00, 0x00,                         // 48: retransmit, pad
            0x00, 0x00, 0x27, 0x10);                        // 52: seg.offset 10000
        assertEquals(DataHeaderFlyweight.HEADER_LENGTH, expected.length);
        assertArrayEquals(expected, copy(buffer, OFFSET, expected.length));
        assertGuardsIntact(DataHeaderFlyweight.HEADER_LENGTH);

        final DataHeaderFlyweight reader = new DataHeaderFlyweight().wrap(buffer, OFFSET);
        assertEquals(0x1234, reader.sourcePort());
        assertEquals(0xABCD, reader.destinationPort());
        assertEquals(10_000, reader.sequence());
        assertEquals(PacketType.DATA, reader.type());
        assertEquals(14 << 4, reader.doff());
        assertEquals(HomaHeaderFlyweight.HIJACK_FLAGS | HomaHeaderFlyweight.FLAG_INCAST, reader.flags());
        assertEquals(0, reader.window());
        assertEquals(0, reader.checksum());
        assertEquals(0xB97D, reader.urgent());
        assertEquals(0x0102030405060708L, reader.senderId());
        assertEquals(1_000_000, reader.messageLength());
        assertEquals(40_000, reader.incoming());
        assertEquals(0x1122334455667788L, reader.ackClientId());
        assertEquals(0x9ABC, reader.ackServerPort());
        assertEquals(0xFEDC, reader.cutoffVersion());
        assertTrue(reader.retransmit());
        assertEquals(10_000, reader.segmentOffset());
        assertEquals(10_000, reader.rawSegmentOffset());
        assertEquals(OFFSET + 56, reader.payloadOffset());
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, DataHeaderFlyweight.HEADER_LENGTH + 100));
    }

    @Test
    @Timeout(5)
    void grantMatchesKernelLayoutByteForByte()
    {
        new GrantFlyweight().wrap(buffer, OFFSET)
            .initialize(PacketType.GRANT, 0x8001, 4000, 0x8000000000000001L)
            .offset(0x12345)
            .priority(7);

        final byte[] expected = bytes(
            0x80, 0x01, 0x0F, 0xA0,                         // 0: sport 32769, dport 4000
            0x00, 0x00, 0x00, 0x00,                         // 4: sequence
            0x00, 0x00, 0x00, 0x11,                         // 8: type GRANT
            0x50, 0x06, 0x00, 0x00,                         // 12: doff 5 words, flags SYN|RST
            0x00, 0x00, 0xB9, 0x7D,                         // 16: checksum, urgent 0xb97d
            0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // 20: sender_id
            0x00, 0x01, 0x23, 0x45,                         // 28: offset
            0x07);                                          // 32: priority
        assertEquals(GrantFlyweight.LENGTH, expected.length);
        assertArrayEquals(expected, copy(buffer, OFFSET, expected.length));
        assertGuardsIntact(GrantFlyweight.LENGTH);

        final GrantFlyweight reader = new GrantFlyweight().wrap(buffer, OFFSET);
        assertEquals(0x8001, reader.sourcePort());
        assertEquals(4000, reader.destinationPort());
        assertEquals(PacketType.GRANT, reader.type());
        assertEquals(0x8000000000000001L, reader.senderId());
        assertEquals(0x12345, reader.offset());
        assertEquals(7, reader.priority());
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, GrantFlyweight.LENGTH));
    }

    @Test
    @Timeout(5)
    void resendMatchesKernelLayoutByteForByte()
    {
        new ResendFlyweight().wrap(buffer, OFFSET)
            .initialize(PacketType.RESEND, 1, 2, 3)
            .offset(1400)
            .length(ResendFlyweight.LENGTH_ALL)
            .priority(7);

        final byte[] expected = bytes(
            0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x50, 0x06, 0x00, 0x00,
            0x00, 0x00, 0xB9, 0x7D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
            0x00, 0x00, 0x05, 0x78,                         // 28: offset 1400
            0xFF, 0xFF, 0xFF, 0xFF,                         // 32: length -1
            0x07);                                          // 36: priority
        assertArrayEquals(expected, copy(buffer, OFFSET, ResendFlyweight.LENGTH));
        assertGuardsIntact(ResendFlyweight.LENGTH);

        final ResendFlyweight reader = new ResendFlyweight().wrap(buffer, OFFSET);
        assertEquals(1400, reader.offset());
        assertEquals(-1, reader.length());
        assertEquals(7, reader.priority());
        assertEquals(3L, reader.senderId());

        reader.length(2800);
        assertEquals(2800, reader.length());
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, ResendFlyweight.LENGTH));
    }

    @Test
    @Timeout(5)
    void cutoffsMatchKernelLayoutByteForByte()
    {
        final CutoffsFlyweight cutoffs = new CutoffsFlyweight().wrap(buffer, OFFSET)
            .initialize(PacketType.CUTOFFS, 5, 6, 7);
        final int[] values = {Integer.MAX_VALUE, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 15_000, 2_800, 200};
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            cutoffs.cutoff(level, values[level]);
        }
        cutoffs.cutoffVersion(0x0102);

        final byte[] body = bytes(
            0x7F, 0xFF, 0xFF, 0xFF, 0x00, 0x0F, 0x42, 0x40, 0x00, 0x0F, 0x42, 0x40, 0x00, 0x0F, 0x42, 0x40,
            0x00, 0x0F, 0x42, 0x40, 0x00, 0x00, 0x3A, 0x98, 0x00, 0x00, 0x0A, 0xF0, 0x00, 0x00, 0x00, 0xC8,
            0x01, 0x02);                                    // 60: cutoff_version
        assertEquals(62, CutoffsFlyweight.LENGTH);
        assertArrayEquals(body, copy(buffer, OFFSET + 28, body.length));
        assertEquals(0x15, buffer.getByte(OFFSET + 11));
        assertGuardsIntact(CutoffsFlyweight.LENGTH);

        final CutoffsFlyweight reader = new CutoffsFlyweight().wrap(buffer, OFFSET);
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            assertEquals(values[level], reader.cutoff(level));
        }
        assertEquals(0x0102, reader.cutoffVersion());
        assertThrows(IndexOutOfBoundsException.class, () -> reader.cutoff(8));
        assertThrows(IndexOutOfBoundsException.class, () -> reader.cutoff(-1, 0));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, CutoffsFlyweight.LENGTH));
    }

    @Test
    @Timeout(5)
    void ackMatchesKernelLayoutByteForByte()
    {
        final AckFlyweight ack = new AckFlyweight().wrap(buffer, OFFSET)
            .initialize(PacketType.ACK, 9, 10, 11);
        assertEquals(0, ack.numAcks());
        ack.addAck(0x0A0B0C0D0E0F1011L, 0x1213).addAck(2, 3);

        final byte[] body = bytes(
            0x00, 0x02,                                     // 28: num_acks
            0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, // 30: acks[0].client_id
            0x12, 0x13,                                     // 38: acks[0].server_port
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, // 40: acks[1].client_id
            0x00, 0x03);                                    // 48: acks[1].server_port
        assertArrayEquals(body, copy(buffer, OFFSET + 28, body.length));
        final byte[] zeros = new byte[AckFlyweight.LENGTH - 28 - body.length];
        assertArrayEquals(zeros, copy(buffer, OFFSET + 28 + body.length, zeros.length));
        assertEquals(80, AckFlyweight.LENGTH);
        assertGuardsIntact(AckFlyweight.LENGTH);

        ack.addAck(4, 5).addAck(6, 7).addAck(8, 9);
        assertEquals(AckFlyweight.MAX_ACKS, ack.numAcks());
        assertThrows(IndexOutOfBoundsException.class, () -> ack.addAck(10, 11));

        final AckFlyweight reader = new AckFlyweight().wrap(buffer, OFFSET);
        assertEquals(5, reader.numAcks());
        assertEquals(0x0A0B0C0D0E0F1011L, reader.clientId(0));
        assertEquals(0x1213, reader.serverPort(0));
        assertEquals(8L, reader.clientId(4));
        assertEquals(9, reader.serverPort(4));
        assertEquals(11L, reader.senderId());
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, AckFlyweight.LENGTH));
    }

    @Test
    @Timeout(5)
    void bareControlPacketsAreTheCommonHeaderOnly()
    {
        final HomaHeaderFlyweight header = new HomaHeaderFlyweight();
        final int[] bareTypes = {PacketType.RPC_UNKNOWN, PacketType.BUSY, PacketType.FREEZE, PacketType.NEED_ACK};
        for (final int type : bareTypes)
        {
            buffer.setMemory(0, buffer.capacity(), GUARD);
            header.wrap(buffer, OFFSET).initialize(type, 0xFFFF, 0x8000, -1L);

            final byte[] expected = bytes(
                0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, type, 0x50, 0x06, 0x00, 0x00,
                0x00, 0x00, 0xB9, 0x7D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
            assertArrayEquals(expected, copy(buffer, OFFSET, HomaHeaderFlyweight.COMMON_HEADER_LENGTH));
            assertGuardsIntact(HomaHeaderFlyweight.COMMON_HEADER_LENGTH);
            assertEquals(HomaHeaderFlyweight.COMMON_HEADER_LENGTH, PacketType.headerLength(type));
            assertEquals(type, header.type());
            assertEquals(0xFFFF, header.sourcePort());
            assertEquals(0x8000, header.destinationPort());
            assertEquals(-1L, header.senderId());
            assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, HomaHeaderFlyweight.COMMON_HEADER_LENGTH));
        }
        assertEquals(4, decoder.acceptedTotal());
    }

    @Test
    @Timeout(5)
    void commonHeaderSettersAndStaticAccessorsAgree()
    {
        final HomaHeaderFlyweight header = new HomaHeaderFlyweight().wrap(buffer, OFFSET);
        header.sourcePort(65535)
            .destinationPort(1)
            .sequence(0xDEADBEEF)
            .type(PacketType.BUSY)
            .doff(0x50)
            .flags(0xFF)
            .window(0xFFFE)
            .checksum(0xBEEF)
            .urgent(0xB97D)
            .senderId(Long.MIN_VALUE);

        assertSame(buffer, header.buffer());
        assertEquals(OFFSET, header.bufferOffset());
        assertEquals(65535, header.sourcePort());
        assertEquals(1, header.destinationPort());
        assertEquals(0xDEADBEEF, header.sequence());
        assertEquals(0xFF, header.flags());
        assertEquals(0xFFFE, header.window());
        assertEquals(0xBEEF, header.checksum());
        assertEquals(0xB97D, header.urgent());
        assertEquals(0xB9, buffer.getByte(OFFSET + HomaHeaderFlyweight.URGENT_OFFSET) & 0xFF);

        assertEquals(PacketType.BUSY, HomaHeaderFlyweight.typeOf(buffer, OFFSET));
        assertEquals(Long.MIN_VALUE, HomaHeaderFlyweight.senderIdOf(buffer, OFFSET));
        assertEquals(65535, HomaHeaderFlyweight.sourcePortOf(buffer, OFFSET));
        assertEquals(1, HomaHeaderFlyweight.destinationPortOf(buffer, OFFSET));
        assertEquals(0x50, HomaHeaderFlyweight.doffOf(buffer, OFFSET));
        assertEquals(0xFF, HomaHeaderFlyweight.flagsOf(buffer, OFFSET));
    }

    @Test
    @Timeout(5)
    void dataStaticAccessorsResolveTheKernelsMinusOneSegmentOffset()
    {
        // A current kernel sends single-segment DATA with seg.offset = -1 and the offset in sequence.
        final DataHeaderFlyweight data = new DataHeaderFlyweight().wrap(buffer, OFFSET)
            .initialize(PacketType.DATA, 1, 2, 3)
            .messageLength(5000)
            .incoming(5000);
        data.sequence(2800);
        buffer.putInt(OFFSET + DataHeaderFlyweight.SEGMENT_OFFSET_OFFSET, -1, java.nio.ByteOrder.BIG_ENDIAN);

        assertEquals(-1, data.rawSegmentOffset());
        assertEquals(2800, data.segmentOffset());
        assertEquals(2800, DataHeaderFlyweight.segmentOffsetOf(buffer, OFFSET));
        assertEquals(5000, DataHeaderFlyweight.messageLengthOf(buffer, OFFSET));
        assertEquals(5000, DataHeaderFlyweight.incomingOf(buffer, OFFSET));
        assertEquals(1400, DataHeaderFlyweight.payloadLength(56 + 1400));
        assertFalse(data.retransmit(false).retransmit());
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, 56 + 2200));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, 56 + 2201));
    }

    @Test
    @Timeout(5)
    void typedFlyweightsRefuseToInitializeAnotherType()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new DataHeaderFlyweight().wrap(buffer, 0).initialize(PacketType.GRANT, 1, 2, 3));
        assertTrue(e.getMessage().contains("GRANT"));
        assertThrows(IllegalArgumentException.class,
            () -> new GrantFlyweight().wrap(buffer, 0).initialize(PacketType.DATA, 1, 2, 3));
        assertThrows(IllegalArgumentException.class,
            () -> new ResendFlyweight().wrap(buffer, 0).initialize(PacketType.BUSY, 1, 2, 3));
        assertThrows(IllegalArgumentException.class,
            () -> new CutoffsFlyweight().wrap(buffer, 0).initialize(PacketType.ACK, 1, 2, 3));
        assertThrows(IllegalArgumentException.class,
            () -> new AckFlyweight().wrap(buffer, 0).initialize(PacketType.CUTOFFS, 1, 2, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> new AckFlyweight().wrap(buffer, 0).clientId(5));
    }

    @Test
    @Timeout(5)
    void packetTypeNamesAndLengths()
    {
        final String[] names =
            {"DATA", "GRANT", "RESEND", "RPC_UNKNOWN", "BUSY", "CUTOFFS", "FREEZE", "NEED_ACK", "ACK"};
        final int[] lengths = {56, 33, 37, 28, 28, 62, 28, 28, 80};
        for (int type = 0x10; type <= 0x18; type++)
        {
            assertTrue(PacketType.isValid(type));
            assertEquals(names[type - 0x10], PacketType.name(type));
            assertEquals(lengths[type - 0x10], PacketType.headerLength(type));
            assertEquals(0x10 == type ? 0xE0 : 0x50, PacketType.doffFor(type));
        }
        for (final int type : new int[]{-1, 0, 0x0F, 0x19, 0xFF, 0x110})
        {
            assertFalse(PacketType.isValid(type));
            assertEquals("UNKNOWN", PacketType.name(type));
            assertEquals(-1, PacketType.headerLength(type));
        }
        assertEquals(9, PacketType.TYPE_COUNT);
    }

    @Test
    @Timeout(5)
    void initializeOfAnUnknownTypeZeroesOnlyTheCommonHeader()
    {
        new HomaHeaderFlyweight().wrap(buffer, OFFSET).initialize(0x42, 1, 2, 3);
        assertEquals(0x42, HomaHeaderFlyweight.typeOf(buffer, OFFSET));
        assertEquals(0x50, HomaHeaderFlyweight.doffOf(buffer, OFFSET));
        assertGuardsIntact(HomaHeaderFlyweight.COMMON_HEADER_LENGTH);
    }

    @Test
    @Timeout(10)
    void randomFieldValuesRoundTripAtRandomOffsets()
    {
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("seed=" + seed + " (FlyweightRoundTripTest.randomFieldValuesRoundTripAtRandomOffsets; " +
            "replay with -Dhoma.seed=" + seed + ")");
        final Random random = new Random(seed);
        final DataHeaderFlyweight data = new DataHeaderFlyweight();
        final GrantFlyweight grant = new GrantFlyweight();
        final ResendFlyweight resend = new ResendFlyweight();

        for (int i = 0; i < 10_000; i++)
        {
            final int offset = random.nextInt(1024);
            final int sport = random.nextInt(0x10000);
            final int dport = random.nextInt(0x10000);
            final long senderId = random.nextLong();
            final int messageLength = random.nextInt();
            final int incoming = random.nextInt();
            final long ackClientId = random.nextLong();
            final int ackServerPort = random.nextInt(0x10000);
            final int cutoffVersion = random.nextInt(0x10000);
            final boolean retransmit = random.nextBoolean();
            final int segmentOffset = random.nextInt() & 0x7FFF_FFFF;
            final int flags = random.nextInt(0x100);

            data.wrap(buffer, offset)
                .initialize(PacketType.DATA, sport, dport, senderId)
                .messageLength(messageLength)
                .incoming(incoming)
                .ackClientId(ackClientId)
                .ackServerPort(ackServerPort)
                .cutoffVersion(cutoffVersion)
                .retransmit(retransmit)
                .segmentOffset(segmentOffset)
                .flags(flags);

            final DataHeaderFlyweight reader = new DataHeaderFlyweight().wrap(buffer, offset);
            assertEquals(sport, reader.sourcePort());
            assertEquals(dport, reader.destinationPort());
            assertEquals(senderId, reader.senderId());
            assertEquals(flags, reader.flags());
            assertEquals(messageLength, reader.messageLength());
            assertEquals(incoming, reader.incoming());
            assertEquals(ackClientId, reader.ackClientId());
            assertEquals(ackServerPort, reader.ackServerPort());
            assertEquals(cutoffVersion, reader.cutoffVersion());
            assertEquals(retransmit, reader.retransmit());
            assertEquals(segmentOffset, reader.segmentOffset());
            assertEquals(PacketType.DATA, HomaHeaderFlyweight.typeOf(buffer, offset));

            final int grantOffset = random.nextInt();
            final int priority = random.nextInt(0x100);
            grant.wrap(buffer, offset).initialize(PacketType.GRANT, sport, dport, senderId)
                .offset(grantOffset)
                .priority(priority);
            assertEquals(grantOffset, grant.offset());
            assertEquals(priority, grant.priority());
            assertEquals(senderId, HomaHeaderFlyweight.senderIdOf(buffer, offset));

            final int resendLength = random.nextInt();
            resend.wrap(buffer, offset).initialize(PacketType.RESEND, sport, dport, senderId)
                .offset(grantOffset)
                .length(resendLength)
                .priority(priority);
            assertEquals(grantOffset, resend.offset());
            assertEquals(resendLength, resend.length());
            assertEquals(priority, resend.priority());
        }
    }

    private void assertGuardsIntact(final int headerLength)
    {
        final byte[] before = copy(buffer, 0, OFFSET);
        final byte[] after = copy(buffer, OFFSET + headerLength, 8);
        final byte[] guardBefore = new byte[OFFSET];
        final byte[] guardAfter = new byte[8];
        Arrays.fill(guardBefore, GUARD);
        Arrays.fill(guardAfter, GUARD);
        assertArrayEquals(guardBefore, before, "bytes before the header changed");
        assertArrayEquals(guardAfter, after, "bytes after the header changed");
    }
}
