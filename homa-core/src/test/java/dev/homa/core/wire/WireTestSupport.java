package dev.homa.core.wire;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Helpers shared by the wire tests.
 */
final class WireTestSupport
{
    private WireTestSupport()
    {
    }

    /**
     * @param values unsigned byte values 0..255, written as a reader of a packet dump would.
     * @return the bytes.
     */
    static byte[] bytes(final int... values)
    {
        final byte[] result = new byte[values.length];
        for (int i = 0; i < values.length; i++)
        {
            if (values[i] < 0 || values[i] > 0xFF)
            {
                throw new IllegalArgumentException("not a byte: " + values[i]);
            }
            result[i] = (byte)values[i];
        }
        return result;
    }

    /**
     * @param buffer holding the written header.
     * @param offset where it starts.
     * @param length how many bytes to copy.
     * @return a copy of those bytes.
     */
    static byte[] copy(final UnsafeBuffer buffer, final int offset, final int length)
    {
        final byte[] result = new byte[length];
        buffer.getBytes(offset, result);
        return result;
    }
}
