package dev.homa.bench.load;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.ByteOrder;

/**
 * The layout every load-generator message has, whatever carries it (a Homa message, a length-prefixed TCP frame):
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                      sequence (64 bits)                      |
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                 response length (32 bits)                    |
 *  +---------------------------------------------------------------+
 *  |                   client slot (32 bits)                      |
 *  +---------------------------------------------------------------+
 *  |              pattern bytes up to the message length ...      |
 * </pre>
 * The pattern is a function of the slot that filled the buffer, so a client fills each slot's buffer once and only
 * writes the header per request. A server echoes a request whose response length equals its own; otherwise it
 * answers with its own buffer, whose pattern is that of {@link #SERVER_SLOT}, under the request's header. The
 * client then checks the length, the header and either every byte or a sample of 16 longs at places that change
 * with the sequence (cheap enough for any message size, and enough to catch bytes put at the wrong offset).
 */
final class LoadMessage
{
    /** Sequence number of the RPC, unique per client. */
    static final int SEQUENCE_OFFSET = 0;
    /** Length the client wants back. */
    static final int RESPONSE_LENGTH_OFFSET = 8;
    /** Index of the client's slot the request came from. */
    static final int SLOT_OFFSET = 12;
    /** Bytes of header, and the smallest message. */
    static final int HEADER_LENGTH = 16;
    /** The slot whose pattern a server's own (non-echo) responses carry. */
    static final int SERVER_SLOT = -1;
    /** Longs checked per message in sampled verification. */
    static final int SAMPLES = 16;

    /** No fault found. */
    static final int OK = 0;
    /** The length differs from the one asked for. */
    static final int BAD_LENGTH = 1;
    /** The header does not name the request. */
    static final int BAD_HEADER = 2;
    /** A payload byte differs from the pattern. */
    static final int BAD_PAYLOAD = 3;

    private static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;

    private LoadMessage()
    {
    }

    /**
     * @param slot  the slot whose buffer it is.
     * @param index byte offset in the message, a multiple of 8.
     * @return the long the pattern puts there.
     */
    static long patternAt(final int slot, final int index)
    {
        long z = ((long)slot << 32) + index + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Fill a buffer with a slot's pattern, header included (the header is written per request over it).
     *
     * @param buffer   the buffer.
     * @param capacity bytes to fill from index 0.
     * @param slot     whose pattern.
     */
    static void fill(final MutableDirectBuffer buffer, final int capacity, final int slot)
    {
        int i = 0;
        for (; i + 8 <= capacity; i += 8)
        {
            buffer.putLong(i, patternAt(slot, i), ORDER);
        }
        for (; i < capacity; i++)
        {
            buffer.putByte(i, patternByte(slot, i));
        }
    }

    /**
     * @param buffer         where the message starts at {@code offset}.
     * @param offset         its first byte.
     * @param sequence       the RPC's sequence number.
     * @param responseLength bytes wanted back.
     * @param slot           the client slot.
     */
    static void writeHeader(
        final MutableDirectBuffer buffer, final int offset, final long sequence, final int responseLength,
        final int slot)
    {
        buffer.putLong(offset + SEQUENCE_OFFSET, sequence, ORDER);
        buffer.putInt(offset + RESPONSE_LENGTH_OFFSET, responseLength, ORDER);
        buffer.putInt(offset + SLOT_OFFSET, slot, ORDER);
    }

    static long sequence(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + SEQUENCE_OFFSET, ORDER);
    }

    static int responseLength(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + RESPONSE_LENGTH_OFFSET, ORDER);
    }

    static int slot(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + SLOT_OFFSET, ORDER);
    }

    /**
     * Check one contiguous piece of a response (a whole message, or one segment of a segmented one).
     *
     * @param piece       the bytes.
     * @param pieceOffset where they start in {@code piece}.
     * @param pieceLength how many.
     * @param messageAt   offset of the piece's first byte in the message (a multiple of 8).
     * @param slot        the slot whose pattern the payload carries.
     * @param sequence    the RPC's sequence, which picks the sampled places.
     * @param length      the message length.
     * @param full        every byte, or a sample.
     * @return {@link #OK} or {@link #BAD_PAYLOAD}.
     */
    static int verifyPayload(
        final DirectBuffer piece,
        final int pieceOffset,
        final int pieceLength,
        final int messageAt,
        final int slot,
        final long sequence,
        final int length,
        final boolean full)
    {
        final int from = Math.max(HEADER_LENGTH, messageAt);
        final int to = messageAt + pieceLength;
        if (from >= to)
        {
            return OK;
        }
        if (full)
        {
            int i = from;
            for (; (i & 7) != 0 && i < to; i++)
            {
                if (piece.getByte(pieceOffset + i - messageAt) != patternByte(slot, i))
                {
                    return BAD_PAYLOAD;
                }
            }
            for (; i + 8 <= to; i += 8)
            {
                if (piece.getLong(pieceOffset + i - messageAt, ORDER) != patternAt(slot, i))
                {
                    return BAD_PAYLOAD;
                }
            }
            for (; i < to; i++)
            {
                if (piece.getByte(pieceOffset + i - messageAt) != patternByte(slot, i))
                {
                    return BAD_PAYLOAD;
                }
            }
            return OK;
        }
        final int longs = (length - HEADER_LENGTH) / 8;
        if (longs <= 0)
        {
            return OK;
        }
        for (int k = 0; k < SAMPLES; k++)
        {
            final int index = HEADER_LENGTH + 8 * (int)Long.remainderUnsigned(patternAt(k, (int)sequence), longs);
            if (index >= from && index + 8 <= to &&
                piece.getLong(pieceOffset + index - messageAt, ORDER) != patternAt(slot, index))
            {
                return BAD_PAYLOAD;
            }
        }
        return OK;
    }

    private static byte patternByte(final int slot, final int index)
    {
        return (byte)(patternAt(slot, index & ~7) >>> (8 * (7 - (index & 7))));
    }
}
