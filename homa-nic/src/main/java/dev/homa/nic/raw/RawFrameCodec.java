package dev.homa.nic.raw;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * The 38 bytes that frame a Homa packet on raw Ethernet, written in front of it and parsed off received frames:
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------------------------------------+  0
 *  |                destination MAC (6) | source MAC (6)         |
 *  +-------------------------------+-----+-----------------------+ 12
 *  |        TPID = 0x8100          | PCP |D|        VID          |
 *  +-------------------------------+-----+-----------------------+ 16
 *  |     EtherType = 0x0800        | IPv4 header (20 bytes, protocol 146, no options)
 *  +-------------------------------+----------------------------- 18 .. 38, then the Homa header
 * </pre>
 * All fields big-endian. Package-private on purpose: the shared {@code dev.homa.nic.frame} flyweights replace it.
 */
final class RawFrameCodec
{
    static final int ETHERNET_HEADER_LENGTH = 14;
    static final int VLAN_TAG_LENGTH = 4;
    static final int IPV4_HEADER_LENGTH = 20;
    /** Ethernet + 802.1Q + IPv4 in front of every Homa packet. */
    static final int FRAME_HEADER_LENGTH = ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH + IPV4_HEADER_LENGTH;
    /** Preamble and start delimiter (8), FCS (4) and inter-frame gap (12): wire bytes no header shows. */
    static final int PHY_OVERHEAD = 24;

    static final int DESTINATION_MAC_OFFSET = 0;
    static final int SOURCE_MAC_OFFSET = 6;
    static final int TPID_OFFSET = 12;
    static final int TCI_OFFSET = 14;
    static final int ETHER_TYPE_OFFSET = 16;
    static final int IP_OFFSET = 18;

    static final int ETHER_TYPE_IPV4 = 0x0800;
    static final int ETHER_TYPE_VLAN = 0x8100;
    static final int IPPROTO_HOMA = 146;

    static final int IP_VERSION_IHL_OFFSET = 0;
    static final int IP_TOS_OFFSET = 1;
    static final int IP_TOTAL_LENGTH_OFFSET = 2;
    static final int IP_ID_OFFSET = 4;
    static final int IP_FLAGS_FRAGMENT_OFFSET = 6;
    static final int IP_TTL_OFFSET = 8;
    static final int IP_PROTOCOL_OFFSET = 9;
    static final int IP_CHECKSUM_OFFSET = 10;
    static final int IP_SOURCE_OFFSET = 12;
    static final int IP_DESTINATION_OFFSET = 16;
    static final int IP_DONT_FRAGMENT = 0x4000;
    static final int IP_DEFAULT_TTL = 64;

    private RawFrameCodec()
    {
    }

    /**
     * 802.1p ranks PCP 1 (background) below PCP 0 (best effort); from 2 up the order is numeric. Homa level 0 is
     * the lowest, so levels 0 and 1 swap (protocol.md 15.1). The mapping is its own inverse.
     *
     * @param level Homa priority 0..7.
     * @return the PCP that ranks as that level.
     */
    static int pcpForLevel(final int level)
    {
        return level <= 1 ? 1 - level : level;
    }

    /**
     * @param pcp received PCP 0..7.
     * @return the Homa level it ranks as.
     */
    static int levelForPcp(final int pcp)
    {
        return pcp <= 1 ? 1 - pcp : pcp;
    }

    /**
     * Write Ethernet, 802.1Q tag and IPv4 header for a Homa packet of {@code homaLength} bytes that follows.
     */
    static void writeHeader(
        final MutableDirectBuffer buffer,
        final int offset,
        final long destinationMac,
        final long sourceMac,
        final int pcp,
        final int vlanId,
        final int sourceIp,
        final int destinationIp,
        final int ipId,
        final int homaLength)
    {
        putMac(buffer, offset + DESTINATION_MAC_OFFSET, destinationMac);
        putMac(buffer, offset + SOURCE_MAC_OFFSET, sourceMac);
        buffer.putShort(offset + TPID_OFFSET, (short)ETHER_TYPE_VLAN, BIG_ENDIAN);
        buffer.putShort(offset + TCI_OFFSET, (short)((pcp << 13) | (vlanId & 0xFFF)), BIG_ENDIAN);
        buffer.putShort(offset + ETHER_TYPE_OFFSET, (short)ETHER_TYPE_IPV4, BIG_ENDIAN);

        final int ip = offset + IP_OFFSET;
        buffer.putByte(ip + IP_VERSION_IHL_OFFSET, (byte)0x45);
        // DSCP class selector = PCP as well, so an L3 hop that trusts DSCP keeps the priority.
        buffer.putByte(ip + IP_TOS_OFFSET, (byte)(pcp << 5));
        buffer.putShort(ip + IP_TOTAL_LENGTH_OFFSET, (short)(IPV4_HEADER_LENGTH + homaLength), BIG_ENDIAN);
        buffer.putShort(ip + IP_ID_OFFSET, (short)ipId, BIG_ENDIAN);
        buffer.putShort(ip + IP_FLAGS_FRAGMENT_OFFSET, (short)IP_DONT_FRAGMENT, BIG_ENDIAN);
        buffer.putByte(ip + IP_TTL_OFFSET, (byte)IP_DEFAULT_TTL);
        buffer.putByte(ip + IP_PROTOCOL_OFFSET, (byte)IPPROTO_HOMA);
        buffer.putShort(ip + IP_CHECKSUM_OFFSET, (short)0, BIG_ENDIAN);
        buffer.putInt(ip + IP_SOURCE_OFFSET, sourceIp, BIG_ENDIAN);
        buffer.putInt(ip + IP_DESTINATION_OFFSET, destinationIp, BIG_ENDIAN);
        buffer.putShort(ip + IP_CHECKSUM_OFFSET, (short)ipChecksum(buffer, ip, IPV4_HEADER_LENGTH), BIG_ENDIAN);
    }

    /**
     * RFC 1071 ones'-complement sum. Over a header whose checksum field is zero it yields the checksum to store;
     * over a received header (field included) it yields 0 when the header is intact.
     */
    static int ipChecksum(final DirectBuffer buffer, final int offset, final int length)
    {
        long sum = 0;
        int i = 0;
        for (; i + 4 <= length; i += 4)
        {
            sum += buffer.getInt(offset + i, BIG_ENDIAN) & 0xFFFF_FFFFL;
        }
        for (; i + 2 <= length; i += 2)
        {
            sum += buffer.getShort(offset + i, BIG_ENDIAN) & 0xFFFF;
        }
        if (i < length)
        {
            sum += (buffer.getByte(offset + i) & 0xFF) << 8;
        }
        while (0 != (sum >>> 16))
        {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int)(~sum & 0xFFFF);
    }

    static void putMac(final MutableDirectBuffer buffer, final int offset, final long mac)
    {
        buffer.putShort(offset, (short)(mac >>> 32), BIG_ENDIAN);
        buffer.putInt(offset + 2, (int)mac, BIG_ENDIAN);
    }

    static long getMac(final DirectBuffer buffer, final int offset)
    {
        return ((buffer.getShort(offset, BIG_ENDIAN) & 0xFFFFL) << 32) |
            (buffer.getInt(offset + 2, BIG_ENDIAN) & 0xFFFF_FFFFL);
    }

    static String macToString(final long mac)
    {
        final StringBuilder builder = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8)
        {
            final int octet = (int)(mac >>> shift) & 0xFF;
            builder.append(Character.forDigit(octet >>> 4, 16)).append(Character.forDigit(octet & 0xF, 16));
            if (shift > 0)
            {
                builder.append(':');
            }
        }
        return builder.toString();
    }
}
