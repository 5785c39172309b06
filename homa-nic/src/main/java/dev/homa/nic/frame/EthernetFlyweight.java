package dev.homa.nic.frame;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over an Ethernet II header. MAC addresses are handled as the low 48 bits of a {@code long}, first
 * octet in bits 47..40, so that they stay primitive on the hot path.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Destination MAC (6 bytes)                  |
 *  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                               |                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *  |                      Source MAC (6 bytes)                     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |           EtherType           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * With an 802.1Q tag the EtherType field holds the tag's TPID (0x8100) and the real EtherType follows the tag
 * (see {@link VlanTagFlyweight}). All fields are big-endian (network order).
 */
public final class EthernetFlyweight extends FrameFlyweight<EthernetFlyweight>
{
    /** Offset of the destination MAC. */
    public static final int DESTINATION_MAC_OFFSET = 0;
    /** Offset of the source MAC. */
    public static final int SOURCE_MAC_OFFSET = 6;
    /** Offset of the EtherType (or the TPID of a VLAN tag). */
    public static final int ETHER_TYPE_OFFSET = 12;
    /** Length of the untagged header. */
    public static final int HEADER_LENGTH = 14;
    /** Length of a MAC address. */
    public static final int MAC_LENGTH = 6;

    /** EtherType of IPv4. */
    public static final int ETHER_TYPE_IPV4 = 0x0800;
    /** EtherType (TPID) that announces an 802.1Q tag. */
    public static final int ETHER_TYPE_VLAN = 0x8100;
    /** EtherType (TPID) of an 802.1ad service tag (QinQ outer tag). */
    public static final int ETHER_TYPE_QINQ = 0x88A8;

    /** Mask of the 48 bits a MAC address occupies in a {@code long}. */
    public static final long MAC_MASK = 0xFFFF_FFFF_FFFFL;
    /** The broadcast address ff:ff:ff:ff:ff:ff. */
    public static final long BROADCAST_MAC = MAC_MASK;

    /**
     * {@return destination MAC in the low 48 bits}
     */
    public long destinationMac()
    {
        return macOf(buffer, offset + DESTINATION_MAC_OFFSET);
    }

    /**
     * Write the destination MAC.
     *
     * @param mac destination MAC in the low 48 bits.
     * @return this.
     */
    public EthernetFlyweight destinationMac(final long mac)
    {
        putMac(buffer, offset + DESTINATION_MAC_OFFSET, mac);
        return this;
    }

    /**
     * {@return source MAC in the low 48 bits}
     */
    public long sourceMac()
    {
        return macOf(buffer, offset + SOURCE_MAC_OFFSET);
    }

    /**
     * Write the source MAC.
     *
     * @param mac source MAC in the low 48 bits.
     * @return this.
     */
    public EthernetFlyweight sourceMac(final long mac)
    {
        putMac(buffer, offset + SOURCE_MAC_OFFSET, mac);
        return this;
    }

    /**
     * {@return the EtherType, or the TPID of a VLAN tag}
     */
    public int etherType()
    {
        return etherTypeOf(buffer, offset);
    }

    /**
     * Write the EtherType field.
     *
     * @param etherType EtherType or TPID, 0..0xFFFF.
     * @return this.
     */
    public EthernetFlyweight etherType(final int etherType)
    {
        buffer.putShort(offset + ETHER_TYPE_OFFSET, (short)etherType, BIG_ENDIAN);
        return this;
    }

    /**
     * Read the EtherType of a frame without wrapping it.
     *
     * @param buffer      holding the frame.
     * @param frameOffset of the frame's first byte.
     * @return the EtherType or TPID.
     */
    public static int etherTypeOf(final DirectBuffer buffer, final int frameOffset)
    {
        return buffer.getShort(frameOffset + ETHER_TYPE_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Read a MAC address.
     *
     * @param buffer holding it.
     * @param index  of its first octet.
     * @return the MAC in the low 48 bits.
     */
    public static long macOf(final DirectBuffer buffer, final int index)
    {
        final long high = buffer.getShort(index, BIG_ENDIAN) & 0xFFFFL;
        final long low = buffer.getInt(index + 2, BIG_ENDIAN) & 0xFFFF_FFFFL;
        return (high << 32) | low;
    }

    /**
     * Write a MAC address.
     *
     * @param buffer to write to.
     * @param index  of the first octet.
     * @param mac    the MAC in the low 48 bits; higher bits are ignored.
     */
    public static void putMac(final MutableDirectBuffer buffer, final int index, final long mac)
    {
        buffer.putShort(index, (short)(mac >>> 32), BIG_ENDIAN);
        buffer.putInt(index + 2, (int)mac, BIG_ENDIAN);
    }

    /**
     * A locally administered unicast MAC derived from an IPv4 address, {@code 02:00:a:b:c:d}, for captures and
     * test fabrics that have no real link layer. Deterministic, so the same host always gets the same MAC.
     *
     * @param ipv4 address in network order as an int.
     * @return the MAC in the low 48 bits.
     */
    public static long syntheticMac(final int ipv4)
    {
        return (0x0200L << 32) | (ipv4 & 0xFFFF_FFFFL);
    }

    /**
     * Parse {@code aa:bb:cc:dd:ee:ff} (or with '-'). Not for the hot path.
     *
     * @param text the MAC.
     * @return the MAC in the low 48 bits.
     */
    public static long parseMac(final String text)
    {
        final String[] parts = text.split("[:-]", -1);
        if (MAC_LENGTH != parts.length)
        {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        long mac = 0;
        for (final String part : parts)
        {
            if (2 != part.length())
            {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            mac = (mac << 8) | Integer.parseInt(part, 16);
        }
        return mac;
    }

    /**
     * Format a MAC address.
     *
     * @param mac in the low 48 bits.
     * @return printable form {@code aa:bb:cc:dd:ee:ff}; allocates, so not for the hot path.
     */
    public static String macToString(final long mac)
    {
        final StringBuilder builder = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8)
        {
            final int octet = (int)(mac >>> shift) & 0xFF;
            builder.append(Character.forDigit(octet >>> 4, 16)).append(Character.forDigit(octet & 0xF, 16));
            if (0 != shift)
            {
                builder.append(':');
            }
        }
        return builder.toString();
    }
}
