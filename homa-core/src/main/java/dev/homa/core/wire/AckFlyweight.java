package dev.homa.core.wire;

import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over an ACK packet (opcode 0x18, 80 bytes), byte for byte the kernel's {@code struct homa_ack_hdr}.
 * Big-endian.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Common header (28 bytes, type 0x18, doff 0x50)       |  0
 *  |                              ...                              |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           Num Acks            |                               | 28
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *  |                      Ack[0] Client Id                         | 32
 *  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                               |      Ack[0] Server Port       | 36
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          ... Ack[1] .. Ack[4], 10 bytes each, no padding ...  | 40
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * The first {@code numAcks} entries (at most {@link #MAX_ACKS}) name client RPCs whose responses were fully
 * received; the server frees them. The common header's sender id names one more RPC to free.
 */
public final class AckFlyweight extends HomaHeaderFlyweight
{
    /**
     * Offset of the u16 number of valid leading entries.
     */
    public static final int NUM_ACKS_OFFSET = 28;

    /**
     * Offset of the first entry.
     */
    public static final int ACKS_OFFSET = 30;

    /**
     * Offset of the u64 client id within an entry.
     */
    public static final int ACK_CLIENT_ID_OFFSET = 0;

    /**
     * Offset of the u16 server port within an entry.
     */
    public static final int ACK_SERVER_PORT_OFFSET = 8;

    /**
     * Bytes per entry (packed, as the kernel's {@code struct homa_ack}).
     */
    public static final int ACK_ENTRY_LENGTH = 10;

    /**
     * Entries per packet (the kernel's {@code HOMA_MAX_ACKS_PER_PKT}).
     */
    public static final int MAX_ACKS = 5;

    /**
     * Bytes in an ACK packet.
     */
    public static final int LENGTH = ACKS_OFFSET + MAX_ACKS * ACK_ENTRY_LENGTH;

    /**
     * Same as {@link #LENGTH}, named like {@link DataHeaderFlyweight#HEADER_LENGTH}.
     */
    public static final int HEADER_LENGTH = LENGTH;

    /**
     * Create a flyweight that must be wrapped before use.
     */
    public AckFlyweight()
    {
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public AckFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        super.wrap(buffer, offset);
        return this;
    }

    /**
     * Write a fresh ACK: all 80 bytes zeroed (so {@code numAcks} = 0), then type, doff, ports and sender id.
     *
     * @param type       must be {@link PacketType#ACK}.
     * @param sourcePort u16 source port.
     * @param destinationPort u16 destination port.
     * @param senderId   client RPC id to free, as known by the client.
     * @return this.
     * @throws IllegalArgumentException if {@code type} is not ACK.
     */
    @Override
    public AckFlyweight initialize(
        final int type, final int sourcePort, final int destinationPort, final long senderId)
    {
        if (PacketType.ACK != type)
        {
            throw new IllegalArgumentException("AckFlyweight cannot write type " + PacketType.name(type));
        }
        super.initialize(type, sourcePort, destinationPort, senderId);
        return this;
    }

    /**
     * {@return u16 number of valid leading entries (a validated packet has at most {@link #MAX_ACKS})}
     */
    public int numAcks()
    {
        return buffer.getShort(offset + NUM_ACKS_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the number of acks.
     *
     * @param numAcks number of valid leading entries.
     * @return this.
     */
    public AckFlyweight numAcks(final int numAcks)
    {
        buffer.putShort(offset + NUM_ACKS_OFFSET, (short)numAcks, BIG_ENDIAN);
        return this;
    }

    /**
     * Read the client id of one entry.
     *
     * @param index entry 0..4.
     * @return u64 client id of that entry.
     * @throws IndexOutOfBoundsException if {@code index} is outside 0..4.
     */
    public long clientId(final int index)
    {
        return buffer.getLong(offset + entryOffset(index) + ACK_CLIENT_ID_OFFSET, BIG_ENDIAN);
    }

    /**
     * Write the client id of one entry.
     *
     * @param index    entry 0..4.
     * @param clientId client RPC id.
     * @return this.
     * @throws IndexOutOfBoundsException if {@code index} is outside 0..4.
     */
    public AckFlyweight clientId(final int index, final long clientId)
    {
        buffer.putLong(offset + entryOffset(index) + ACK_CLIENT_ID_OFFSET, clientId, BIG_ENDIAN);
        return this;
    }

    /**
     * Read the server port of one entry.
     *
     * @param index entry 0..4.
     * @return u16 server port of that entry.
     * @throws IndexOutOfBoundsException if {@code index} is outside 0..4.
     */
    public int serverPort(final int index)
    {
        return buffer.getShort(offset + entryOffset(index) + ACK_SERVER_PORT_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the server port of one entry.
     *
     * @param index entry 0..4.
     * @param port  u16 server port.
     * @return this.
     * @throws IndexOutOfBoundsException if {@code index} is outside 0..4.
     */
    public AckFlyweight serverPort(final int index, final int port)
    {
        buffer.putShort(offset + entryOffset(index) + ACK_SERVER_PORT_OFFSET, (short)port, BIG_ENDIAN);
        return this;
    }

    /**
     * Append one entry and bump {@code numAcks}.
     *
     * @param clientId client RPC id.
     * @param port     u16 server port.
     * @return this.
     * @throws IndexOutOfBoundsException if the packet already holds {@link #MAX_ACKS} entries.
     */
    public AckFlyweight addAck(final long clientId, final int port)
    {
        final int index = numAcks();
        clientId(index, clientId);
        serverPort(index, port);
        return numAcks(index + 1);
    }

    /**
     * Where an entry starts in the header.
     *
     * @param index entry 0..4.
     * @return offset of that entry from the start of the header.
     * @throws IndexOutOfBoundsException if {@code index} is outside 0..4.
     */
    public static int entryOffset(final int index)
    {
        if (index < 0 || index >= MAX_ACKS)
        {
            throw new IndexOutOfBoundsException("ack index " + index + " outside 0.." + (MAX_ACKS - 1));
        }
        return ACKS_OFFSET + index * ACK_ENTRY_LENGTH;
    }
}
