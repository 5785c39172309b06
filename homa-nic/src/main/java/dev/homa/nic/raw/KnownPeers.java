package dev.homa.nic.raw;

import org.agrona.collections.IntHashSet;

/**
 * The hosts a raw Ethernet driver has received Homa from, to which it sends segmentation-offload frames.
 * <p>
 * An offload frame travels as TCP hijacked by Homa, and a host without Homa drops such a packet silently (its TCP
 * answers no RST), where it answers protocol 146 with ICMP "protocol unreachable", which ends an RPC to it at once.
 * So the first packets to a host go as protocol 146, and runs of DATA go as offload frames only once the host has
 * shown that it speaks Homa. The set has a fixed bound; a host beyond it is simply sent single frames (counted).
 * Single-threaded: the driver's.
 */
final class KnownPeers
{
    /** Hosts remembered at most. */
    static final int MAX_PEERS = 4096;

    private final IntHashSet peers = new IntHashSet(64);
    private final RawEthernetCounters counters;
    private int lastHeard;

    KnownPeers(final RawEthernetCounters counters)
    {
        this.counters = counters;
    }

    /**
     * Note a valid Homa packet from a host.
     *
     * @param ip its IPv4 address, network order.
     */
    void heard(final int ip)
    {
        if (ip == lastHeard)
        {
            return;
        }
        if (peers.size() < MAX_PEERS)
        {
            peers.add(ip);
            lastHeard = ip;
        }
        else if (!peers.contains(ip))
        {
            counters.knownPeersFull++;
        }
    }

    /**
     * @param ip an IPv4 address, network order.
     * @return true if Homa has been received from that host.
     */
    boolean contains(final int ip)
    {
        return peers.contains(ip);
    }
}
