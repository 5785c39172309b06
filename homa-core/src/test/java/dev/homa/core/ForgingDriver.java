package dev.homa.core;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.ResendFlyweight;
import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.agrona.MutableDirectBuffer;

import java.util.ArrayDeque;
import java.util.function.LongPredicate;

/**
 * Test driver around a host's real one: hands the host packets with any source address (forged: the fabric stamps a
 * sender's own address, an attacker on a real network writes whatever it likes) ahead of what the network brings,
 * and counts the Homa packets and bytes the host sends to the addresses a predicate picks (the forged ones), so a
 * test can state bytes out per byte in.
 */
final class ForgingDriver extends ForwardingNicDriver
{
    private final DataHeaderFlyweight data = new DataHeaderFlyweight();
    private final ResendFlyweight resend = new ResendFlyweight();
    private final HomaHeaderFlyweight header = new HomaHeaderFlyweight();
    private final ArrayDeque<Packet> injected = new ArrayDeque<>();
    private final LongPredicate counted;
    private final long[] packetsSentByType = new long[PacketType.ACK - PacketType.DATA + 1];
    long forgedPackets;
    long forgedBytes;
    long packetsOut;
    long bytesOut;

    /**
     * @param delegate the host's driver.
     * @param counted  which destinations' traffic to count.
     */
    ForgingDriver(final NicDriver delegate, final LongPredicate counted)
    {
        super(delegate);
        this.counted = counted;
    }

    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        if (counted.test(destination))
        {
            packetsOut++;
            bytesOut += packet.length();
            packetsSentByType[HomaHeaderFlyweight.typeOf(packet.buffer(), 0) - PacketType.DATA]++;
        }
        return delegate.send(packet, destination, priority);
    }

    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        int delivered = 0;
        Packet packet;
        while (delivered < limit && null != (packet = injected.poll()))
        {
            delivered++;
            sink.onPacket(packet);
        }
        return delivered + delegate.poll(sink, limit - delivered);
    }

    /**
     * @param type a packet type.
     * @return packets of that type sent to counted destinations.
     */
    long sent(final int type)
    {
        return packetsSentByType[type - PacketType.DATA];
    }

    /**
     * @return forged packets waiting to be polled.
     */
    int pending()
    {
        return injected.size();
    }

    /**
     * Forge a DATA packet.
     *
     * @param source        the address it claims to come from.
     * @param sourcePort    the port it claims.
     * @param destPort      the host's port.
     * @param senderId      the RPC id as the forger's side knows it.
     * @param messageLength the message length it announces.
     * @param incoming      the unscheduled bytes it claims.
     * @param offset        its payload's offset.
     * @param payload       payload bytes.
     */
    void data(
        final long source, final int sourcePort, final int destPort, final long senderId, final int messageLength,
        final int incoming, final int offset, final int payload)
    {
        final Packet packet = take();
        data.wrap(packet.buffer(), 0);
        data.initialize(PacketType.DATA, sourcePort, destPort, senderId);
        data.messageLength(messageLength);
        data.incoming(incoming);
        data.segmentOffset(offset);
        data.sequence(offset);
        inject(packet.length(DataHeaderFlyweight.HEADER_LENGTH + payload), source);
    }

    /**
     * Forge a RESEND.
     *
     * @param source     the address it claims to come from.
     * @param sourcePort the port it claims.
     * @param destPort   the host's port.
     * @param senderId   the RPC id as the forger's side knows it.
     * @param offset     first byte asked for.
     * @param length     bytes asked for.
     */
    void resend(
        final long source, final int sourcePort, final int destPort, final long senderId, final int offset,
        final int length)
    {
        final Packet packet = take();
        resend.wrap(packet.buffer(), 0);
        resend.initialize(PacketType.RESEND, sourcePort, destPort, senderId);
        resend.offset(offset);
        resend.length(length);
        resend.priority(7);
        inject(packet.length(ResendFlyweight.LENGTH), source);
    }

    /**
     * Forge a packet that is just the common header (NEED_ACK, BUSY, RPC_UNKNOWN).
     *
     * @param type       the packet type.
     * @param source     the address it claims to come from.
     * @param sourcePort the port it claims.
     * @param destPort   the host's port.
     * @param senderId   the RPC id as the forger's side knows it.
     */
    void control(final int type, final long source, final int sourcePort, final int destPort, final long senderId)
    {
        final Packet packet = take();
        header.wrap(packet.buffer(), 0);
        header.initialize(type, sourcePort, destPort, senderId);
        inject(packet.length(HomaHeaderFlyweight.COMMON_HEADER_LENGTH), source);
    }

    /**
     * Forge any packet.
     *
     * @param source the address it claims to come from.
     * @param length its length.
     * @param writer writes its bytes.
     */
    void packet(final long source, final int length, final java.util.function.Consumer<MutableDirectBuffer> writer)
    {
        final Packet packet = take();
        writer.accept(packet.buffer());
        inject(packet.length(length), source);
    }

    private Packet take()
    {
        final Packet packet = delegate.acquire();
        if (null == packet)
        {
            throw new IllegalStateException("the host's packet pool is empty: forge fewer packets at once");
        }
        return packet;
    }

    private void inject(final Packet packet, final long source)
    {
        packet.source(source).priority(7);
        forgedPackets++;
        forgedBytes += packet.length();
        injected.add(packet);
    }
}
