package dev.homa.nic;

import org.agrona.DirectBuffer;

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

    /**
     * @return how many leading bytes of a packet {@link #placePayload} needs to see; 0 (the default) for a sink that
     * never places payloads.
     */
    default int placementHeaderLength()
    {
        return 0;
    }

    /**
     * Asked by a driver that can read a large packet's bytes straight into memory of the sink's choosing (one copy,
     * the kernel's, instead of the kernel's into a pool packet and the sink's out of it), before it reads them:
     * where should they go? The sink appends the places, in order, to {@code into} ({@link
     * Packet#appendPayload}), then receives the packet as usual with {@link Packet#placedBytes()} set and only the
     * leading bytes in the packet itself. Only asked of a sink that {@link #releasesBeforeReturn() releases before
     * returning}, which then gets the packet at once.
     *
     * @param header       the packet's first {@code headerLength} bytes.
     * @param headerLength bytes of {@code header}: {@link #placementHeaderLength()}, or less if the packet is shorter.
     * @param packetLength the whole packet's length.
     * @param source       the sender.
     * @param into         the packet that will carry the leading bytes; append the places of the rest to it.
     * @return how many leading bytes go into the packet itself (the places then take exactly the rest), or -1 to
     * receive the whole packet into the packet as usual.
     */
    default int placePayload(
        final DirectBuffer header, final int headerLength, final int packetLength, final long source,
        final Packet into)
    {
        return -1;
    }

    /**
     * Asked by a driver that reads several large packets at once, before it knows what they are: where would the
     * payload of the {@code count}-th packet after this one go, were its sender to go on with the same message in
     * packets of this one's length? The driver points that packet's read at the places, then asks
     * {@link #placePayload} with the header that really came; only where both name the same places is the packet
     * handed over placed, and otherwise the driver moves its bytes back into the packet. So a place named here must
     * be memory that a packet landing there by a wrong guess may overwrite (nothing has been received there), and the
     * places named for different counts after the same packet must not overlap.
     *
     * @param header       the earlier packet's first {@code headerLength} bytes.
     * @param headerLength bytes of {@code header}: {@link #placementHeaderLength()}, or less if it was shorter.
     * @param packetLength the earlier packet's length.
     * @param source       its sender.
     * @param count        which packet after it: 1 for the next.
     * @param into         the packet that would carry the leading bytes; append the places of the rest to it.
     * @return how many leading bytes would go into the packet itself (the places then take at most the rest), or -1
     * for no guess.
     */
    default int placeFollowing(
        final DirectBuffer header, final int headerLength, final int packetLength, final long source,
        final int count, final Packet into)
    {
        return -1;
    }
}
