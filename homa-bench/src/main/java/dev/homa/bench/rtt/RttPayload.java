package dev.homa.bench.rtt;

import dev.homa.core.wire.DataHeaderFlyweight;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Layout of the bytes every path carries, Aeron {@code EmbeddedPingPong} style: the send timestamp and a sequence
 * number travel in the message and come back in the reply, so the client needs no per-request state.
 * <p>
 * For the frame and datagram paths the "message" is a stand-in Homa packet: {@link #HOMA_HEADER_LENGTH} bytes where
 * a DATA header would be, then the payload. So a floor frame is byte for byte as long as the frame the Homa path
 * sends for a one-packet message of the same payload.
 */
public final class RttPayload
{
    /** Length of a Homa DATA header, which precedes the payload in every floor packet. */
    public static final int HOMA_HEADER_LENGTH = DataHeaderFlyweight.HEADER_LENGTH;
    /** Offset of the sequence number within the payload. */
    public static final int SEQUENCE_OFFSET = 0;
    /** Offset of the client's send timestamp within the payload. */
    public static final int TIMESTAMP_OFFSET = 8;
    /** Smallest payload: sequence and timestamp. */
    public static final int MIN_PAYLOAD = 16;

    private RttPayload()
    {
    }

    /**
     * Stamp a payload.
     *
     * @param buffer      buffer.
     * @param offset      first payload byte.
     * @param sequence    sequence number.
     * @param timestampNs send time.
     */
    public static void stamp(
        final MutableDirectBuffer buffer, final int offset, final long sequence, final long timestampNs)
    {
        buffer.putLong(offset + SEQUENCE_OFFSET, sequence, BIG_ENDIAN);
        buffer.putLong(offset + TIMESTAMP_OFFSET, timestampNs, BIG_ENDIAN);
    }

    /**
     * Read a payload's sequence number.
     *
     * @param buffer buffer.
     * @param offset first payload byte.
     * @return the sequence number.
     */
    public static long sequence(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + SEQUENCE_OFFSET, BIG_ENDIAN);
    }

    /**
     * Read a payload's send timestamp.
     *
     * @param buffer buffer.
     * @param offset first payload byte.
     * @return the client's send timestamp.
     */
    public static long timestampNs(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + TIMESTAMP_OFFSET, BIG_ENDIAN);
    }

    /**
     * Parse a MAC address.
     *
     * @param text MAC as {@code aa:bb:cc:dd:ee:ff}.
     * @return the low 48 bits.
     */
    public static long parseMac(final String text)
    {
        final String[] parts = text.split(":");
        if (6 != parts.length)
        {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        long mac = 0;
        for (final String part : parts)
        {
            mac = (mac << 8) | Integer.parseInt(part, 16);
        }
        return mac;
    }
}
