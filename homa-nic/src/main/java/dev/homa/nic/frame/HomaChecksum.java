package dev.homa.nic.frame;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The checksum in a Homa packet's common header (bytes 16-17, TCP's checksum position), as a current kernel's
 * packets carry it on the wire: {@code homa_hijack_set_hdr} seeds the field with {@code ~tcp_v4_check(length, saddr,
 * daddr, 0)} on every packet and marks it {@code CHECKSUM_PARTIAL}, so the NIC (or the stack) completes a TCP-style
 * checksum: the RFC 1071 ones' complement over an IPv4 pseudo-header with protocol 6 (TCP's, not Homa's 146) and the
 * Homa packet's length, then the Homa header and payload with the field itself taken as 0. Kernel receivers do not
 * check it; it is there for the wire to be the kernel's and for tools that read it.
 * <p>
 * The protocol fills it where a driver puts packets on the wire as IPv4 protocol 146
 * ({@link dev.homa.nic.NicDriver#carriesIpProtocol146()}) and does not complete it itself. A driver that hands the
 * kernel a partial checksum ({@link dev.homa.nic.NicDriver#completesChecksum()}) stores only the {@link #seed}, as
 * {@code homa_hijack_set_hdr} does, and the NIC or the stack's {@code skb_checksum_help} sums the rest on the way
 * out. Allocation-free; {@link #compute} costs about 0.1 us per full-sized packet, {@link #seed} a few additions.
 */
public final class HomaChecksum
{
    /** Offset of the checksum in the Homa common header. */
    public static final int CHECKSUM_OFFSET = 16;

    /** The protocol the kernel's pseudo-header names (tcp_v4_check). */
    public static final int PSEUDO_HEADER_PROTOCOL = 6;

    private HomaChecksum()
    {
    }

    /**
     * @param buffer holding the Homa packet.
     * @param offset of its first byte (the source port).
     * @param length Homa header + payload bytes, at least 18.
     * @param srcIp  source IPv4 address, network order.
     * @param dstIp  destination IPv4 address, network order.
     * @return the checksum a kernel's packet would carry, with whatever the field holds now taken as 0.
     */
    public static int compute(
        final DirectBuffer buffer, final int offset, final int length, final int srcIp, final int dstIp)
    {
        // The ones' complement sum does not depend on the byte order it is taken in (RFC 1071 section 2): the packet
        // is summed as little-endian 32-bit halves (no byte swap on the usual hosts), in two chains for the CPU to
        // overlap, and the 16-bit result swapped once into network order.
        long even = 0;
        long odd = 0;
        int i = 0;
        for (; i + 16 <= length; i += 16)
        {
            final long w0 = buffer.getLong(offset + i, LITTLE_ENDIAN);
            final long w1 = buffer.getLong(offset + i + 8, LITTLE_ENDIAN);
            even += (w0 >>> 32) + (w0 & 0xFFFF_FFFFL);
            odd += (w1 >>> 32) + (w1 & 0xFFFF_FFFFL);
        }
        long sum = even + odd;
        for (; i + 2 <= length; i += 2)
        {
            sum += buffer.getShort(offset + i, LITTLE_ENDIAN) & 0xFFFFL;
        }
        if (i < length)
        {
            sum += buffer.getByte(offset + i) & 0xFFL;
        }
        // The field's own bytes were summed as they stand: take them out again (adding the complement subtracts).
        sum += 0xFFFF - (buffer.getShort(offset + CHECKSUM_OFFSET, LITTLE_ENDIAN) & 0xFFFFL);
        sum = Short.reverseBytes((short)fold(sum)) & 0xFFFFL;
        sum += (srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + PSEUDO_HEADER_PROTOCOL + length;
        final int checksum = ~fold(sum) & 0xFFFF;
        // As the kernel's software checksum does (skb_checksum_help): a computed 0 goes out as 0xFFFF.
        return 0 == checksum ? 0xFFFF : checksum;
    }

    /**
     * The pseudo-header part of the checksum, which a NIC completing a partial checksum expects in the field: the
     * folded, uncomplemented sum of the addresses, protocol 6 and the Homa length ({@code ~tcp_v4_check(length,
     * saddr, daddr, 0)}). Summing the packet from its first byte with the seed in place and complementing the result
     * gives {@link #compute}'s value.
     *
     * @param length Homa header + payload bytes.
     * @param srcIp  source IPv4 address, network order.
     * @param dstIp  destination IPv4 address, network order.
     * @return the 16-bit seed, to be stored in network order at {@link #CHECKSUM_OFFSET}.
     */
    public static int seed(final int length, final int srcIp, final int dstIp)
    {
        return fold((srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) +
            PSEUDO_HEADER_PROTOCOL + (long)length);
    }

    private static int fold(final long value)
    {
        long sum = (value & 0xFFFF_FFFFL) + (value >>> 32);
        sum = (sum & 0xFFFF_FFFFL) + (sum >>> 32);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        sum = (sum & 0xFFFF) + (sum >>> 16);
        return (int)((sum & 0xFFFF) + (sum >>> 16));
    }

    /**
     * Compute and store the checksum.
     *
     * @param buffer holding the Homa packet.
     * @param offset of its first byte.
     * @param length Homa header + payload bytes, at least 18.
     * @param srcIp  source IPv4 address, network order.
     * @param dstIp  destination IPv4 address, network order.
     */
    public static void write(
        final MutableDirectBuffer buffer, final int offset, final int length, final int srcIp, final int dstIp)
    {
        buffer.putShort(offset + CHECKSUM_OFFSET, (short)compute(buffer, offset, length, srcIp, dstIp), BIG_ENDIAN);
    }

    /**
     * @param buffer holding the Homa packet.
     * @param offset of its first byte.
     * @param length Homa header + payload bytes, at least 18.
     * @param srcIp  source IPv4 address, network order.
     * @param dstIp  destination IPv4 address, network order.
     * @return true if the stored checksum is the one {@link #compute} gives.
     */
    public static boolean isValid(
        final DirectBuffer buffer, final int offset, final int length, final int srcIp, final int dstIp)
    {
        return (buffer.getShort(offset + CHECKSUM_OFFSET, BIG_ENDIAN) & 0xFFFF) ==
            compute(buffer, offset, length, srcIp, dstIp);
    }
}
