package dev.homa.nic.frame;

import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Writes the Ethernet, 802.1Q and IPv4 headers in front of Homa bytes that are already in place, so that a raw
 * Ethernet driver frames a packet without copying it. Allocation-free and stateless per call; one instance per
 * driver holds the configuration.
 * <pre>
 *  frameOffset                                            frameOffset + 38
 *  | dst MAC | src MAC | 0x8100 | TCI | 0x0800 | IPv4 (20) | Homa bytes (homaLength) ... |
 * </pre>
 * The tag carries the Homa level as PCP ({@link PriorityMapping#levelToPcp(int)}); the IPv4 TOS byte carries it as
 * well, as a DSCP class selector ({@link PriorityMapping#levelToTos(int)}), unless disabled, so that the priority
 * survives a router or a NIC that strips the tag on receive. The IPv4 header has protocol 146, don't-fragment set
 * (Homa sizes packets to the MTU and must never be fragmented), the configured TTL and a valid checksum.
 * <p>
 * Typical use in a driver whose pool slots keep {@link FrameLayout#TAGGED_HEADER_LENGTH} bytes of headroom, the
 * {@code Packet} buffer starting right after it:
 * <pre>{@code
 *  final int headerLength = writer.writeHeaders(
 *      slot, 0, dstMac, srcMac, srcIp, dstIp, packet.length(), priority, ipId++);
 *  // transmit slot bytes [0, headerLength + packet.length())
 * }</pre>
 */
public final class HomaFrameWriter
{
    /** Largest Homa packet an IPv4 total length can describe. */
    public static final int MAX_HOMA_LENGTH = 0xFFFF - FrameLayout.IPV4_HEADER_LENGTH;

    private static final int VERSION_IHL = (Ipv4Flyweight.VERSION << 4) | (Ipv4Flyweight.HEADER_LENGTH >>> 2);
    private static final int TAG_OFFSET = EthernetFlyweight.ETHER_TYPE_OFFSET;

    private final int vlanId;
    private final int ttl;
    private final boolean markTos;

    /**
     * Priority tags (VID 0), TTL 64, TOS marked.
     */
    public HomaFrameWriter()
    {
        this(0, Ipv4Flyweight.DEFAULT_TTL, true);
    }

    /**
     * @param vlanId  VID to put in the tag, 0..4094; 0 is a priority tag on the native VLAN.
     * @param ttl     IPv4 time to live, 1..255.
     * @param markTos true to carry the level in the IPv4 TOS byte too; false leaves TOS 0.
     */
    public HomaFrameWriter(final int vlanId, final int ttl, final boolean markTos)
    {
        if (vlanId < 0 || vlanId >= VlanTagFlyweight.MAX_VID)
        {
            throw new IllegalArgumentException("VLAN id out of range 0..4094: " + vlanId);
        }
        if (ttl < 1 || ttl > 255)
        {
            throw new IllegalArgumentException("TTL out of range 1..255: " + ttl);
        }
        this.vlanId = vlanId;
        this.ttl = ttl;
        this.markTos = markTos;
    }

    /**
     * @return the VID written into tags.
     */
    public int vlanId()
    {
        return vlanId;
    }

    /**
     * @return the IPv4 TTL written.
     */
    public int ttl()
    {
        return ttl;
    }

    /**
     * @return true if the level is also written into the IPv4 TOS byte.
     */
    public boolean markTos()
    {
        return markTos;
    }

    /**
     * Write Ethernet + 802.1Q + IPv4 headers; the Homa bytes must be (or will be) at
     * {@code frameOffset + }{@link FrameLayout#TAGGED_HEADER_LENGTH}.
     *
     * @param frame       buffer holding the frame.
     * @param frameOffset where the frame starts (the destination MAC).
     * @param dstMac      destination MAC, low 48 bits.
     * @param srcMac      source MAC, low 48 bits.
     * @param srcIp       source IPv4 address, network order.
     * @param dstIp       destination IPv4 address, network order.
     * @param homaLength  Homa header + payload bytes, 0..{@link #MAX_HOMA_LENGTH}.
     * @param priority    Homa level 0..7.
     * @param ipId        IPv4 identification; only the low 16 bits are used.
     * @return the header length, {@link FrameLayout#TAGGED_HEADER_LENGTH} (38).
     * @throws IllegalArgumentException if homaLength or priority is out of range.
     */
    public int writeHeaders(
        final MutableDirectBuffer frame,
        final int frameOffset,
        final long dstMac,
        final long srcMac,
        final int srcIp,
        final int dstIp,
        final int homaLength,
        final int priority,
        final int ipId)
    {
        return writeHeaders(frame, frameOffset, dstMac, srcMac, srcIp, dstIp, homaLength, priority, ipId,
            Ipv4Flyweight.PROTOCOL_HOMA);
    }

    /**
     * As {@link #writeHeaders(MutableDirectBuffer, int, long, long, int, int, int, int, int)}, with the IPv4 protocol
     * given: {@link Ipv4Flyweight#PROTOCOL_HOMA}, or {@link TcpHijack#IPPROTO_TCP} for a hijacked packet.
     *
     * @param protocol IPv4 protocol number; the other parameters as there.
     * @return the header length, {@link FrameLayout#TAGGED_HEADER_LENGTH} (38).
     */
    public int writeHeaders(
        final MutableDirectBuffer frame,
        final int frameOffset,
        final long dstMac,
        final long srcMac,
        final int srcIp,
        final int dstIp,
        final int homaLength,
        final int priority,
        final int ipId,
        final int protocol)
    {
        final int pcp = PriorityMapping.levelToPcp(priority);
        checkLength(homaLength);
        EthernetFlyweight.putMac(frame, frameOffset + EthernetFlyweight.DESTINATION_MAC_OFFSET, dstMac);
        EthernetFlyweight.putMac(frame, frameOffset + EthernetFlyweight.SOURCE_MAC_OFFSET, srcMac);
        final int tagOffset = frameOffset + TAG_OFFSET;
        frame.putShort(tagOffset + VlanTagFlyweight.TPID_OFFSET, (short)VlanTagFlyweight.TPID_8021Q, BIG_ENDIAN);
        frame.putShort(tagOffset + VlanTagFlyweight.TCI_OFFSET, (short)VlanTagFlyweight.tci(pcp, false, vlanId),
            BIG_ENDIAN);
        frame.putShort(
            tagOffset + VlanTagFlyweight.INNER_ETHER_TYPE_OFFSET, (short)EthernetFlyweight.ETHER_TYPE_IPV4, BIG_ENDIAN);
        writeIpv4(frame, frameOffset + FrameLayout.ETHERNET_HEADER_LENGTH + FrameLayout.VLAN_TAG_LENGTH,
            srcIp, dstIp, homaLength, priority, ipId, protocol);
        return FrameLayout.TAGGED_HEADER_LENGTH;
    }

    /**
     * Write Ethernet + IPv4 headers without a tag (priority only in the TOS byte, if marked); the Homa bytes must
     * be at {@code frameOffset + }{@link FrameLayout#UNTAGGED_HEADER_LENGTH}. For links where tags are not wanted
     * and for captures of packets whose priority is unknown.
     *
     * @param frame       buffer holding the frame.
     * @param frameOffset where the frame starts.
     * @param dstMac      destination MAC, low 48 bits.
     * @param srcMac      source MAC, low 48 bits.
     * @param srcIp       source IPv4 address, network order.
     * @param dstIp       destination IPv4 address, network order.
     * @param homaLength  Homa header + payload bytes, 0..{@link #MAX_HOMA_LENGTH}.
     * @param priority    Homa level 0..7 for the TOS byte, or -1 for TOS 0.
     * @param ipId        IPv4 identification; only the low 16 bits are used.
     * @return the header length, {@link FrameLayout#UNTAGGED_HEADER_LENGTH} (34).
     * @throws IllegalArgumentException if homaLength or priority is out of range.
     */
    public int writeUntaggedHeaders(
        final MutableDirectBuffer frame,
        final int frameOffset,
        final long dstMac,
        final long srcMac,
        final int srcIp,
        final int dstIp,
        final int homaLength,
        final int priority,
        final int ipId)
    {
        return writeUntaggedHeaders(frame, frameOffset, dstMac, srcMac, srcIp, dstIp, homaLength, priority, ipId,
            Ipv4Flyweight.PROTOCOL_HOMA);
    }

    /**
     * As {@link #writeUntaggedHeaders(MutableDirectBuffer, int, long, long, int, int, int, int, int)}, with the IPv4
     * protocol given: {@link Ipv4Flyweight#PROTOCOL_HOMA}, or {@link TcpHijack#IPPROTO_TCP} for a hijacked packet.
     *
     * @param protocol IPv4 protocol number; the other parameters as there.
     * @return the header length, {@link FrameLayout#UNTAGGED_HEADER_LENGTH} (34).
     */
    public int writeUntaggedHeaders(
        final MutableDirectBuffer frame,
        final int frameOffset,
        final long dstMac,
        final long srcMac,
        final int srcIp,
        final int dstIp,
        final int homaLength,
        final int priority,
        final int ipId,
        final int protocol)
    {
        if (priority < -1 || priority > PriorityMapping.MAX_LEVEL)
        {
            throw new IllegalArgumentException("Homa priority level out of range -1..7: " + priority);
        }
        checkLength(homaLength);
        EthernetFlyweight.putMac(frame, frameOffset + EthernetFlyweight.DESTINATION_MAC_OFFSET, dstMac);
        EthernetFlyweight.putMac(frame, frameOffset + EthernetFlyweight.SOURCE_MAC_OFFSET, srcMac);
        frame.putShort(frameOffset + EthernetFlyweight.ETHER_TYPE_OFFSET, (short)EthernetFlyweight.ETHER_TYPE_IPV4,
            BIG_ENDIAN);
        writeIpv4(frame, frameOffset + FrameLayout.ETHERNET_HEADER_LENGTH, srcIp, dstIp, homaLength, priority, ipId,
            protocol);
        return FrameLayout.UNTAGGED_HEADER_LENGTH;
    }

    private void writeIpv4(
        final MutableDirectBuffer frame,
        final int ipOffset,
        final int srcIp,
        final int dstIp,
        final int homaLength,
        final int priority,
        final int ipId,
        final int protocol)
    {
        final int tos = markTos && priority >= 0 ? PriorityMapping.levelToTos(priority) : 0;
        frame.putByte(ipOffset + Ipv4Flyweight.VERSION_IHL_OFFSET, (byte)VERSION_IHL);
        frame.putByte(ipOffset + Ipv4Flyweight.TOS_OFFSET, (byte)tos);
        frame.putShort(ipOffset + Ipv4Flyweight.TOTAL_LENGTH_OFFSET,
            (short)(FrameLayout.IPV4_HEADER_LENGTH + homaLength), BIG_ENDIAN);
        frame.putShort(ipOffset + Ipv4Flyweight.IDENTIFICATION_OFFSET, (short)ipId, BIG_ENDIAN);
        frame.putShort(ipOffset + Ipv4Flyweight.FLAGS_FRAGMENT_OFFSET, (short)Ipv4Flyweight.FLAG_DONT_FRAGMENT,
            BIG_ENDIAN);
        frame.putByte(ipOffset + Ipv4Flyweight.TTL_OFFSET, (byte)ttl);
        frame.putByte(ipOffset + Ipv4Flyweight.PROTOCOL_OFFSET, (byte)protocol);
        frame.putShort(ipOffset + Ipv4Flyweight.HEADER_CHECKSUM_OFFSET, (short)0, BIG_ENDIAN);
        frame.putInt(ipOffset + Ipv4Flyweight.SOURCE_ADDRESS_OFFSET, srcIp, BIG_ENDIAN);
        frame.putInt(ipOffset + Ipv4Flyweight.DESTINATION_ADDRESS_OFFSET, dstIp, BIG_ENDIAN);
        final int checksum = Ipv4Flyweight.checksum(frame, ipOffset, FrameLayout.IPV4_HEADER_LENGTH);
        frame.putShort(ipOffset + Ipv4Flyweight.HEADER_CHECKSUM_OFFSET, (short)checksum, BIG_ENDIAN);
    }

    private static void checkLength(final int homaLength)
    {
        if (homaLength < 0 || homaLength > MAX_HOMA_LENGTH)
        {
            throw new IllegalArgumentException("Homa length out of range 0.." + MAX_HOMA_LENGTH + ": " + homaLength);
        }
    }
}
