package dev.homa.bench.sim;

import dev.homa.nic.loopback.Topology;

/**
 * The best time for a message between two hosts on an idle network, the denominator of every slowdown: its packets
 * back to back at the sender's link rate, then its last packet's way through the switches (store and forward).
 */
final class IdleTimes
{
    private final Topology topology;
    private final int payloadPerPacket;
    private final int packetOverhead;
    private final int responseBytes;

    /**
     * @param topology         the network.
     * @param payloadPerPacket message bytes in a full packet.
     * @param packetOverhead   bytes on the wire besides the payload, per packet.
     * @param responseBytes    length of every response.
     */
    IdleTimes(final Topology topology, final int payloadPerPacket, final int packetOverhead, final int responseBytes)
    {
        this.topology = topology;
        this.payloadPerPacket = payloadPerPacket;
        this.packetOverhead = packetOverhead;
        this.responseBytes = responseBytes;
    }

    /**
     * @param bytes    message length.
     * @param sameRack true within a rack.
     * @return picoseconds.
     */
    long idlePs(final int bytes, final boolean sameRack)
    {
        final int packets = Math.max(1, (bytes + payloadPerPacket - 1) / payloadPerPacket);
        final int lastPayload = bytes - (packets - 1) * payloadPerPacket;
        final long before = (long)(packets - 1) * (payloadPerPacket + packetOverhead);
        return transmitPs(before * 8L, topology.hostLinkBitsPerSecond()) +
            topology.idleFrameLatencyPs(lastPayload + packetOverhead, sameRack);
    }

    /**
     * @param sender   sending host.
     * @param receiver receiving host.
     * @return true if both are in one rack.
     */
    boolean sameRack(final int sender, final int receiver)
    {
        return topology.rackOf(sender) == topology.rackOf(receiver);
    }

    /**
     * @param elapsedNs completion time.
     * @param bytes     message length.
     * @param sender    sending host.
     * @param receiver  receiving host.
     * @return the completion time over the best time for that length between those hosts on an idle network.
     */
    double slowdown(final double elapsedNs, final int bytes, final int sender, final int receiver)
    {
        return elapsedNs * 1000.0 / idlePs(bytes, sameRack(sender, receiver));
    }

    /**
     * @param elapsedNs from the request's issue to its response's delivery.
     * @param bytes     request length.
     * @param client    client host.
     * @param server    server host.
     * @return the RPC's time over the best time for its request and then its response on an idle network.
     */
    double rpcSlowdown(final double elapsedNs, final int bytes, final int client, final int server)
    {
        final boolean sameRack = sameRack(client, server);
        return elapsedNs * 1000.0 / (idlePs(bytes, sameRack) + idlePs(responseBytes, sameRack));
    }

    /**
     * Time to put bits on a link, exact: bits x 10^12 overflows a long for messages over 1.15 MB.
     *
     * @param bits          bits to send.
     * @param bitsPerSecond link rate.
     * @return picoseconds, rounded down.
     */
    static long transmitPs(final long bits, final long bitsPerSecond)
    {
        final long microbits = bits * 1_000_000L;
        return microbits / bitsPerSecond * 1_000_000L + microbits % bitsPerSecond * 1_000_000L / bitsPerSecond;
    }
}
