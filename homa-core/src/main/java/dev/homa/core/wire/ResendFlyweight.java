package dev.homa.core.wire;

import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over a RESEND packet (opcode 0x12, 37 bytes), byte for byte the kernel's
 * {@code struct homa_resend_hdr}. Big-endian.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Common header (28 bytes, type 0x12, doff 0x50)       |  0
 *  |                              ...                              |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                            Offset                             | 28
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                            Length                             | 32
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   Priority    |                                                 36
 *  +-+-+-+-+-+-+-+-+
 * </pre>
 * Asks for {@code length} bytes from {@code offset} again, at {@code priority}. A length of
 * {@link #LENGTH_ALL} (-1) means "nothing received yet: resend everything sent so far".
 */
public final class ResendFlyweight extends HomaHeaderFlyweight
{
    /**
     * Offset of the u32 first byte to retransmit.
     */
    public static final int OFFSET_OFFSET = 28;

    /**
     * Offset of the s32 byte count to retransmit.
     */
    public static final int LENGTH_OFFSET = 32;

    /**
     * Offset of the u8 priority level for the retransmitted packets.
     */
    public static final int PRIORITY_OFFSET = 36;

    /**
     * Bytes in a RESEND packet.
     */
    public static final int LENGTH = 37;

    /**
     * Same as {@link #LENGTH}, named like {@link DataHeaderFlyweight#HEADER_LENGTH}.
     */
    public static final int HEADER_LENGTH = LENGTH;

    /**
     * The {@code length} value meaning "resend everything sent so far".
     */
    public static final int LENGTH_ALL = -1;

    /**
     * Create a flyweight that must be wrapped before use.
     */
    public ResendFlyweight()
    {
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public ResendFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        super.wrap(buffer, offset);
        return this;
    }

    /**
     * Write a fresh RESEND: all 37 bytes zeroed, then type, doff, ports and sender id.
     *
     * @param type       must be {@link PacketType#RESEND}.
     * @param sourcePort u16 source port.
     * @param destinationPort u16 destination port.
     * @param senderId   RPC id as known by the sender of the RESEND.
     * @return this.
     * @throws IllegalArgumentException if {@code type} is not RESEND.
     */
    @Override
    public ResendFlyweight initialize(
        final int type, final int sourcePort, final int destinationPort, final long senderId)
    {
        if (PacketType.RESEND != type)
        {
            throw new IllegalArgumentException("ResendFlyweight cannot write type " + PacketType.name(type));
        }
        super.initialize(type, sourcePort, destinationPort, senderId);
        return this;
    }

    /**
     * @return u32 first byte to retransmit, as a signed int.
     */
    public int offset()
    {
        return buffer.getInt(offset + OFFSET_OFFSET, BIG_ENDIAN);
    }

    /**
     * @param resendOffset first byte to retransmit.
     * @return this.
     */
    public ResendFlyweight offset(final int resendOffset)
    {
        buffer.putInt(offset + OFFSET_OFFSET, resendOffset, BIG_ENDIAN);
        return this;
    }

    /**
     * @return byte count, or {@link #LENGTH_ALL}.
     */
    public int length()
    {
        return buffer.getInt(offset + LENGTH_OFFSET, BIG_ENDIAN);
    }

    /**
     * @param length byte count, or {@link #LENGTH_ALL}.
     * @return this.
     */
    public ResendFlyweight length(final int length)
    {
        buffer.putInt(offset + LENGTH_OFFSET, length, BIG_ENDIAN);
        return this;
    }

    /**
     * @return u8 priority level.
     */
    public int priority()
    {
        return buffer.getByte(offset + PRIORITY_OFFSET) & 0xFF;
    }

    /**
     * @param priority level for the retransmitted packets.
     * @return this.
     */
    public ResendFlyweight priority(final int priority)
    {
        buffer.putByte(offset + PRIORITY_OFFSET, (byte)priority);
        return this;
    }
}
