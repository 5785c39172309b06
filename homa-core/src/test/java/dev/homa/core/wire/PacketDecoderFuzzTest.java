package dev.homa.core.wire;

import dev.homa.nic.frame.PriorityMapping;
import java.util.concurrent.TimeUnit;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing of {@link PacketDecoder#validate}: any bytes, offsets and lengths must give a verdict and
 * never an exception, and every accepted packet must be readable through its flyweight with the invariants the
 * decoder promises.
 * <p>
 * How long it runs: homa-core's surefire runs {@code *FuzzTest} in a JVM of their own with {@code JAZZER_FUZZ=1}
 * (real fuzzing, not only the seeds) and {@code jazzer.max_duration=${homa.fuzz.seconds}s} (default 20), which
 * overrides the fallback {@code maxDuration} below. Longer:
 * {@code ./mvnw -B verify -pl homa-core -am -Dhoma.fuzz.seconds=600}; seeds only: {@code -Dhoma.fuzz=0}. While
 * fuzzing, the {@code @Timeout} is libFuzzer's limit per input (a hang is a finding); the surefire execution
 * switches JUnit's own timeout off there so it does not apply to the whole run.
 */
class PacketDecoderFuzzTest
{
    private static final int MAX_MESSAGE_LENGTH = 1_000_000;
    private static final PacketDecoder DECODER = new PacketDecoder(MAX_MESSAGE_LENGTH);
    private static final PacketDecoder STRICT_DECODER = new PacketDecoder(MAX_MESSAGE_LENGTH, true);
    private static final UnsafeBuffer BUFFER = new UnsafeBuffer(new byte[0]);
    private static final HomaHeaderFlyweight COMMON = new HomaHeaderFlyweight();
    private static final DataHeaderFlyweight DATA = new DataHeaderFlyweight();
    private static final GrantFlyweight GRANT = new GrantFlyweight();
    private static final ResendFlyweight RESEND = new ResendFlyweight();
    private static final CutoffsFlyweight CUTOFFS = new CutoffsFlyweight();
    private static final AckFlyweight ACK = new AckFlyweight();

    private static long inputs;
    private static long sink;

    @FuzzTest(maxDuration = "20s")
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void fuzzValidate(final byte[] input)
    {
        inputs++;
        BUFFER.wrap(input);

        // The whole input as one packet, then at a small shift, then at an offset and length taken from the bytes
        // themselves (mostly out of bounds: that path must give OUT_OF_BOUNDS, never an exception).
        check(DECODER, 0, input.length);
        check(STRICT_DECODER, 0, input.length);
        if (input.length > 0)
        {
            final int shift = input[0] & 0x7;
            check(DECODER, shift, input.length - shift);
        }
        if (input.length >= 8)
        {
            check(DECODER, BUFFER.getInt(0), BUFFER.getInt(4));
            check(DECODER, input.length - 4, BUFFER.getInt(4));
        }
    }

    @AfterAll
    static void reportInputs()
    {
        System.out.println("PacketDecoderFuzzTest: fuzz inputs executed=" + inputs +
            " accepted=" + DECODER.acceptedTotal() + " rejected=" + DECODER.rejectedTotal() + " (sink " + sink + ")");
    }

    private static void check(final PacketDecoder decoder, final int offset, final int length)
    {
        final RejectReason reason = decoder.validate(BUFFER, offset, length);
        if (RejectReason.NONE == reason)
        {
            readAccepted(offset, length);
        }
    }

    private static void readAccepted(final int offset, final int length)
    {
        COMMON.wrap(BUFFER, offset);
        sink += COMMON.sourcePort() + COMMON.destinationPort() + COMMON.sequence() + COMMON.doff() + COMMON.flags() +
            COMMON.window() + COMMON.checksum() + COMMON.urgent() + COMMON.senderId();

        final int type = COMMON.type();
        switch (type)
        {
            case PacketType.DATA:
            {
                DATA.wrap(BUFFER, offset);
                final long messageLength = DATA.messageLength() & 0xFFFF_FFFFL;
                final long segmentOffset = DATA.segmentOffset() & 0xFFFF_FFFFL;
                final int payloadLength = DataHeaderFlyweight.payloadLength(length);
                require(messageLength >= 1 && messageLength <= MAX_MESSAGE_LENGTH, "DATA message length");
                require(payloadLength >= 1 && segmentOffset + payloadLength <= messageLength, "DATA range");
                sink += DATA.incoming() + DATA.ackClientId() + DATA.ackServerPort() + DATA.cutoffVersion() +
                    (DATA.retransmit() ? 1 : 0) + DATA.rawSegmentOffset();
                // First and last payload byte are inside the validated length.
                sink += BUFFER.getByte(DATA.payloadOffset()) + BUFFER.getByte(offset + length - 1);
                break;
            }

            case PacketType.GRANT:
                GRANT.wrap(BUFFER, offset);
                require(GRANT.priority() <= (PriorityMapping.LEVELS - 1), "GRANT priority");
                require(GRANT.offset() >= 0 && GRANT.offset() <= MAX_MESSAGE_LENGTH, "GRANT offset");
                break;

            case PacketType.RESEND:
            {
                RESEND.wrap(BUFFER, offset);
                require(RESEND.priority() <= (PriorityMapping.LEVELS - 1), "RESEND priority");
                require(RESEND.offset() >= 0 && RESEND.offset() <= MAX_MESSAGE_LENGTH, "RESEND offset");
                final int resendLength = RESEND.length();
                require(ResendFlyweight.LENGTH_ALL == resendLength ||
                    (resendLength > 0 && (long)RESEND.offset() + resendLength <= MAX_MESSAGE_LENGTH), "RESEND length");
                break;
            }

            case PacketType.CUTOFFS:
                CUTOFFS.wrap(BUFFER, offset);
                for (int level = 0; level < PriorityMapping.LEVELS; level++)
                {
                    sink += CUTOFFS.cutoff(level);
                }
                sink += CUTOFFS.cutoffVersion();
                break;

            case PacketType.ACK:
                ACK.wrap(BUFFER, offset);
                require(ACK.numAcks() <= AckFlyweight.MAX_ACKS, "ACK count");
                for (int i = 0; i < ACK.numAcks(); i++)
                {
                    sink += ACK.clientId(i) + ACK.serverPort(i);
                }
                break;

            default:
                require(PacketType.isValid(type), "accepted an unknown type");
                require(length >= HomaHeaderFlyweight.COMMON_HEADER_LENGTH, "bare control length");
                break;
        }
    }

    private static void require(final boolean condition, final String what)
    {
        if (!condition)
        {
            throw new AssertionError("decoder accepted a packet that breaks its contract: " + what);
        }
    }
}
