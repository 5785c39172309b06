package dev.homa.nic;

/**
 * Receives a burst of packets from {@link NicDriver#poll(PacketSink, int)}, in arrival order.
 */
@FunctionalInterface
public interface PacketSink
{
    /**
     * One received packet. The sink owns it from now on and must eventually call {@link NicDriver#release(Packet)},
     * typically right after copying what it needs, so that the driver's pool does not run dry.
     *
     * @param packet the packet; {@link Packet#source()}, {@link Packet#priority()} and {@link Packet#timestampNs()}
     *               are set.
     */
    void onPacket(Packet packet);

    /**
     * Whether {@link #onPacket(Packet)} always releases its packet before it returns, and in between only reads
     * it: never keeps it, hands it to another thread or sends it. A driver may then lend such a sink a view of its
     * own receive memory (a ring frame) instead of copying the packet into a pool packet first. A sink that
     * answers true must hold to it for every packet.
     *
     * @return true if every packet is released inside {@code onPacket}; false (the default) if it may live on.
     */
    default boolean releasesBeforeReturn()
    {
        return false;
    }
}
