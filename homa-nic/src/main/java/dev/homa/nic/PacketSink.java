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
}
