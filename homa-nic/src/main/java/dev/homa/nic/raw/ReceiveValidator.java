package dev.homa.nic.raw;

import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.FrameRejectReason;
import dev.homa.nic.frame.HomaFrameReader;
import dev.homa.nic.linux.LibC;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Decides whether a receive-ring frame is a Homa packet for this host, counting every drop in
 * {@link RawEthernetCounters}. The BPF filter has already passed only Homa (IPv4 protocol 146, or TCP with the
 * {@link dev.homa.nic.frame.TcpHijack} marks); what passes is checked again:
 * destination MAC and IP, header checksum, lengths, fragments, stacked VLAN tags, the VLAN id, and the source (the
 * martian, broadcast, multicast and own-address sources that the kernel's IP layer drops before any protocol sees
 * them, see {@link #isMartianSource}).
 * <p>
 * The kernel strips a received 802.1Q tag into metadata before taps see the frame; the PCP is read back from the
 * ring header's {@code tp_vlan_tci} when {@code TP_STATUS_VLAN_VALID} is set, and from the frame itself if a tag is
 * still inline. An untagged frame (a hop stripped the tag) still says its level in the writer's DSCP class selector.
 */
final class ReceiveValidator
{
    // The group bit: the least significant bit of a MAC's first octet (bit 40 of the low 48).
    private static final long MULTICAST_MAC_BIT = 1L << 40;

    private final ReceiveRing ring;
    private final RawEthernetCounters counters;
    private final HomaFrameReader frameReader = new HomaFrameReader();
    private final long localMac;
    private final int localIp;
    private final int broadcastIp;
    private final int maxPacketLength;
    private final int maxReceiveLength;
    private final int vlanId;
    private int priority;

    ReceiveValidator(final PacketSocket socket, final int vlanId, final RawEthernetCounters counters)
    {
        this.ring = socket.ring();
        this.counters = counters;
        this.localMac = socket.localMac();
        this.localIp = socket.localIp();
        this.broadcastIp = socket.broadcastIp();
        this.maxPacketLength = socket.maxPacketLength();
        this.maxReceiveLength = socket.maxReceiveLength();
        this.vlanId = vlanId;
    }

    /**
     * @return the reader holding the addresses and Homa bytes of the frame last validated.
     */
    HomaFrameReader frameReader()
    {
        return frameReader;
    }

    /**
     * @return the Homa level of the frame last validated.
     */
    int priority()
    {
        return priority;
    }

    /**
     * Validate one ring frame (counting a drop), leaving its addresses in the {@link #frameReader()} and its level
     * in {@link #priority()}.
     *
     * @param frame the ring frame.
     * @return true if it is a Homa packet for us.
     */
    boolean validate(final int frame)
    {
        final ReceiveRing ring = this.ring;
        final UnsafeBuffer buffer = ring.buffer();
        if (LibC.PACKET_OUTGOING == ring.packetType(frame))
        {
            counters.rxOutgoing++;
            return false;
        }
        final int snapLength = ring.snapLength(frame);
        if (snapLength < ring.wireLength(frame))
        {
            // Cut to the ring's frame: longer than any packet this driver takes.
            counters.rxTooLong++;
            return false;
        }
        if (snapLength != ring.wireLength(frame) ||
            snapLength < FrameLayout.ETHERNET_HEADER_LENGTH)
        {
            counters.rxMalformed++;
            return false;
        }
        final int mac = ring.macOffset(frame);
        if (localMac != EthernetFlyweight.macOf(buffer, mac))
        {
            counters.rxNotForUs++;
            return false;
        }
        final FrameRejectReason reason = frameReader.read(buffer, mac, snapLength);
        if (FrameRejectReason.NONE != reason)
        {
            switch (reason)
            {
                case NOT_IPV4 -> counters.rxWrongEtherType++;
                case NOT_HOMA -> counters.rxWrongProtocol++;
                case BAD_CHECKSUM -> counters.rxBadChecksum++;
                case STACKED_TAGS -> counters.rxStackedTags++;
                default -> counters.rxMalformed++;
            }
            return false;
        }
        if (localIp != frameReader.destinationIpv4())
        {
            counters.rxWrongAddress++;
            return false;
        }
        if (isMartianSource(frameReader.sourceIpv4(), localIp, broadcastIp) ||
            0 != (frameReader.sourceMac() & MULTICAST_MAC_BIT))
        {
            counters.rxMartianSource++;
            return false;
        }
        // Only a hijacked frame may be longer than a packet: it holds a run of DATA under one header, with each
        // packet's offset in sequence. A kernel's protocol-146 GSO batch carries a segment header per packet, which
        // veth would pass on whole too; it is not taken apart here.
        final int homaLength = frameReader.homaLength();
        if (homaLength > (frameReader.hijacked() ? maxReceiveLength : maxPacketLength))
        {
            counters.rxTooLong++;
            return false;
        }
        final int priority;
        final int vlanId;
        final int strippedTci = ring.strippedTci(frame);
        if (strippedTci >= 0 && frameReader.tagged())
        {
            // A second tag inside the one the kernel stripped (802.1ad / QinQ): not a frame of ours.
            counters.rxStackedTags++;
            return false;
        }
        if (strippedTci >= 0)
        {
            // The usual case: the kernel moved the tag into the ring header before the tap saw the frame.
            priority = HomaFrameReader.pcpToPriority(strippedTci >>> 13);
            vlanId = strippedTci & 0xFFF;
        }
        else if (frameReader.tagged())
        {
            priority = frameReader.priority();
            vlanId = frameReader.vlanId();
        }
        else
        {
            // No tag anywhere (a hop stripped it): the writer's DSCP class selector still says the level.
            priority = frameReader.priority();
            vlanId = 0;
        }
        if (vlanId != this.vlanId)
        {
            // Another VLAN on a trunk port: not ours even if the addresses match.
            counters.rxNotForUs++;
            return false;
        }
        if (strippedTci < 0 && !frameReader.tagged())
        {
            counters.rxUntagged++;
        }
        this.priority = priority;
        return true;
    }

    /**
     * Sources the kernel's IP layer would drop as martians before any protocol saw them (and which an answer would
     * turn into a broadcast, a multicast or a packet to ourselves): "this network" 0.0.0.0/8, loopback 127.0.0.0/8
     * on a device that is not itself on it, multicast 224.0.0.0/4, reserved 240.0.0.0/4 with the limited broadcast
     * 255.255.255.255, the interface's directed broadcast, and this host's own address.
     *
     * @param source      source IPv4 address, network order.
     * @param localIp     this host's address.
     * @param broadcastIp the interface's directed broadcast address, 0 if unknown.
     * @return true if a frame from that source must be dropped.
     */
    static boolean isMartianSource(final int source, final int localIp, final int broadcastIp)
    {
        final int firstOctet = source >>> 24;
        return 0 == firstOctet ||
            (127 == firstOctet && 127 != localIp >>> 24) ||
            (source >>> 28) >= 0xE ||
            source == localIp ||
            (0 != broadcastIp && source == broadcastIp);
    }
}
