package dev.homa.nic.frame;

import org.agrona.DirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Parses a received raw Ethernet frame down to the Homa bytes: Ethernet II, at most one 802.1Q tag (stacked tags
 * are refused), IPv4 with protocol 146, or protocol 6 with {@link TcpHijack}'s marks, and a valid header checksum.
 * Never throws on frame contents: {@link #read} returns {@link FrameRejectReason#NONE} and fills the accessors, or
 * a reason, and counts both. Allocation-free; one
 * instance per receiving thread, reused for every frame.
 * <p>
 * The priority comes from the tag's PCP when the frame has one. Linux NICs with VLAN offload strip the tag on
 * receive and an {@code AF_PACKET} socket then reports it only in {@code PACKET_AUXDATA}; for an untagged frame the
 * priority is therefore taken from the IPv4 TOS class selector, which {@link HomaFrameWriter} also marks. A driver
 * that has the stripped TCI calls {@link #pcpToPriority(int)} itself.
 * <p>
 * Trailing bytes after the IP total length (Ethernet padding, a CRC the NIC left in place) are ignored:
 * {@link #homaLength()} comes from the IP header.
 */
public final class HomaFrameReader
{
    /** EtherType of an 802.1ad service tag (the outer tag of QinQ). */
    public static final int ETHER_TYPE_SERVICE_TAG = 0x88A8;

    private final long[] rejectCounts = new long[FrameRejectReason.count()];

    private int homaOffset;
    private int homaLength;
    private long destinationMac;
    private long sourceMac;
    private int sourceIpv4;
    private int destinationIpv4;
    private int tci;
    private boolean tagged;
    private int tos;
    private int ipIdentification;
    private int priority;
    private boolean hijacked;

    /**
     * Parse one frame.
     *
     * @param frame       buffer holding it.
     * @param frameOffset of its first byte (destination MAC).
     * @param frameLength number of bytes received.
     * @return {@link FrameRejectReason#NONE} if the frame carries a Homa packet, whose fields are then readable
     * through the accessors until the next call; otherwise why not (accessors are then unspecified).
     */
    public FrameRejectReason read(final DirectBuffer frame, final int frameOffset, final int frameLength)
    {
        final FrameRejectReason reason = parse(frame, frameOffset, frameLength);
        rejectCounts[reason.ordinal()]++;
        return reason;
    }

    private FrameRejectReason parse(final DirectBuffer frame, final int frameOffset, final int frameLength)
    {
        if (frameLength < FrameLayout.ETHERNET_HEADER_LENGTH)
        {
            return FrameRejectReason.TOO_SHORT;
        }
        int etherType = EthernetFlyweight.etherTypeOf(frame, frameOffset);
        int ipOffset = frameOffset + FrameLayout.ETHERNET_HEADER_LENGTH;
        if (ETHER_TYPE_SERVICE_TAG == etherType)
        {
            return FrameRejectReason.STACKED_TAGS;
        }
        if (EthernetFlyweight.ETHER_TYPE_VLAN == etherType)
        {
            if (frameLength < FrameLayout.ETHERNET_HEADER_LENGTH + FrameLayout.VLAN_TAG_LENGTH)
            {
                return FrameRejectReason.TOO_SHORT;
            }
            final int tagOffset = frameOffset + EthernetFlyweight.ETHER_TYPE_OFFSET;
            tci = VlanTagFlyweight.tciOf(frame, tagOffset);
            tagged = true;
            etherType = frame.getShort(tagOffset + VlanTagFlyweight.INNER_ETHER_TYPE_OFFSET, BIG_ENDIAN) & 0xFFFF;
            ipOffset += FrameLayout.VLAN_TAG_LENGTH;
            if (EthernetFlyweight.ETHER_TYPE_VLAN == etherType || ETHER_TYPE_SERVICE_TAG == etherType)
            {
                return FrameRejectReason.STACKED_TAGS;
            }
        }
        else
        {
            tci = 0;
            tagged = false;
        }
        if (EthernetFlyweight.ETHER_TYPE_IPV4 != etherType)
        {
            return FrameRejectReason.NOT_IPV4;
        }

        final int ipAvailable = frameOffset + frameLength - ipOffset;
        if (ipAvailable < FrameLayout.IPV4_HEADER_LENGTH)
        {
            return FrameRejectReason.TOO_SHORT;
        }
        final int versionIhl = frame.getByte(ipOffset + Ipv4Flyweight.VERSION_IHL_OFFSET) & 0xFF;
        if (Ipv4Flyweight.VERSION != versionIhl >>> 4)
        {
            return FrameRejectReason.BAD_IP_VERSION;
        }
        final int ipHeaderLength = (versionIhl & 0xF) << 2;
        if (ipHeaderLength < FrameLayout.IPV4_HEADER_LENGTH)
        {
            return FrameRejectReason.BAD_IP_HEADER_LENGTH;
        }
        if (ipAvailable < ipHeaderLength)
        {
            return FrameRejectReason.TOO_SHORT;
        }
        // Protocol before checksum: a raw IPv4 socket sees all IP traffic, and other protocols are not ours to verify.
        final int protocol = Ipv4Flyweight.protocolOf(frame, ipOffset);
        hijacked = TcpHijack.IPPROTO_TCP == protocol;
        final int transportAvailable = ipAvailable - ipHeaderLength;
        if (Ipv4Flyweight.PROTOCOL_HOMA != protocol && !(hijacked && transportAvailable >= TcpHijack.MARKS_LENGTH &&
            TcpHijack.isMarked(frame, ipOffset + ipHeaderLength)))
        {
            return FrameRejectReason.NOT_HOMA;
        }
        if (!Ipv4Flyweight.isChecksumValid(frame, ipOffset, ipHeaderLength))
        {
            return FrameRejectReason.BAD_CHECKSUM;
        }
        final int totalLength = frame.getShort(ipOffset + Ipv4Flyweight.TOTAL_LENGTH_OFFSET, BIG_ENDIAN) & 0xFFFF;
        if (totalLength < ipHeaderLength || totalLength > ipAvailable)
        {
            return FrameRejectReason.BAD_TOTAL_LENGTH;
        }
        final int flagsFragment = frame.getShort(ipOffset + Ipv4Flyweight.FLAGS_FRAGMENT_OFFSET, BIG_ENDIAN);
        if (0 != (flagsFragment & (Ipv4Flyweight.FLAG_MORE_FRAGMENTS | Ipv4Flyweight.FRAGMENT_OFFSET_MASK)))
        {
            return FrameRejectReason.FRAGMENTED;
        }

        destinationMac = EthernetFlyweight.macOf(frame, frameOffset + EthernetFlyweight.DESTINATION_MAC_OFFSET);
        sourceMac = EthernetFlyweight.macOf(frame, frameOffset + EthernetFlyweight.SOURCE_MAC_OFFSET);
        tos = frame.getByte(ipOffset + Ipv4Flyweight.TOS_OFFSET) & 0xFF;
        ipIdentification = frame.getShort(ipOffset + Ipv4Flyweight.IDENTIFICATION_OFFSET, BIG_ENDIAN) & 0xFFFF;
        sourceIpv4 = frame.getInt(ipOffset + Ipv4Flyweight.SOURCE_ADDRESS_OFFSET, BIG_ENDIAN);
        destinationIpv4 = frame.getInt(ipOffset + Ipv4Flyweight.DESTINATION_ADDRESS_OFFSET, BIG_ENDIAN);
        homaOffset = ipOffset + ipHeaderLength;
        homaLength = totalLength - ipHeaderLength;
        priority = tagged ? PriorityMapping.pcpToLevel(VlanTagFlyweight.pcpOf(tci)) : PriorityMapping.tosToLevel(tos);
        return FrameRejectReason.NONE;
    }

    /**
     * @return index in the frame buffer of the first Homa byte.
     */
    public int homaOffset()
    {
        return homaOffset;
    }

    /**
     * @return true if the packet came as IPv4 protocol 6 with the {@link TcpHijack} marks.
     */
    public boolean hijacked()
    {
        return hijacked;
    }

    /**
     * @return number of Homa bytes (header + payload), from the IP total length.
     */
    public int homaLength()
    {
        return homaLength;
    }

    /**
     * @return destination MAC, low 48 bits.
     */
    public long destinationMac()
    {
        return destinationMac;
    }

    /**
     * @return source MAC, low 48 bits.
     */
    public long sourceMac()
    {
        return sourceMac;
    }

    /**
     * @return source IPv4 address, network order.
     */
    public int sourceIpv4()
    {
        return sourceIpv4;
    }

    /**
     * @return destination IPv4 address, network order.
     */
    public int destinationIpv4()
    {
        return destinationIpv4;
    }

    /**
     * @return true if the frame had an 802.1Q tag.
     */
    public boolean tagged()
    {
        return tagged;
    }

    /**
     * @return the tag's PCP, or -1 if untagged.
     */
    public int pcp()
    {
        return tagged ? VlanTagFlyweight.pcpOf(tci) : -1;
    }

    /**
     * @return the tag's VID, or -1 if untagged.
     */
    public int vlanId()
    {
        return tagged ? tci & VlanTagFlyweight.MAX_VID : -1;
    }

    /**
     * @return the IPv4 TOS byte.
     */
    public int tos()
    {
        return tos;
    }

    /**
     * @return the IPv4 identification.
     */
    public int ipIdentification()
    {
        return ipIdentification;
    }

    /**
     * @return the Homa level 0..7: from the PCP if tagged, else from the TOS class selector.
     */
    public int priority()
    {
        return priority;
    }

    /**
     * @return frames accepted so far.
     */
    public long acceptedCount()
    {
        return rejectCounts[FrameRejectReason.NONE.ordinal()];
    }

    /**
     * @param reason a reject reason.
     * @return frames rejected for it so far ({@link FrameRejectReason#NONE}: accepted).
     */
    public long rejectedCount(final FrameRejectReason reason)
    {
        return rejectCounts[reason.ordinal()];
    }

    /**
     * For drivers that receive the TCI out of band (a stripped tag in {@code PACKET_AUXDATA}).
     *
     * @param pcp the PCP.
     * @return the Homa level.
     */
    public static int pcpToPriority(final int pcp)
    {
        return PriorityMapping.pcpToLevel(pcp);
    }
}
