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
     * @param packet the packet; {@link Packet#source()}, {@link Packet#priority()} and, unless the sink said it
     *               needs none ({@link #needsTimestamps()}), {@link Packet#timestampNs()} are set.
     */
    void onPacket(Packet packet);

    /**
     * Whether the sink reads {@link Packet#timestampNs()}. A driver whose receive time costs a clock read (a system
     * clock read is a few tens of nanoseconds, on the path of every round trip) may skip it for a sink that says
     * no, and leave the timestamp at 0.
     *
     * @return true (the default) if packets must carry their receive time.
     */
    default boolean needsTimestamps()
    {
        return true;
    }

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
