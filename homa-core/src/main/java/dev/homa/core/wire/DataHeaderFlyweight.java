package dev.homa.core.wire;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over a DATA packet header (opcode 0x10, 56 bytes, then payload), byte for byte the kernel's
 * {@code struct homa_data_hdr} with one {@code struct homa_seg_hdr}. Big-endian.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Common header (28 bytes, type 0x10, doff 0xE0)       |  0
 *  |                              ...                              |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                        Message Length                         | 28
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                           Incoming                            | 32
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                                                               | 36
 *  +                        Ack Client Id                          +
 *  |                                                               | 40
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |        Ack Server Port        |        Cutoff Version         | 44
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Retransmit   |                  Pad (zero)                   | 48
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                        Segment Offset                         | 52
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         Payload ...                           | 56
 * </pre>
 * Payload length = packet length - {@link #HEADER_LENGTH}. Offsets are byte offsets in the message, not packet
 * indices, so packet sizes may vary. {@code incoming} tells the receiver it may count on every byte below it
 * arriving without further grants; a piggybacked ack (client id 0 = none) lets the server free one RPC.
 */
public final class DataHeaderFlyweight extends HomaHeaderFlyweight
{
    /**
     * Offset of the u32 total message length.
     */
    public static final int MESSAGE_LENGTH_OFFSET = 28;

    /**
     * Offset of the u32 incoming offset (bytes the receiver may expect without further grants).
     */
    public static final int INCOMING_OFFSET = 32;

    /**
     * Offset of the u64 client id of the piggybacked ack; 0 = no ack.
     */
    public static final int ACK_CLIENT_ID_OFFSET = 36;

    /**
     * Offset of the u16 server port of the piggybacked ack.
     */
    public static final int ACK_SERVER_PORT_OFFSET = 44;

    /**
     * Offset of the u16 version of the receiver's cutoffs the sender used; 0 = never received any.
     */
    public static final int CUTOFF_VERSION_OFFSET = 46;

    /**
     * Offset of the u8 retransmit flag: 1 if this packet answers a RESEND.
     */
    public static final int RETRANSMIT_OFFSET = 48;

    /**
     * Offset of the three pad bytes, written as zero.
     */
    public static final int PAD_OFFSET = 49;

    /**
     * Offset of the u32 byte offset in the message of this packet's first payload byte.
     */
    public static final int SEGMENT_OFFSET_OFFSET = 52;

    /**
     * Bytes in the DATA header; the payload starts here.
     */
    public static final int HEADER_LENGTH = 56;

    /**
     * The kernel's HOMA_MAX_MESSAGE_LENGTH: the longest message a kernel host sends or accepts, and the default
     * limit of this one.
     */
    public static final int MAX_MESSAGE_LENGTH = 1_000_000;

    /**
     * Offset of the first payload byte (same as {@link #HEADER_LENGTH}).
     */
    public static final int PAYLOAD_OFFSET = HEADER_LENGTH;

    /**
     * seg.offset value with which a kernel says "the offset is in the common header's sequence field".
     */
    public static final int SEGMENT_OFFSET_IN_SEQUENCE = -1;

    /**
     * Create a flyweight that must be wrapped before use.
     */
    public DataHeaderFlyweight()
    {
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public DataHeaderFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        super.wrap(buffer, offset);
        return this;
    }

    /**
     * Write a fresh DATA header: all 56 bytes zeroed, then type, doff, ports and sender id.
     *
     * @param type       must be {@link PacketType#DATA}.
     * @param sourcePort u16 source port.
     * @param destinationPort u16 destination port.
     * @param senderId   RPC id as known by the sender.
     * @return this.
     * @throws IllegalArgumentException if {@code type} is not DATA.
     */
    @Override
    public DataHeaderFlyweight initialize(
        final int type, final int sourcePort, final int destinationPort, final long senderId)
    {
        if (PacketType.DATA != type)
        {
            throw new IllegalArgumentException("DataHeaderFlyweight cannot write type " + PacketType.name(type));
        }
        super.initialize(type, sourcePort, destinationPort, senderId);
        return this;
    }

    /**
     * {@return u32 total message length as a signed int (a validated packet has 1..max)}
     */
    public int messageLength()
    {
        return buffer.getInt(offset + MESSAGE_LENGTH_OFFSET, BIG_ENDIAN);
    }

    /**
     * Write the total message length.
     *
     * @param length total message length.
     * @return this.
     */
    public DataHeaderFlyweight messageLength(final int length)
    {
        buffer.putInt(offset + MESSAGE_LENGTH_OFFSET, length, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u32 incoming offset as a signed int}
     */
    public int incoming()
    {
        return buffer.getInt(offset + INCOMING_OFFSET, BIG_ENDIAN);
    }

    /**
     * Write the incoming offset.
     *
     * @param incoming offset below which the receiver may count on every byte arriving without further grants.
     * @return this.
     */
    public DataHeaderFlyweight incoming(final int incoming)
    {
        buffer.putInt(offset + INCOMING_OFFSET, incoming, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u64 client id of the piggybacked ack; 0 = none}
     */
    public long ackClientId()
    {
        return buffer.getLong(offset + ACK_CLIENT_ID_OFFSET, BIG_ENDIAN);
    }

    /**
     * Write the client id of the piggybacked ack.
     *
     * @param clientId client id of the acked RPC, 0 for none.
     * @return this.
     */
    public DataHeaderFlyweight ackClientId(final long clientId)
    {
        buffer.putLong(offset + ACK_CLIENT_ID_OFFSET, clientId, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u16 server port of the piggybacked ack}
     */
    public int ackServerPort()
    {
        return buffer.getShort(offset + ACK_SERVER_PORT_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the server port of the piggybacked ack.
     *
     * @param port u16 server port of the acked RPC.
     * @return this.
     */
    public DataHeaderFlyweight ackServerPort(final int port)
    {
        buffer.putShort(offset + ACK_SERVER_PORT_OFFSET, (short)port, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u16 cutoff version the sender used; 0 = never received the receiver's cutoffs}
     */
    public int cutoffVersion()
    {
        return buffer.getShort(offset + CUTOFF_VERSION_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the cutoff version.
     *
     * @param version u16 cutoff version.
     * @return this.
     */
    public DataHeaderFlyweight cutoffVersion(final int version)
    {
        buffer.putShort(offset + CUTOFF_VERSION_OFFSET, (short)version, BIG_ENDIAN);
        return this;
    }

    /**
     * Any nonzero byte reads as true, as in the kernel, which tests the byte as a boolean.
     *
     * @return true if this packet answers a RESEND.
     */
    public boolean retransmit()
    {
        return 0 != buffer.getByte(offset + RETRANSMIT_OFFSET);
    }

    /**
     * Write the retransmit flag.
     *
     * @param retransmit true if this packet answers a RESEND (written as 1).
     * @return this.
     */
    public DataHeaderFlyweight retransmit(final boolean retransmit)
    {
        buffer.putByte(offset + RETRANSMIT_OFFSET, retransmit ? (byte)1 : (byte)0);
        return this;
    }

    /**
     * The message offset of the first payload byte, resolved the kernel's way ({@code homa_get_offset}): a
     * current kernel writes -1 into seg.offset of a single-segment packet and the real offset into the common
     * header's sequence field, so -1 here means "read sequence".
     *
     * @return u32 message offset of the first payload byte as a signed int.
     */
    public int segmentOffset()
    {
        return segmentOffsetOf(buffer, offset);
    }

    /**
     * {@return the seg.offset field exactly as on the wire (may be -1, see {@link #segmentOffset()})}
     */
    public int rawSegmentOffset()
    {
        return buffer.getInt(offset + SEGMENT_OFFSET_OFFSET, BIG_ENDIAN);
    }

    /**
     * Set the segment offset and the same value into the common header's sequence field, as a current kernel writes
     * a retransmission (homa_resend_data) or the first segment of a GSO batch.
     *
     * @param segmentOffset message offset of the first payload byte.
     * @return this.
     */
    public DataHeaderFlyweight segmentOffset(final int segmentOffset)
    {
        buffer.putInt(offset + SEGMENT_OFFSET_OFFSET, segmentOffset, BIG_ENDIAN);
        buffer.putInt(offset + SEQUENCE_OFFSET, segmentOffset, BIG_ENDIAN);
        return this;
    }

    /**
     * Put the offset in the common header's sequence field and {@link #SEGMENT_OFFSET_IN_SEQUENCE} into seg.offset,
     * as a current kernel writes a packet of one segment on its first transmission (homa_tx_data_pkt_alloc).
     *
     * @param messageOffset message offset of the first payload byte.
     * @return this.
     */
    public DataHeaderFlyweight offsetInSequence(final int messageOffset)
    {
        buffer.putInt(offset + SEGMENT_OFFSET_OFFSET, SEGMENT_OFFSET_IN_SEQUENCE, BIG_ENDIAN);
        buffer.putInt(offset + SEQUENCE_OFFSET, messageOffset, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return index in {@link #buffer()} of the first payload byte}
     */
    public int payloadOffset()
    {
        return offset + PAYLOAD_OFFSET;
    }

    /**
     * Read the message length of a DATA packet without wrapping a flyweight.
     *
     * @param buffer holding a DATA packet.
     * @param offset index of the first header byte.
     * @return u32 message length as a signed int.
     */
    public static int messageLengthOf(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + MESSAGE_LENGTH_OFFSET, BIG_ENDIAN);
    }

    /**
     * Read the incoming offset of a DATA packet without wrapping a flyweight.
     *
     * @param buffer holding a DATA packet.
     * @param offset index of the first header byte.
     * @return u32 incoming offset as a signed int.
     */
    public static int incomingOf(final DirectBuffer buffer, final int offset)
    {
        return buffer.getInt(offset + INCOMING_OFFSET, BIG_ENDIAN);
    }

    /**
     * Read the segment offset of a DATA packet without wrapping a flyweight.
     *
     * @param buffer holding a DATA packet.
     * @param offset index of the first header byte.
     * @return u32 segment offset as a signed int, resolved as in {@link #segmentOffset()}.
     */
    public static int segmentOffsetOf(final DirectBuffer buffer, final int offset)
    {
        final int segmentOffset = buffer.getInt(offset + SEGMENT_OFFSET_OFFSET, BIG_ENDIAN);
        return SEGMENT_OFFSET_IN_SEQUENCE == segmentOffset ?
            buffer.getInt(offset + SEQUENCE_OFFSET, BIG_ENDIAN) : segmentOffset;
    }

    /**
     * Payload bytes of a DATA packet of a given length.
     *
     * @param packetLength bytes in the whole DATA packet.
     * @return payload bytes it carries.
     */
    public static int payloadLength(final int packetLength)
    {
        return packetLength - HEADER_LENGTH;
    }
}
