package dev.homa.core.wire;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over the 28-byte common header that starts every Homa packet, byte for byte the Linux kernel module's
 * {@code struct homa_common_hdr}. All multi-byte fields are big-endian (network order).
 * <p>
 * The layout overlays a TCP header (ports, sequence, data offset, flags, checksum, urgent pointer at TCP's
 * positions) so that NIC offloads treat Homa packets like TCP; only the Homa meaning matters here.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Source Port          |        Destination Port       |  0
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                           Sequence                            |  4
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |               Unused (zero)                   |     Type      |  8
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | Doff  |  0    |     Flags     |             Window            | 12
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           Checksum            |            Urgent             | 16
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                                                               | 20
 *  +                           Sender Id                           +
 *  |                                                               | 24
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * A flyweight holds only a buffer reference and an offset: {@link #wrap(MutableDirectBuffer, int)} it over each
 * frame and reuse it; one instance per agent, never one per packet. Setters return {@code this} so writes chain;
 * the subclasses' own setters return the subclass, the common ones return this type, so set the type-specific
 * fields first when chaining. Accessors do not validate: run {@link PacketDecoder#validate} on received bytes
 * before reading them.
 */
public class HomaHeaderFlyweight
{
    /**
     * Offset of the u16 source port.
     */
    public static final int SOURCE_PORT_OFFSET = 0;

    /**
     * Offset of the u16 destination port.
     */
    public static final int DESTINATION_PORT_OFFSET = 2;

    /**
     * Offset of the u32 sequence (TCP's position; DATA puts the first payload offset there too, otherwise 0).
     */
    public static final int SEQUENCE_OFFSET = 4;

    /**
     * Offset of the three unused bytes (the high bytes of TCP's acknowledgement number); written as zero.
     */
    public static final int UNUSED_OFFSET = 8;

    /**
     * Offset of the u8 opcode, see {@link PacketType}.
     */
    public static final int TYPE_OFFSET = 11;

    /**
     * Offset of the data offset byte: header length in 32-bit words in the upper nibble, TCP style.
     */
    public static final int DOFF_OFFSET = 12;

    /**
     * Offset of the u8 flags byte.
     */
    public static final int FLAGS_OFFSET = 13;

    /**
     * Offset of the u16 window (unused by Homa).
     */
    public static final int WINDOW_OFFSET = 14;

    /**
     * Offset of the u16 checksum: a TCP-style checksum over an IPv4 pseudo-header on a kernel's packets (see
     * dev.homa.nic.frame.HomaChecksum).
     */
    public static final int CHECKSUM_OFFSET = 16;

    /**
     * Offset of the u16 urgent pointer ({@link #HIJACK_URGENT} on a kernel's packets).
     */
    public static final int URGENT_OFFSET = 18;

    /**
     * Offset of the u64 RPC id as known by the sender of this packet.
     */
    public static final int SENDER_ID_OFFSET = 20;

    /**
     * Bytes in the common header, and in the bare control packets (RPC_UNKNOWN, BUSY, NEED_ACK, FREEZE).
     */
    public static final int COMMON_HEADER_LENGTH = 28;

    /**
     * Doff byte of a DATA packet: 56 bytes = 14 words, in the upper nibble.
     */
    public static final int DOFF_DATA = 14 << 4;

    /**
     * Doff byte a kernel writes on a GSO batch of DATA segments: the 52 bytes before the segment header (13 words),
     * which the NIC replicates into each segment; the segments on the wire have the usual 56-byte layout.
     */
    public static final int DOFF_DATA_GSO = 13 << 4;

    /**
     * Doff byte of every other packet type: 5 words (the TCP header the common header overlays).
     */
    public static final int DOFF_CONTROL = 5 << 4;

    /**
     * The flags byte a current kernel writes on every packet (homa_hijack_set_hdr: SYN and RST, which TCP never sends
     * together, so that a receiver that takes Homa packets out of TCP's path can tell them apart). Receivers of
     * IPv4 protocol 146 ignore the byte.
     */
    public static final int HIJACK_FLAGS = 6;

    /**
     * The urgent pointer a current kernel writes on every packet (homa_hijack_set_hdr), the second half of that mark.
     */
    public static final int HIJACK_URGENT = 0xb97d;

    /**
     * Our documented extension in the flags byte, on top of {@link #HIJACK_FLAGS}: a client marks a request sent
     * under incast; the server then limits the response's unscheduled bytes. A kernel never sets this bit and ignores
     * the flags byte of protocol 146 packets, so mixing with kernel peers is safe.
     */
    public static final int FLAG_INCAST = 0x80;

    /**
     * Buffer currently wrapped, null before the first wrap.
     */
    protected MutableDirectBuffer buffer;

    /**
     * Index in {@link #buffer} of the first header byte.
     */
    protected int offset;

    /**
     * Create a flyweight that must be {@link #wrap wrapped} before use.
     */
    public HomaHeaderFlyweight()
    {
    }

    /**
     * Point this flyweight at a header. No bytes are read or written.
     *
     * @param buffer holding the packet.
     * @param offset index of the first header byte.
     * @return this.
     */
    public HomaHeaderFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    /**
     * {@return the wrapped buffer}
     */
    public MutableDirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * {@return index in {@link #buffer()} of the first header byte}
     */
    public int bufferOffset()
    {
        return offset;
    }

    /**
     * Write a fresh header for {@code type} as a current kernel does: zero all {@link PacketType#headerLength(int)}
     * bytes (the whole common header for an unknown type), then set type, the kernel's doff for the type,
     * {@link #HIJACK_FLAGS}, {@link #HIJACK_URGENT}, ports and sender id. The checksum is left 0 for the driver that
     * knows the addresses.
     *
     * @param type       opcode from {@link PacketType}.
     * @param sourcePort u16 source port.
     * @param destinationPort u16 destination port.
     * @param senderId   RPC id as known by the sender.
     * @return this.
     */
    public HomaHeaderFlyweight initialize(
        final int type, final int sourcePort, final int destinationPort, final long senderId)
    {
        final int headerLength = PacketType.headerLength(type);
        buffer.setMemory(offset, headerLength > 0 ? headerLength : COMMON_HEADER_LENGTH, (byte)0);
        buffer.putByte(offset + TYPE_OFFSET, (byte)type);
        buffer.putByte(offset + DOFF_OFFSET, (byte)PacketType.doffFor(type));
        buffer.putByte(offset + FLAGS_OFFSET, (byte)HIJACK_FLAGS);
        buffer.putShort(offset + URGENT_OFFSET, (short)HIJACK_URGENT, BIG_ENDIAN);
        buffer.putShort(offset + SOURCE_PORT_OFFSET, (short)sourcePort, BIG_ENDIAN);
        buffer.putShort(offset + DESTINATION_PORT_OFFSET, (short)destinationPort, BIG_ENDIAN);
        buffer.putLong(offset + SENDER_ID_OFFSET, senderId, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u16 source port}
     */
    public int sourcePort()
    {
        return buffer.getShort(offset + SOURCE_PORT_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the source port.
     *
     * @param port u16 source port.
     * @return this.
     */
    public HomaHeaderFlyweight sourcePort(final int port)
    {
        buffer.putShort(offset + SOURCE_PORT_OFFSET, (short)port, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u16 destination port}
     */
    public int destinationPort()
    {
        return buffer.getShort(offset + DESTINATION_PORT_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the destination port.
     *
     * @param port u16 destination port.
     * @return this.
     */
    public HomaHeaderFlyweight destinationPort(final int port)
    {
        buffer.putShort(offset + DESTINATION_PORT_OFFSET, (short)port, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return the u32 sequence field as raw 32 bits}
     */
    public int sequence()
    {
        return buffer.getInt(offset + SEQUENCE_OFFSET, BIG_ENDIAN);
    }

    /**
     * Write the sequence field.
     *
     * @param sequence raw 32 bits.
     * @return this.
     */
    public HomaHeaderFlyweight sequence(final int sequence)
    {
        buffer.putInt(offset + SEQUENCE_OFFSET, sequence, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u8 opcode, see {@link PacketType}}
     */
    public int type()
    {
        return buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
    }

    /**
     * Write the opcode.
     *
     * @param type u8 opcode.
     * @return this.
     */
    public HomaHeaderFlyweight type(final int type)
    {
        buffer.putByte(offset + TYPE_OFFSET, (byte)type);
        return this;
    }

    /**
     * {@return the whole u8 doff byte (header length in words in the upper nibble)}
     */
    public int doff()
    {
        return buffer.getByte(offset + DOFF_OFFSET) & 0xFF;
    }

    /**
     * Write the doff byte.
     *
     * @param doff whole u8 doff byte.
     * @return this.
     */
    public HomaHeaderFlyweight doff(final int doff)
    {
        buffer.putByte(offset + DOFF_OFFSET, (byte)doff);
        return this;
    }

    /**
     * {@return u8 flags, see {@link #HIJACK_FLAGS} and {@link #FLAG_INCAST}}
     */
    public int flags()
    {
        return buffer.getByte(offset + FLAGS_OFFSET) & 0xFF;
    }

    /**
     * Write the flags byte.
     *
     * @param flags u8 flags.
     * @return this.
     */
    public HomaHeaderFlyweight flags(final int flags)
    {
        buffer.putByte(offset + FLAGS_OFFSET, (byte)flags);
        return this;
    }

    /**
     * {@return u16 window (unused by Homa)}
     */
    public int window()
    {
        return buffer.getShort(offset + WINDOW_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the window field.
     *
     * @param window u16 window.
     * @return this.
     */
    public HomaHeaderFlyweight window(final int window)
    {
        buffer.putShort(offset + WINDOW_OFFSET, (short)window, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u16 checksum}
     */
    public int checksum()
    {
        return buffer.getShort(offset + CHECKSUM_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the checksum.
     *
     * @param checksum u16 checksum.
     * @return this.
     */
    public HomaHeaderFlyweight checksum(final int checksum)
    {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short)checksum, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u16 urgent pointer}
     */
    public int urgent()
    {
        return buffer.getShort(offset + URGENT_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the urgent pointer.
     *
     * @param urgent u16 urgent pointer.
     * @return this.
     */
    public HomaHeaderFlyweight urgent(final int urgent)
    {
        buffer.putShort(offset + URGENT_OFFSET, (short)urgent, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u64 RPC id as known by the sender of this packet}
     */
    public long senderId()
    {
        return buffer.getLong(offset + SENDER_ID_OFFSET, BIG_ENDIAN);
    }

    /**
     * Write the sender id.
     *
     * @param senderId u64 RPC id.
     * @return this.
     */
    public HomaHeaderFlyweight senderId(final long senderId)
    {
        buffer.putLong(offset + SENDER_ID_OFFSET, senderId, BIG_ENDIAN);
        return this;
    }

    /**
     * Read the opcode of a header without wrapping a flyweight, for the receive dispatch.
     *
     * @param buffer holding the packet.
     * @param offset index of the first header byte.
     * @return u8 opcode.
     */
    public static int typeOf(final DirectBuffer buffer, final int offset)
    {
        return buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
    }

    /**
     * Read the sender id of a header without wrapping a flyweight.
     *
     * @param buffer holding the packet.
     * @param offset index of the first header byte.
     * @return u64 sender id.
     */
    public static long senderIdOf(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + SENDER_ID_OFFSET, BIG_ENDIAN);
    }

    /**
     * Read the source port of a header without wrapping a flyweight.
     *
     * @param buffer holding the packet.
     * @param offset index of the first header byte.
     * @return u16 source port.
     */
    public static int sourcePortOf(final DirectBuffer buffer, final int offset)
    {
        return buffer.getShort(offset + SOURCE_PORT_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Read the destination port of a header without wrapping a flyweight.
     *
     * @param buffer holding the packet.
     * @param offset index of the first header byte.
     * @return u16 destination port.
     */
    public static int destinationPortOf(final DirectBuffer buffer, final int offset)
    {
        return buffer.getShort(offset + DESTINATION_PORT_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Read the doff byte of a header without wrapping a flyweight.
     *
     * @param buffer holding the packet.
     * @param offset index of the first header byte.
     * @return u8 doff byte.
     */
    public static int doffOf(final DirectBuffer buffer, final int offset)
    {
        return buffer.getByte(offset + DOFF_OFFSET) & 0xFF;
    }

    /**
     * Read the flags byte of a header without wrapping a flyweight.
     *
     * @param buffer holding the packet.
     * @param offset index of the first header byte.
     * @return u8 flags byte.
     */
    public static int flagsOf(final DirectBuffer buffer, final int offset)
    {
        return buffer.getByte(offset + FLAGS_OFFSET) & 0xFF;
    }
}
