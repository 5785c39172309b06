package dev.homa.nic.raw;

/**
 * What a {@link RawEthernetDriver} did, counted per reason rather than logged: every dropped frame lands in exactly
 * one counter. Written only by the driver's thread with plain stores; read them from that thread or after it
 * stops (a monitoring thread may see slightly old values, never torn ones on 64-bit JVMs).
 */
public final class RawEthernetCounters
{
    long txPackets;
    long txBytes;
    long txSyscalls;
    long txStagedHeaders;
    long txOffloadFrames;
    long knownPeersFull;
    long txOffloadStopped;
    long txUnresolved;
    long txHeld;
    long txPortUnreachable;
    long rxOtherDriverPort;
    long txDropped;
    long txErrors;
    int lastTxErrno;
    long resolutionErrors;
    int lastResolutionErrno;
    long rxPackets;
    long rxBytes;
    long rxBlocks;
    long rxOutgoing;
    long rxNotForUs;
    long rxWrongEtherType;
    long rxWrongProtocol;
    long rxWrongAddress;
    long rxBadChecksum;
    long rxMalformed;
    long rxTooLong;
    long rxUntagged;
    long rxMartianSource;
    long rxStackedTags;
    long ringDrops;
    long rxUnreachable;

    /**
     * @return Homa packets handed to the kernel.
     */
    public long txPackets()
    {
        return txPackets;
    }

    /**
     * @return frame bytes handed to the kernel (headers included, no PHY overhead).
     */
    public long txBytes()
    {
        return txBytes;
    }

    /**
     * @return frames that carried a run of DATA packets for the device's segmentation offload to cut apart (each
     *         of their packets also counts in {@link #txPackets()}).
     */
    public long txOffloadFrames()
    {
        return txOffloadFrames;
    }

    /**
     * @return 1 if segmentation offload was switched off while the driver ran, after the kernel refused offload
     *         frames several times in a row with none taken between (the device stopped segmenting).
     */
    public long txOffloadStopped()
    {
        return txOffloadStopped;
    }

    /**
     * @return Homa packets from a host the full set of known peers had no room for (it gets no offload frames).
     */
    public long knownPeersFull()
    {
        return knownPeersFull;
    }

    /**
     * @return sendmmsg calls made by flush.
     */
    public long txSyscalls()
    {
        return txSyscalls;
    }

    /**
     * @return sends whose header went to a staging buffer because the same packet was already queued in the batch.
     */
    public long txStagedHeaders()
    {
        return txStagedHeaders;
    }

    /**
     * @return packets dropped because the destination's MAC stayed unknown (the hold was full, or 3 s passed).
     */
    public long txUnresolved()
    {
        return txUnresolved;
    }

    /**
     * @return packets held while their destination's MAC was resolved (sent later unless also counted unresolved).
     */
    public long txHeld()
    {
        return txHeld;
    }

    /**
     * @return ICMP port unreachable messages sent for Homa packets to ports without a socket.
     */
    public long txPortUnreachable()
    {
        return txPortUnreachable;
    }

    /**
     * @return Homa packets for a port another driver on the interface claimed, which reached this one while the
     *         receive filters changed: dropped without an answer (see {@link PortTable}).
     */
    public long rxOtherDriverPort()
    {
        return rxOtherDriverPort;
    }

    /**
     * @return ICMP unreachable messages quoting our packets, delivered to the sink as notices.
     */
    public long rxUnreachable()
    {
        return rxUnreachable;
    }

    /**
     * @return packets dropped at flush: refused by the device (ENOBUFS; for veth, the peer's backlog was full) or
     * not taken because the socket's send buffer stayed full (EAGAIN) through the retries.
     */
    public long txDropped()
    {
        return txDropped;
    }

    /**
     * @return packets the kernel refused with another error; see {@link #lastTxErrno()}.
     */
    public long txErrors()
    {
        return txErrors;
    }

    /**
     * @return errno of the last refused packet, 0 if none.
     */
    public int lastTxErrno()
    {
        return lastTxErrno;
    }

    /**
     * @return requests to the kernel to resolve a neighbour that it refused; see {@link #lastResolutionErrno()}.
     */
    public long resolutionErrors()
    {
        return resolutionErrors;
    }

    /**
     * @return errno of the last refused resolution request (EPERM: CAP_NET_ADMIN missing), 0 if none.
     */
    public int lastResolutionErrno()
    {
        return lastResolutionErrno;
    }

    /**
     * @return Homa packets delivered to the sink.
     */
    public long rxPackets()
    {
        return rxPackets;
    }

    /**
     * @return Homa bytes delivered to the sink.
     */
    public long rxBytes()
    {
        return rxBytes;
    }

    /**
     * @return ring blocks consumed and handed back to the kernel.
     */
    public long rxBlocks()
    {
        return rxBlocks;
    }

    /**
     * @return frames we sent ourselves seen again by the tap (dropped).
     */
    public long rxOutgoing()
    {
        return rxOutgoing;
    }

    /**
     * @return frames whose destination MAC is not ours (broadcast, multicast, another host; dropped).
     */
    public long rxNotForUs()
    {
        return rxNotForUs;
    }

    /**
     * @return frames that are not IPv4 (dropped).
     */
    public long rxWrongEtherType()
    {
        return rxWrongEtherType;
    }

