package dev.homa.nic.frame;

/**
 * Sizes of the frame a Homa packet wears on raw Ethernet, and the arithmetic drivers and the pacer need.
 * <pre>
 *  | Ethernet 14 | 802.1Q tag 4 | IPv4 20 | Homa header + payload ... |   (+ CRC 4 on the wire)
 *  ^ frame offset                          ^ frame offset + {@link #TAGGED_HEADER_LENGTH} (38)
 * </pre>
 * A driver keeps {@link #TAGGED_HEADER_LENGTH} bytes of headroom in front of every packet buffer so that
 * {@link HomaFrameWriter} can put the headers in place without copying the Homa bytes.
 */
public final class FrameLayout
{
    /** Ethernet II header: two MACs and the EtherType. */
    public static final int ETHERNET_HEADER_LENGTH = EthernetFlyweight.HEADER_LENGTH;
    /** 802.1Q tag: TPID and TCI. */
    public static final int VLAN_TAG_LENGTH = VlanTagFlyweight.TAG_LENGTH;
    /** IPv4 header without options. */
    public static final int IPV4_HEADER_LENGTH = Ipv4Flyweight.HEADER_LENGTH;
    /** IP protocol number of Homa. */
    public static final int IPPROTO_HOMA = Ipv4Flyweight.PROTOCOL_HOMA;
    /**
     * Wire bytes per frame beyond the IP packet, as the kernel's {@code HOMA_ETH_OVERHEAD}: 18 for the Ethernet
     * header with a VLAN tag, 24 for preamble and start delimiter (8), CRC (4) and inter-frame gap (12).
     */
    public static final int HOMA_ETH_OVERHEAD = 42;
    /** Headers written in front of the Homa bytes with a tag: 14 + 4 + 20 = 38. */
    public static final int TAGGED_HEADER_LENGTH = ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH + IPV4_HEADER_LENGTH;
    /** Headers written in front of the Homa bytes without a tag: 14 + 20 = 34. */
    public static final int UNTAGGED_HEADER_LENGTH = ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH;
    /**
     * Wire bytes per Homa packet beyond its own length, for {@code NicDriver.wireOverheadBytes()}: the IPv4 header
     * plus {@link #HOMA_ETH_OVERHEAD}, 62.
     */
    public static final int WIRE_OVERHEAD_BYTES = IPV4_HEADER_LENGTH + HOMA_ETH_OVERHEAD;
    /**
     * Smallest Ethernet frame without CRC. Every Homa packet (28 bytes or more) framed with the 34 or 38 header
     * bytes is longer, so no padding is ever needed.
     */
    public static final int MIN_FRAME_LENGTH = 60;

    private FrameLayout()
    {
    }

    /**
     * @param ipMtu the interface MTU (largest IP packet), e.g. 1500.
     * @return the largest Homa packet (header + payload) one frame carries: MTU less the IPv4 header.
     */
    public static int maxHomaPacketLength(final int ipMtu)
    {
        if (ipMtu <= IPV4_HEADER_LENGTH)
        {
            throw new IllegalArgumentException("MTU too small: " + ipMtu);
        }
        return ipMtu - IPV4_HEADER_LENGTH;
    }

    /**
     * @param homaLength Homa header + payload bytes.
     * @return bytes the frame occupies on the wire, overhead included.
     */
    public static int wireBytes(final int homaLength)
    {
        return homaLength + WIRE_OVERHEAD_BYTES;
    }
}
