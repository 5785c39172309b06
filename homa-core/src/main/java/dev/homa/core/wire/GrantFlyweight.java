package dev.homa.core.wire;

import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over a GRANT packet (opcode 0x11, 33 bytes), byte for byte the kernel's {@code struct homa_grant_hdr}.
 * Big-endian.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Common header (28 bytes, type 0x11, doff 0x50)       |  0
 *  |                              ...                              |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                            Offset                             | 28
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   Priority    |                                                 32
 *  +-+-+-+-+-+-+-+-+
 * </pre>
 * The sender may transmit every byte below {@code offset} (cumulative, never lowered), at {@code priority} for
 * all future DATA of the message. The 2023-2025 kernels' 34th byte ({@code resend_all}) is deliberately absent.
 */
public final class GrantFlyweight extends HomaHeaderFlyweight
{
    /**
     * Offset of the u32 granted byte offset.
     */
    public static final int OFFSET_OFFSET = 28;

    /**
     * Offset of the u8 priority level for scheduled data.
     */
    public static final int PRIORITY_OFFSET = 32;

    /**
     * Bytes in a GRANT packet.
     */
    public static final int LENGTH = 33;

    /**
     * Same as {@link #LENGTH}, named like {@link DataHeaderFlyweight#HEADER_LENGTH}.
     */
    public static final int HEADER_LENGTH = LENGTH;

    /**
     * Create a flyweight that must be wrapped before use.
     */
    public GrantFlyweight()
    {
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public GrantFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        super.wrap(buffer, offset);
        return this;
    }

    /**
     * Write a fresh GRANT: all 33 bytes zeroed, then type, doff, ports and sender id.
     *
     * @param type       must be {@link PacketType#GRANT}.
     * @param sourcePort u16 source port.
     * @param destinationPort u16 destination port.
     * @param senderId   RPC id as known by the sender of the grant.
     * @return this.
     * @throws IllegalArgumentException if {@code type} is not GRANT.
     */
    @Override
    public GrantFlyweight initialize(
        final int type, final int sourcePort, final int destinationPort, final long senderId)
    {
        if (PacketType.GRANT != type)
        {
            throw new IllegalArgumentException("GrantFlyweight cannot write type " + PacketType.name(type));
        }
        super.initialize(type, sourcePort, destinationPort, senderId);
        return this;
    }

    /**
     * @return u32 granted offset as a signed int.
     */
    public int offset()
    {
        return buffer.getInt(offset + OFFSET_OFFSET, BIG_ENDIAN);
    }

    /**
     * @param grantOffset the sender may transmit every byte below this offset.
     * @return this.
     */
    public GrantFlyweight offset(final int grantOffset)
    {
        buffer.putInt(offset + OFFSET_OFFSET, grantOffset, BIG_ENDIAN);
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
     * @param priority level for all future DATA of the message.
     * @return this.
     */
    public GrantFlyweight priority(final int priority)
    {
        buffer.putByte(offset + PRIORITY_OFFSET, (byte)priority);
        return this;
    }
}
