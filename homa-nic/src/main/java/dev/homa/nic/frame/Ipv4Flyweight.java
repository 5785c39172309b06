package dev.homa.nic.frame;

import org.agrona.DirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over an IPv4 header (RFC 791). Addresses are ints in network order (first octet in the top byte), as
 * {@link dev.homa.nic.HostAddress} holds them.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         Identification        |Flags|     Fragment Offset     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Time to Live |  Protocol=146 |        Header Checksum        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       Source Address                          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Destination Address                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Options (IHL > 5 only)                     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * The TOS byte carries Homa's priority as a DSCP class selector when the kernel sends (see
 * {@link PriorityMapping#levelToTos(int)}). The header checksum is the RFC 1071 ones' complement sum over the
 * header; {@link #updateChecksum()} computes it, {@link #isChecksumValid()} verifies it. All fields big-endian.
 */
public final class Ipv4Flyweight extends FrameFlyweight<Ipv4Flyweight>
{
    /** Offset of the version (high nibble) and IHL (low nibble). */
    public static final int VERSION_IHL_OFFSET = 0;
    /** Offset of the TOS byte: DSCP (6 bits) and ECN (2 bits). */
    public static final int TOS_OFFSET = 1;
    /** Offset of the total length: header plus payload in bytes. */
    public static final int TOTAL_LENGTH_OFFSET = 2;
    /** Offset of the identification. */
    public static final int IDENTIFICATION_OFFSET = 4;
    /** Offset of the flags (3 high bits) and fragment offset (13 bits, in 8-byte units). */
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    /** Offset of the time to live. */
    public static final int TTL_OFFSET = 8;
    /** Offset of the protocol number. */
    public static final int PROTOCOL_OFFSET = 9;
    /** Offset of the header checksum. */
    public static final int HEADER_CHECKSUM_OFFSET = 10;
    /** Offset of the source address. */
    public static final int SOURCE_ADDRESS_OFFSET = 12;
    /** Offset of the destination address. */
    public static final int DESTINATION_ADDRESS_OFFSET = 16;
    /** Length of a header without options (IHL 5). */
    public static final int HEADER_LENGTH = 20;
    /** Length of the longest header (IHL 15). */
    public static final int MAX_HEADER_LENGTH = 60;

    /** IP version 4. */
    public static final int VERSION = 4;
    /** Protocol number IANA assigned to Homa. */
    public static final int PROTOCOL_HOMA = 146;
    /** Don't-fragment flag within the flags/fragment field. */
    public static final int FLAG_DONT_FRAGMENT = 0x4000;
    /** More-fragments flag within the flags/fragment field. */
    public static final int FLAG_MORE_FRAGMENTS = 0x2000;
    /** Mask of the fragment offset within the flags/fragment field. */
    public static final int FRAGMENT_OFFSET_MASK = 0x1FFF;
    /** Default time to live, as Linux's {@code net.ipv4.ip_default_ttl}. */
    public static final int DEFAULT_TTL = 64;

    /**
     * @return the IP version (4).
     */
    public int version()
    {
        return (buffer.getByte(offset + VERSION_IHL_OFFSET) >>> 4) & 0xF;
    }

    /**
     * @return the header length in 32-bit words.
     */
    public int ihl()
    {
        return buffer.getByte(offset + VERSION_IHL_OFFSET) & 0xF;
    }

    /**
     * @return the header length in bytes, {@code ihl() * 4}.
     */
    public int headerLength()
    {
        return ihl() << 2;
    }

    /**
     * @param version IP version, 0..15.
     * @param ihl     header length in 32-bit words, 0..15.
     * @return this.
     */
    public Ipv4Flyweight versionAndIhl(final int version, final int ihl)
    {
        buffer.putByte(offset + VERSION_IHL_OFFSET, (byte)(((version & 0xF) << 4) | (ihl & 0xF)));
        return this;
    }

    /**
     * @return the TOS byte (DSCP and ECN).
     */
    public int tos()
    {
        return buffer.getByte(offset + TOS_OFFSET) & 0xFF;
    }

    /**
     * @param tos TOS byte, 0..255.
     * @return this.
     */
    public Ipv4Flyweight tos(final int tos)
    {
        buffer.putByte(offset + TOS_OFFSET, (byte)tos);
        return this;
    }

    /**
     * @return the DSCP, the top 6 bits of the TOS byte.
     */
    public int dscp()
    {
        return tos() >>> 2;
    }

    /**
     * @return the ECN bits, the low 2 bits of the TOS byte.
     */
    public int ecn()
    {
        return tos() & 0x3;
    }

    /**
     * @return header plus payload in bytes.
     */
    public int totalLength()
    {
        return buffer.getShort(offset + TOTAL_LENGTH_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * @param totalLength header plus payload in bytes, 0..65535.
     * @return this.
     */
    public Ipv4Flyweight totalLength(final int totalLength)
    {
        buffer.putShort(offset + TOTAL_LENGTH_OFFSET, (short)totalLength, BIG_ENDIAN);
        return this;
    }

    /**
     * @return the identification.
     */
    public int identification()
    {
        return buffer.getShort(offset + IDENTIFICATION_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * @param identification 0..65535.
     * @return this.
     */
    public Ipv4Flyweight identification(final int identification)
    {
        buffer.putShort(offset + IDENTIFICATION_OFFSET, (short)identification, BIG_ENDIAN);
        return this;
    }

    /**
     * @return the raw flags and fragment offset field.
     */
    public int flagsAndFragmentOffset()
    {
        return buffer.getShort(offset + FLAGS_FRAGMENT_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * @param value raw flags and fragment offset field.
     * @return this.
     */
    public Ipv4Flyweight flagsAndFragmentOffset(final int value)
    {
        buffer.putShort(offset + FLAGS_FRAGMENT_OFFSET, (short)value, BIG_ENDIAN);
        return this;
    }

    /**
     * @return true if the don't-fragment flag is set.
     */
    public boolean dontFragment()
    {
        return 0 != (flagsAndFragmentOffset() & FLAG_DONT_FRAGMENT);
    }

    /**
     * @return true if the more-fragments flag is set.
     */
    public boolean moreFragments()
    {
        return 0 != (flagsAndFragmentOffset() & FLAG_MORE_FRAGMENTS);
    }

    /**
     * @return the fragment offset in 8-byte units.
     */
    public int fragmentOffset()
    {
        return flagsAndFragmentOffset() & FRAGMENT_OFFSET_MASK;
    }

    /**
     * @return the time to live.
     */
    public int ttl()
    {
        return buffer.getByte(offset + TTL_OFFSET) & 0xFF;
    }

    /**
     * @param ttl 0..255.
     * @return this.
     */
    public Ipv4Flyweight ttl(final int ttl)
    {
        buffer.putByte(offset + TTL_OFFSET, (byte)ttl);
        return this;
    }

    /**
     * @return the protocol number, {@link #PROTOCOL_HOMA} for Homa.
     */
    public int protocol()
    {
        return protocolOf(buffer, offset);
    }

    /**
     * @param protocol 0..255.
     * @return this.
     */
    public Ipv4Flyweight protocol(final int protocol)
    {
        buffer.putByte(offset + PROTOCOL_OFFSET, (byte)protocol);
        return this;
    }

    /**
     * @return the header checksum as stored.
     */
    public int headerChecksum()
    {
        return buffer.getShort(offset + HEADER_CHECKSUM_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * @param checksum value to store, 0..65535.
     * @return this.
     */
    public Ipv4Flyweight headerChecksum(final int checksum)
    {
        buffer.putShort(offset + HEADER_CHECKSUM_OFFSET, (short)checksum, BIG_ENDIAN);
        return this;
    }

    /**
     * @return the source address, network order.
     */
    public int sourceAddress()
    {
        return buffer.getInt(offset + SOURCE_ADDRESS_OFFSET, BIG_ENDIAN);
    }

    /**
     * @param address source address, network order.
     * @return this.
     */
    public Ipv4Flyweight sourceAddress(final int address)
    {
        buffer.putInt(offset + SOURCE_ADDRESS_OFFSET, address, BIG_ENDIAN);
        return this;
    }

    /**
     * @return the destination address, network order.
     */
    public int destinationAddress()
    {
        return buffer.getInt(offset + DESTINATION_ADDRESS_OFFSET, BIG_ENDIAN);
    }

    /**
     * @param address destination address, network order.
     * @return this.
     */
    public Ipv4Flyweight destinationAddress(final int address)
    {
        buffer.putInt(offset + DESTINATION_ADDRESS_OFFSET, address, BIG_ENDIAN);
        return this;
    }

    /**
     * Compute the checksum over the header as {@link #ihl()} says it is long, treating the checksum field as zero,
     * and store it. Call after every other field is written.
     *
     * @return this.
     */
    public Ipv4Flyweight updateChecksum()
    {
        headerChecksum(0);
        return headerChecksum(checksum(buffer, offset, headerLength()));
    }

    /**
     * @return true if the stored checksum matches the header ({@link #ihl()} words).
     */
    public boolean isChecksumValid()
    {
        return isChecksumValid(buffer, offset, headerLength());
    }

    /**
     * Read the protocol number of a header without wrapping it.
     *
     * @param buffer   holding the packet.
     * @param ipOffset of the header's first byte.
     * @return the protocol number.
     */
    public static int protocolOf(final DirectBuffer buffer, final int ipOffset)
    {
        return buffer.getByte(ipOffset + PROTOCOL_OFFSET) & 0xFF;
    }

    /**
     * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of the 16-bit big-endian
     * words in the range. An odd trailing byte is padded with zero.
     *
     * @param buffer holding the bytes.
     * @param index  of the first byte.
     * @param length number of bytes.
     * @return the checksum, 0..0xFFFF.
     */
    public static int checksum(final DirectBuffer buffer, final int index, final int length)
    {
        return ~onesComplementSum(buffer, index, length) & 0xFFFF;
    }

    /**
     * Verify a header: the ones' complement sum over it, checksum field included, is 0xFFFF exactly when the
     * stored checksum is right.
     *
     * @param buffer holding the header.
     * @param index  of its first byte.
     * @param length header length in bytes.
     * @return true if the checksum is valid.
     */
    public static boolean isChecksumValid(final DirectBuffer buffer, final int index, final int length)
    {
        return 0xFFFF == onesComplementSum(buffer, index, length);
    }

    private static int onesComplementSum(final DirectBuffer buffer, final int index, final int length)
    {
        // Summing 32-bit words into a long and folding once at the end is equivalent to summing 16-bit words with
        // end-around carry (RFC 1071 section 2: the sum is independent of word size and byte order of grouping).
        long sum = 0;
        int i = 0;
        for (; i + 4 <= length; i += 4)
        {
            sum += buffer.getInt(index + i, BIG_ENDIAN) & 0xFFFF_FFFFL;
        }
        if (i + 2 <= length)
        {
            sum += buffer.getShort(index + i, BIG_ENDIAN) & 0xFFFFL;
            i += 2;
        }
        if (i < length)
        {
            sum += (buffer.getByte(index + i) & 0xFFL) << 8;
        }
        sum = (sum & 0xFFFF_FFFFL) + (sum >>> 32);
        sum = (sum & 0xFFFF_FFFFL) + (sum >>> 32);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return (int)sum;
    }
}
