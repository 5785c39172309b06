package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketDecoder;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.RejectReason;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.UnreachableNotice;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;

import java.nio.ByteOrder;
import java.util.function.IntFunction;

/**
 * The receive entry point: the {@link PacketSink} the driver is polled with. Validates every packet with the
 * {@link PacketDecoder} (bad input is counted and dropped, never thrown), finds the destination socket, and hands
 * the packet to the handler for its type; a packet for a port without a socket is answered as unreachable, and an
 * unreachable notice goes to {@link Unreachable}. The packet goes back to the driver whatever happens.
 */
final class PacketDispatcher implements PacketSink
{
    private final HomaHeaderFlyweight header = new HomaHeaderFlyweight();
    private final NicDriver driver;
    private final PacketDecoder decoder;
    private final HomaMetrics metrics;
    private final Int2ObjectHashMap<EngineSocket> sockets;
    private final IntFunction<EngineSocket> bindOpened;
    private final DataReceiver dataReceiver;
    private final ControlReceiver controlReceiver;
    private final AckManager ackManager;
    private final PeerTable peers;
    private final Unreachable unreachable;

    /**
     * @param driver          the NIC driver (packets are released to it).
     * @param decoder         validates packets.
     * @param metrics         counters.
     * @param sockets         the bound sockets by port.
     * @param bindOpened      binds a port the application opened whose BIND command is still on its way.
     * @param dataReceiver    handles DATA.
     * @param controlReceiver handles GRANT, RESEND, RPC_UNKNOWN, BUSY, CUTOFFS.
     * @param ackManager      handles NEED_ACK and ACK.
     * @param peers           learns that a host answered (peer-wide timeout).
     * @param unreachable     answers packets for closed ports, ends RPCs with hosts that say so.
     */
    PacketDispatcher(
        final NicDriver driver,
        final PacketDecoder decoder,
        final HomaMetrics metrics,
        final Int2ObjectHashMap<EngineSocket> sockets,
        final IntFunction<EngineSocket> bindOpened,
        final DataReceiver dataReceiver,
        final ControlReceiver controlReceiver,
        final AckManager ackManager,
        final PeerTable peers,
        final Unreachable unreachable)
    {
        this.unreachable = unreachable;
        this.peers = peers;
        this.driver = driver;
        this.decoder = decoder;
        this.metrics = metrics;
        this.sockets = sockets;
        this.bindOpened = bindOpened;
        this.dataReceiver = dataReceiver;
        this.controlReceiver = controlReceiver;
        this.ackManager = ackManager;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void onPacket(final Packet packet)
    {
        try
        {
            onValidPacket(packet);
        }
        finally
        {
            driver.release(packet);
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * The engine copies a DATA payload into its receive pool and reads control packets in place, so a driver may
     * lend it its receive memory.
     */
    @Override
    public boolean releasesBeforeReturn()
    {
        return true;
    }

    /**
     * {@inheritDoc}
     * <p>
     * The engine keeps its own time (one clock read per duty cycle) and reads no packet's receive time.
     */
    @Override
    public boolean needsTimestamps()
    {
        return false;
    }

    /**
     * {@inheritDoc}
     * <p>
     * The DATA header: enough to find the message the payload belongs to.
     */
    @Override
    public int placementHeaderLength()
    {
        return DataHeaderFlyweight.HEADER_LENGTH;
    }

    /**
     * {@inheritDoc}
     * <p>
     * A DATA packet's payload goes straight into its message's receive-pool pages, at its offset, when the message
     * is under way here (its pages taken by an earlier packet) and the range lies beyond the highest byte it has
     * received; the packet then comes with only its header and is handled as if whole. Anything else - another type,
     * a new message, a range below the highest byte (a duplicate, a gap, a forgery) - is received whole and handled
     * as usual.
     */
    @Override
    public int placePayload(
        final DirectBuffer header, final int headerLength, final int packetLength, final long source,
        final Packet into)
    {
        return place(header, headerLength, packetLength, source, 0, into);
    }

    /**
     * {@inheritDoc}
     * <p>
     * The same range of the same message, {@code count} packets further on, when that too lies beyond the highest
     * byte the message has received: the last packet of a message may be shorter, so the places then take its rest.
     */
    @Override
    public int placeFollowing(
        final DirectBuffer header, final int headerLength, final int packetLength, final long source,
        final int count, final Packet into)
    {
        return count > 0 ? place(header, headerLength, packetLength, source, count, into) : -1;
    }

    private int place(
        final DirectBuffer header, final int headerLength, final int packetLength, final long source,
        final int follow, final Packet into)
    {
        if (headerLength < DataHeaderFlyweight.HEADER_LENGTH || packetLength <= DataHeaderFlyweight.HEADER_LENGTH ||
            PacketType.DATA != HomaHeaderFlyweight.typeOf(header, 0))
        {
            return -1;
        }
        final EngineSocket socket = sockets.get(
            header.getShort(HomaHeaderFlyweight.DESTINATION_PORT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF);
        if (null == socket)
        {
            return -1;
        }
        return dataReceiver.placePayload(header, socket, source,
            header.getShort(HomaHeaderFlyweight.SOURCE_PORT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF,
            header.getLong(HomaHeaderFlyweight.SENDER_ID_OFFSET, ByteOrder.BIG_ENDIAN) ^ 1,
            packetLength - DataHeaderFlyweight.HEADER_LENGTH, follow, into) ? DataHeaderFlyweight.HEADER_LENGTH : -1;
    }

    private void onValidPacket(final Packet packet)
    {
        final MutableDirectBuffer buffer = packet.buffer();
        // A packet whose payload was placed is handled as a whole one: its length counts the placed bytes.
        final int placed = packet.placedBytes();
        final int length = packet.length() + placed;
        final RejectReason reason = decoder.validate(buffer, 0, length);
        if (RejectReason.NONE != reason)
        {
            metrics.increment(HomaMetrics.decoderDrop(reason.ordinal()));
            return;
        }
        final int type = HomaHeaderFlyweight.typeOf(buffer, 0);
        metrics.onPacketReceived(type, length, packet.priority());
        peers.onPacketFrom(packet.source());
        header.wrap(buffer, 0);
        final int sourcePort = header.sourcePort();
        if (PacketType.RPC_UNKNOWN == type && UnreachableNotice.isNotice(buffer, length))
        {
            // Whichever socket sent what was refused, every RPC with that host and port ends.
            unreachable.onNotice(packet.source(), sourcePort, UnreachableNotice.code(buffer));
            return;
        }
        EngineSocket socket = sockets.get(header.destinationPort());
        if (null == socket)
        {
            socket = bindOpened.apply(header.destinationPort());
        }
        final long localId = header.senderId() ^ 1;
        // A client-only socket has no server RPCs: anything for one is refused as for a closed port
        // (homa_dispatch_pkts), so unsolicited requests cannot pin RPCs and pages on a socket nobody serves.
        if (null == socket || (!socket.server && 0 != (localId & 1)))
        {
            metrics.increment(HomaMetrics.DROP_UNKNOWN_PORT);
            unreachable.answer(packet, sourcePort, header.destinationPort(), header.senderId());
            return;
        }
        final long source = packet.source();
        switch (type)
        {
            case PacketType.DATA -> dataReceiver.onData(buffer, length, placed, socket, source, sourcePort, localId);
            case PacketType.GRANT -> controlReceiver.onGrant(buffer, socket, source, sourcePort, localId);
            case PacketType.RESEND -> controlReceiver.onResend(buffer, socket, source, sourcePort, localId);
            case PacketType.RPC_UNKNOWN -> controlReceiver.onRpcUnknown(socket, source, sourcePort, localId);
            case PacketType.BUSY -> controlReceiver.onBusy(socket, source, sourcePort, localId);
            case PacketType.CUTOFFS -> controlReceiver.onCutoffs(buffer, source);
            case PacketType.NEED_ACK -> ackManager.onNeedAck(socket, source, sourcePort, localId);
            case PacketType.ACK -> ackManager.onAck(buffer, socket, source, localId);
            default ->
            {
                // FREEZE: debugging aid only, no protocol effect.
            }
        }
    }
}