    /**
     * @return IPv4 frames that are not protocol 146 (dropped).
     */
    public long rxWrongProtocol()
    {
        return rxWrongProtocol;
    }

    /**
     * @return Homa frames for another IPv4 address (dropped).
     */
    public long rxWrongAddress()
    {
        return rxWrongAddress;
    }

    /**
     * @return frames whose IPv4 header checksum is wrong (dropped).
     */
    public long rxBadChecksum()
    {
        return rxBadChecksum;
    }

    /**
     * @return frames with a bad IPv4 version, header length, total length, fragment bits or truncated capture.
     */
    public long rxMalformed()
    {
        return rxMalformed;
    }

    /**
     * @return frames longer than this driver takes (the MTU's packets, or on a veth device 64 KiB segmentation-offload
     *         frames), cut short by the ring or announcing more (dropped).
     */
    public long rxTooLong()
    {
        return rxTooLong;
    }

    /**
     * @return accepted frames that carried no 802.1Q tag (delivered with priority -1).
     */
    public long rxUntagged()
    {
        return rxUntagged;
    }

    /**
     * @return frames from a source the IP layer would drop as a martian (0.0.0.0/8, loopback, multicast, reserved
     * or broadcast addresses, this host's own address, a multicast source MAC): never answered, which would turn
     * one forged frame into a broadcast or a packet to ourselves.
     */
    public long rxMartianSource()
    {
        return rxMartianSource;
    }

    /**
     * @return frames with more than one VLAN tag (802.1ad, QinQ), dropped.
     */
    public long rxStackedTags()
    {
        return rxStackedTags;
    }

    /**
     * @return frames the kernel dropped because the receive ring was full (PACKET_STATISTICS), as of the last
     * {@link RawEthernetDriver#counters()} call.
     */
    public long ringDrops()
    {
        return ringDrops;
    }

    static final String[] NAMES = {
        "tx_packets", "tx_bytes", "tx_syscalls", "tx_unresolved", "tx_dropped", "tx_errors", "resolution_errors",
        "rx_packets", "rx_bytes", "rx_not_for_us", "rx_wrong_ether_type", "rx_wrong_protocol", "rx_wrong_address",
        "rx_bad_checksum", "rx_malformed", "rx_too_long", "rx_untagged", "rx_martian_source", "rx_stacked_tags",
        "ring_drops", "tx_offload_frames", "known_peers_full", "tx_offload_stopped",
        "rx_other_driver_port" };

    /**
     * @param index 0 .. {@link #NAMES} length - 1.
     * @return the counter of that name.
     */
    long value(final int index)
    {
        return switch (index)
        {
            case 0 -> txPackets;
            case 1 -> txBytes;
            case 2 -> txSyscalls;
            case 3 -> txUnresolved;
            case 4 -> txDropped;
            case 5 -> txErrors;
            case 6 -> resolutionErrors;
            case 7 -> rxPackets;
            case 8 -> rxBytes;
            case 9 -> rxNotForUs;
            case 10 -> rxWrongEtherType;
            case 11 -> rxWrongProtocol;
            case 12 -> rxWrongAddress;
            case 13 -> rxBadChecksum;
            case 14 -> rxMalformed;
            case 15 -> rxTooLong;
            case 16 -> rxUntagged;
            case 17 -> rxMartianSource;
            case 18 -> rxStackedTags;
            case 19 -> ringDrops;
            case 20 -> txOffloadFrames;
            case 21 -> knownPeersFull;
            case 22 -> txOffloadStopped;
            case 23 -> rxOtherDriverPort;
            default -> throw new IndexOutOfBoundsException("counter " + index + " of " + NAMES.length);
        };
    }

    @Override
    public String toString()
    {
        return "RawEthernetCounters{txPackets=" + txPackets + ", txBytes=" + txBytes + ", txSyscalls=" + txSyscalls +
            ", txStagedHeaders=" + txStagedHeaders + ", txOffloadFrames=" + txOffloadFrames +
            ", knownPeersFull=" + knownPeersFull + ", txOffloadStopped=" + txOffloadStopped +
            ", txUnresolved=" + txUnresolved + ", txHeld=" + txHeld + ", txPortUnreachable=" + txPortUnreachable +
            ", rxOtherDriverPort=" + rxOtherDriverPort +
            ", txDropped=" + txDropped +
            ", txErrors=" + txErrors + ", lastTxErrno=" + lastTxErrno + ", resolutionErrors=" + resolutionErrors +
            ", lastResolutionErrno=" + lastResolutionErrno + ", rxPackets=" + rxPackets +
            ", rxBytes=" + rxBytes + ", rxBlocks=" + rxBlocks + ", rxOutgoing=" + rxOutgoing +
            ", rxNotForUs=" + rxNotForUs + ", rxWrongEtherType=" + rxWrongEtherType +
            ", rxWrongProtocol=" + rxWrongProtocol + ", rxWrongAddress=" + rxWrongAddress +
            ", rxBadChecksum=" + rxBadChecksum + ", rxMalformed=" + rxMalformed + ", rxTooLong=" + rxTooLong +
            ", rxUntagged=" + rxUntagged + ", rxMartianSource=" + rxMartianSource +
            ", rxStackedTags=" + rxStackedTags + ", rxUnreachable=" + rxUnreachable + ", ringDrops=" + ringDrops + '}';
    }
}
