package dev.homa.core.wire;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import dev.homa.nic.Packet;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder accepts what a kernel peer sends, rejects each malformed case with its named reason, never throws,
 * and counts every outcome.
 */
class PacketDecoderTest
{
    private static final int MAX = 1_000_000;
    private static final int OFFSET = 5;

    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[2048]);
    private final PacketDecoder decoder = new PacketDecoder(MAX);
    private final PacketDecoder strict = new PacketDecoder(MAX, true);
    private final DataHeaderFlyweight data = new DataHeaderFlyweight();
    private final GrantFlyweight grant = new GrantFlyweight();
    private final ResendFlyweight resend = new ResendFlyweight();
    private final CutoffsFlyweight cutoffs = new CutoffsFlyweight();
    private final AckFlyweight ack = new AckFlyweight();

    /**
     * Each reason, one sample packet that must be rejected with it: the switch is exhaustive, so a new reason does
     * not compile until it has a sample here.
     */
    @ParameterizedTest
    @EnumSource(RejectReason.class)
    @Timeout(5)
    void everyReasonHasARejectingSample(final RejectReason reason)
    {
        final PacketDecoder target = RejectReason.BAD_HEADER_LENGTH == reason ? strict : decoder;
        final int length = switch (reason)
        {
            case NONE -> dataPacket(1000, 0, 1000);
            case OUT_OF_BOUNDS -> -1;
            case TOO_SHORT -> 27;
            case UNKNOWN_TYPE ->
            {
                buffer.putByte(OFFSET + HomaHeaderFlyweight.TYPE_OFFSET, (byte)0x19);
                yield 28;
            }
            case BAD_HEADER_LENGTH ->
            {
                final int packetLength = dataPacket(1000, 0, 1000);
                data.doff(HomaHeaderFlyweight.DOFF_CONTROL);
                yield packetLength;
            }
            case ZERO_MESSAGE_LENGTH -> dataPacket(0, 0, 10);
            case MESSAGE_TOO_LONG -> dataPacket(MAX + 1, 0, 10);
            case INCONSISTENT_LENGTH -> dataPacket(1000, 0, 0);
            case OFFSET_PAST_END -> dataPacket(1000, 1, 1000);
            case BAD_PRIORITY -> grantPacket(1000, 8);
            case TOO_MANY_ACKS -> ackPacket(6);
        };

        assertEquals(reason, target.validate(buffer, OFFSET, length));
        assertEquals(1, target.rejectedCount(reason));
    }

    @Test
    @Timeout(5)
    void outOfBoundsArgumentsAreRejectedNotThrown()
    {
        final int capacity = buffer.capacity();
        assertEquals(RejectReason.OUT_OF_BOUNDS, decoder.validate(buffer, 0, -1));
        assertEquals(RejectReason.OUT_OF_BOUNDS, decoder.validate(buffer, -1, 100));
        assertEquals(RejectReason.OUT_OF_BOUNDS, decoder.validate(buffer, Integer.MIN_VALUE, 100));
        assertEquals(RejectReason.OUT_OF_BOUNDS, decoder.validate(buffer, 0, capacity + 1));
        assertEquals(RejectReason.OUT_OF_BOUNDS, decoder.validate(buffer, capacity - 27, 28));
        assertEquals(RejectReason.OUT_OF_BOUNDS, decoder.validate(buffer, 1, Integer.MAX_VALUE));
        assertEquals(RejectReason.OUT_OF_BOUNDS, decoder.validate(buffer, Integer.MAX_VALUE, Integer.MAX_VALUE));
        assertEquals(RejectReason.OUT_OF_BOUNDS, decoder.validate(new UnsafeBuffer(new byte[0]), 0, 1));
        assertEquals(RejectReason.TOO_SHORT, decoder.validate(new UnsafeBuffer(new byte[0]), 0, 0));
        assertEquals(RejectReason.TOO_SHORT, decoder.validate(buffer, capacity, 0));
        assertEquals(8, decoder.rejectedCount(RejectReason.OUT_OF_BOUNDS));
        assertEquals(10, decoder.rejectedTotal());
    }

    @Test
    @Timeout(5)
    void tooShortForEachTypesHeader()
    {
        for (int type = PacketType.MIN_TYPE; type <= PacketType.MAX_TYPE; type++)
        {
            final int headerLength = PacketType.headerLength(type);
            buffer.setMemory(0, buffer.capacity(), (byte)0);
            new HomaHeaderFlyweight().wrap(buffer, OFFSET).initialize(type, 1, 2, 3);
            assertEquals(RejectReason.TOO_SHORT, decoder.validate(buffer, OFFSET, headerLength - 1),
                PacketType.name(type));
            assertEquals(RejectReason.TOO_SHORT, decoder.validate(buffer, OFFSET, 27), PacketType.name(type));
        }
        assertEquals(18, decoder.rejectedCount(RejectReason.TOO_SHORT));
    }

    @Test
    @Timeout(5)
    void unknownTypes()
    {
        for (final int type : new int[]{0x00, 0x0F, 0x19, 0x7F, 0x80, 0xFF})
        {
            new HomaHeaderFlyweight().wrap(buffer, OFFSET).initialize(PacketType.BUSY, 1, 2, 3).type(type);
            assertEquals(RejectReason.UNKNOWN_TYPE, decoder.validate(buffer, OFFSET, 100), Integer.toHexString(type));
        }
        assertEquals(6, decoder.rejectedCount(RejectReason.UNKNOWN_TYPE));
    }

    @Test
    @Timeout(5)
    void doffIsCountedByTheLenientDecoderAndRejectedByTheStrictOne()
    {
        // Kernel forms: DATA 14 words, a GSO DATA batch 13 words, control packets 5 words.
        final int length = dataPacket(1000, 0, 1000);
        assertEquals(RejectReason.NONE, strict.validate(buffer, OFFSET, length));
        data.doff(HomaHeaderFlyweight.DOFF_DATA_GSO);
        assertEquals(RejectReason.NONE, strict.validate(buffer, OFFSET, length));
        assertEquals(0, strict.headerLengthMismatchCount());

        // 2023 kernels sent control packets with doff 0: the lenient decoder takes them.
        final int grantLength = grantPacket(100, 1);
        grant.doff(0);
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, grantLength));
        assertEquals(1, decoder.headerLengthMismatchCount());
        assertEquals(RejectReason.BAD_HEADER_LENGTH, strict.validate(buffer, OFFSET, grantLength));
        assertEquals(1, strict.headerLengthMismatchCount());

        grant.doff(14 << 4);
        assertEquals(RejectReason.BAD_HEADER_LENGTH, strict.validate(buffer, OFFSET, grantLength));
        assertTrue(strict.strictHeaderLength());
        assertFalse(decoder.strictHeaderLength());
    }

    @Test
    @Timeout(5)
    void dataMessageLengthLimits()
    {
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, dataPacket(1, 0, 1)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, dataPacket(MAX, MAX - 1400, 1400)));
        assertEquals(RejectReason.ZERO_MESSAGE_LENGTH, decoder.validate(buffer, OFFSET, dataPacket(0, 0, 1)));
        assertEquals(RejectReason.MESSAGE_TOO_LONG, decoder.validate(buffer, OFFSET, dataPacket(MAX + 1, 0, 1)));
        // u32 on the wire: 0x80000000 is a huge length, not a negative one.
        assertEquals(RejectReason.MESSAGE_TOO_LONG,
            decoder.validate(buffer, OFFSET, dataPacket(Integer.MIN_VALUE, 0, 1)));
        assertEquals(RejectReason.MESSAGE_TOO_LONG, decoder.validate(buffer, OFFSET, dataPacket(-1, 0, 1)));
        assertEquals(1, new PacketDecoder(1).maxMessageLength());
        assertThrows(IllegalArgumentException.class, () -> new PacketDecoder(0));
    }

    @Test
    @Timeout(5)
    void dataRangeMustLieInsideTheMessage()
    {
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, dataPacket(3000, 1600, 1400)));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, dataPacket(3000, 1601, 1400)));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, dataPacket(3000, 3000, 1)));
        // 0x7FFFFFFF + payload must not wrap around into "fits".
        assertEquals(RejectReason.OFFSET_PAST_END,
            decoder.validate(buffer, OFFSET, dataPacket(3000, Integer.MAX_VALUE, 1400)));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, dataPacket(3000, -2, 10)));
        assertEquals(RejectReason.INCONSISTENT_LENGTH, decoder.validate(buffer, OFFSET, dataPacket(3000, 0, 0)));
    }

    @Test
    @Timeout(5)
    void dataWithMinusOneSegmentOffsetUsesSequenceLikeTheKernel()
    {
        final int length = dataPacket(3000, 0, 1400);
        buffer.putInt(OFFSET + DataHeaderFlyweight.SEGMENT_OFFSET_OFFSET, -1, BIG_ENDIAN);
        data.sequence(1600);
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, length));
        data.sequence(1601);
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, length));
    }

    @Test
    @Timeout(5)
    void incomingAboveTheMessageLengthIsAcceptedForTheEngineToClip()
    {
        final int length = dataPacket(1000, 0, 1000);
        data.incoming(50_000);
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, length));
        data.incoming(-1);
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, length));
    }

    @Test
    @Timeout(5)
    void grantLimits()
    {
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, grantPacket(0, 0)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, grantPacket(MAX, 7)));
        assertEquals(RejectReason.BAD_PRIORITY, decoder.validate(buffer, OFFSET, grantPacket(1000, 8)));
        assertEquals(RejectReason.BAD_PRIORITY, decoder.validate(buffer, OFFSET, grantPacket(1000, 255)));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, grantPacket(MAX + 1, 0)));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, grantPacket(-1, 0)));
        assertEquals(2, decoder.acceptedCount(PacketType.GRANT));
    }

    @Test
    @Timeout(5)
    void resendLimits()
    {
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, resendPacket(0, -1, 7)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, resendPacket(MAX, -1, 7)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, resendPacket(1400, 2800, 0)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, resendPacket(MAX - 10, 10, 0)));
        assertEquals(RejectReason.BAD_PRIORITY, decoder.validate(buffer, OFFSET, resendPacket(0, -1, 8)));
        assertEquals(RejectReason.INCONSISTENT_LENGTH, decoder.validate(buffer, OFFSET, resendPacket(0, 0, 7)));
        assertEquals(RejectReason.INCONSISTENT_LENGTH, decoder.validate(buffer, OFFSET, resendPacket(0, -2, 7)));
        assertEquals(RejectReason.INCONSISTENT_LENGTH,
            decoder.validate(buffer, OFFSET, resendPacket(0, Integer.MIN_VALUE, 7)));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, resendPacket(MAX + 1, -1, 7)));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, resendPacket(-5, 10, 7)));
        assertEquals(RejectReason.OFFSET_PAST_END, decoder.validate(buffer, OFFSET, resendPacket(MAX - 10, 11, 7)));
        assertEquals(RejectReason.OFFSET_PAST_END,
            decoder.validate(buffer, OFFSET, resendPacket(MAX, Integer.MAX_VALUE, 7)));
        assertEquals(4, decoder.acceptedCount(PacketType.RESEND));
    }

    @Test
    @Timeout(5)
    void everyCutoffSetIsAccepted()
    {
        // Kernel defaults (levels 1-3 hold 0: not monotonic over all levels), the unknown-peer form, rising entries,
        // entries at or above 2^31: the kernel takes any eight values, and so does the decoder.
        assertEquals(RejectReason.NONE,
            decoder.validate(buffer, OFFSET, cutoffsPacket(0, 0, 0, 1_000_000, 15_000, 2800, 200)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET,
            cutoffsPacket(1_000_000, 1_000_000, 1_000_000, 1_000_000, 15_000, 2800, 200)));
        assertEquals(RejectReason.NONE,
            decoder.validate(buffer, OFFSET, cutoffsPacket(0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF,
                0x7FFFFFFF, 0)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, cutoffsPacket(10, 10, 10, 10, 10, 10, 11)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, cutoffsPacket(-1, 10, 10, 10, 10, 10, -1)));
        cutoffs.cutoff(0, 0);
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, CutoffsFlyweight.LENGTH));
        assertEquals(6, decoder.acceptedCount(PacketType.CUTOFFS));
        assertEquals(0, decoder.rejectedTotal());
    }

    @Test
    @Timeout(5)
    void ackCount()
    {
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, ackPacket(0)));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, ackPacket(5)));
        assertEquals(RejectReason.TOO_MANY_ACKS, decoder.validate(buffer, OFFSET, ackPacket(6)));
        assertEquals(RejectReason.TOO_MANY_ACKS, decoder.validate(buffer, OFFSET, ackPacket(0xFFFF)));
        assertEquals(2, decoder.rejectedCount(RejectReason.TOO_MANY_ACKS));
    }

    @Test
    @Timeout(5)
    void trailingBytesAfterAControlHeaderAreIgnored()
    {
        // The kernel pads control packets to a minimum length; Ethernet pads short frames.
        new HomaHeaderFlyweight().wrap(buffer, OFFSET).initialize(PacketType.NEED_ACK, 1, 2, 3);
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, 60));
        assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, grantPacket(10, 1) + 20));
    }

    @Test
    @Timeout(5)
    void countersPerTypeAndPerReason()
    {
        for (int type = PacketType.MIN_TYPE; type <= PacketType.MAX_TYPE; type++)
        {
            final int count = type - PacketType.MIN_TYPE + 1;
            for (int i = 0; i < count; i++)
            {
                buffer.setMemory(0, 256, (byte)0);
                new HomaHeaderFlyweight().wrap(buffer, OFFSET).initialize(type, 1, 2, 3);
                final int length = switch (type)
                {
                    case PacketType.DATA -> dataPacket(100, 0, 100);
                    case PacketType.RESEND -> resendPacket(0, ResendFlyweight.LENGTH_ALL, 7);
                    default -> PacketType.headerLength(type);
                };
                assertEquals(RejectReason.NONE, decoder.validate(buffer, OFFSET, length), PacketType.name(type));
            }
        }
        decoder.validate(buffer, OFFSET, 3);
        decoder.validate(buffer, OFFSET, -3);
        decoder.validate(buffer, OFFSET, grantPacket(1, 9));

        for (int type = PacketType.MIN_TYPE; type <= PacketType.MAX_TYPE; type++)
        {
            assertEquals(type - PacketType.MIN_TYPE + 1, decoder.acceptedCount(type), PacketType.name(type));
        }
        assertEquals(0, decoder.acceptedCount(0x42));
        assertEquals(45, decoder.acceptedTotal());
        assertEquals(45, decoder.rejectedCount(RejectReason.NONE));
        assertEquals(1, decoder.rejectedCount(RejectReason.TOO_SHORT));
        assertEquals(1, decoder.rejectedCount(RejectReason.OUT_OF_BOUNDS));
        assertEquals(1, decoder.rejectedCount(RejectReason.BAD_PRIORITY));
        assertEquals(3, decoder.rejectedTotal());

        final Map<String, Long> listed = new LinkedHashMap<>();
        decoder.forEachCounter(listed::put);
        assertEquals(PacketType.TYPE_COUNT + RejectReason.count() - 1 + 1, listed.size());
        assertEquals(1L, listed.get("accepted.DATA"));
        assertEquals(9L, listed.get("accepted.ACK"));
        assertEquals(1L, listed.get("rejected.too_short"));
        assertEquals(1L, listed.get("rejected.bad_priority"));
        assertEquals(0L, listed.get("header_length_mismatch"));

        decoder.resetCounters();
        final List<Long> afterReset = new ArrayList<>();
        decoder.forEachCounter((name, value) -> afterReset.add(value));
        assertTrue(afterReset.stream().allMatch(value -> 0L == value));
    }

    @Test
    @Timeout(5)
    void validatesADriverPacketFromIndexZero()
    {
        final Packet packet = new Packet(new UnsafeBuffer(new byte[1500]), 0);
        new GrantFlyweight().wrap(packet.buffer(), 0).initialize(PacketType.GRANT, 1, 2, 3).offset(100).priority(2);
        packet.length(GrantFlyweight.LENGTH);
        assertEquals(RejectReason.NONE, decoder.validate(packet));
        packet.length(GrantFlyweight.LENGTH - 1);
        assertEquals(RejectReason.TOO_SHORT, decoder.validate(packet));
    }

    @Test
    @Timeout(5)
    void counterNamesAreDistinct()
    {
        final Set<String> names = new HashSet<>();
        decoder.forEachCounter((name, value) -> assertTrue(names.add(name), name));
        for (final RejectReason reason : EnumSet.allOf(RejectReason.class))
        {
            assertEquals(reason, RejectReason.get(reason.ordinal()));
        }
    }

    @Test
    @Timeout(5)
    void fuzzSeedsAreAllAcceptedKernelPackets() throws Exception
    {
        final URL seeds = PacketDecoderTest.class.getResource("PacketDecoderFuzzTestInputs/fuzzValidate");
        assertNotNull(seeds, "fuzz seed directory on the test class path");
        try (Stream<Path> files = Files.list(Path.of(seeds.toURI())))
        {
            final List<Path> paths = files.sorted().toList();
            assertEquals(12, paths.size());
            for (final Path path : paths)
            {
                final byte[] packet = Files.readAllBytes(path);
                assertEquals(RejectReason.NONE, strict.validate(new UnsafeBuffer(packet), 0, packet.length),
                    path.getFileName().toString());
            }
        }
        for (int type = PacketType.MIN_TYPE; type <= PacketType.MAX_TYPE; type++)
        {
            assertTrue(strict.acceptedCount(type) > 0, PacketType.name(type));
        }
    }

    private int dataPacket(final int messageLength, final int segmentOffset, final int payloadLength)
    {
        data.wrap(buffer, OFFSET)
            .initialize(PacketType.DATA, 40_000, 4000, 2)
            .messageLength(messageLength)
            .incoming(Math.max(messageLength, 0))
            .segmentOffset(segmentOffset);
        return DataHeaderFlyweight.HEADER_LENGTH + payloadLength;
    }

    private int grantPacket(final int offset, final int priority)
    {
        grant.wrap(buffer, OFFSET).initialize(PacketType.GRANT, 4000, 40_000, 3).offset(offset).priority(priority);
        return GrantFlyweight.LENGTH;
    }

    private int resendPacket(final int offset, final int length, final int priority)
    {
        resend.wrap(buffer, OFFSET).initialize(PacketType.RESEND, 4000, 40_000, 3)
            .offset(offset)
            .length(length)
            .priority(priority);
        return ResendFlyweight.LENGTH;
    }

    private int cutoffsPacket(final int... levelsOneToSeven)
    {
        cutoffs.wrap(buffer, OFFSET).initialize(PacketType.CUTOFFS, 4000, 40_000, 0).cutoffVersion(2);
        cutoffs.cutoff(0, Integer.MAX_VALUE);
        for (int i = 0; i < levelsOneToSeven.length; i++)
        {
            cutoffs.cutoff(i + 1, levelsOneToSeven[i]);
        }
        return CutoffsFlyweight.LENGTH;
    }

    private int ackPacket(final int numAcks)
    {
        ack.wrap(buffer, OFFSET).initialize(PacketType.ACK, 40_000, 4000, 7).numAcks(numAcks);
        return AckFlyweight.LENGTH;
    }
}
