package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.Packet;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Writes DATA packets: the header of one outbound message's segment, every field as a current kernel sets it
 * (incoming, the offset's place, the peer's cutoff version, one of the peer's pending acks) and the payload copied
 * out of the send pool, then hands the packet to the {@link PacketTransmitter}.
 * <p>
 * It also decides a DATA packet's level ({@link #priorityFor}), since that choice must agree with the cutoff
 * version the same packet carries.
 */
final class DataSender
{
    /**
     * Payloads from this size up go from the message's pool pages to the wire without a copy where the driver
     * gathers; below it a copy costs less than the kernel's handling of one more iovec.
     */
    static final int GATHER_MIN_BYTES = 1024;

    private final DataHeaderFlyweight data = new DataHeaderFlyweight();
    private final UnsafeBuffer lent = new UnsafeBuffer(0, 0);
    private final PacketTransmitter transmitter;
    private final HomaMetrics metrics;
    private final boolean gather;

    /**
     * @param transmitter the batching transmitter.
     * @param metrics     counters.
     * @param gather      the driver gathers payload from pool memory ({@link
     *                    dev.homa.nic.NicDriver#gathersPayload()}).
     */
    DataSender(final PacketTransmitter transmitter, final HomaMetrics metrics, final boolean gather)
    {
        this.transmitter = transmitter;
        this.metrics = metrics;
        this.gather = gather;
    }

    /**
     * Send one segment of the RPC's outbound message for the first time, with the header a current kernel builds for
     * it (homa_tx_data_pkt_alloc): incoming is the message's unscheduled bytes, the offset is in sequence and
     * seg.offset is -1.
     *
     * @param rpc        the RPC whose outbound message is sent.
     * @param offset     of the segment in the message.
     * @param byteLength payload bytes.
     * @param priority   level.
     * @return false if the driver had no room (the caller retries later).
     */
    boolean sendData(final Rpc rpc, final int offset, final int byteLength, final int priority)
    {
        return send(rpc, offset, byteLength, -1, priority);
    }

    /**
     * Send one segment again, as homa_resend_data writes it: flagged retransmit, the offset in both sequence and
     * seg.offset, incoming the end of the range being retransmitted.
     *
     * @param rpc        the RPC whose outbound message is sent.
     * @param offset     of the segment in the message.
     * @param byteLength payload bytes.
     * @param rangeEnd   end (exclusive) of the range this segment is retransmitted for.
     * @param priority   level.
     * @return false if the driver had no room (the caller retries later).
     */
    boolean resendData(
        final Rpc rpc, final int offset, final int byteLength, final int rangeEnd, final int priority)
    {
        return send(rpc, offset, byteLength, rangeEnd, priority);
    }

    private boolean send(
        final Rpc rpc, final int offset, final int byteLength, final int rangeEnd, final int priority)
    {
        final Packet packet = transmitter.acquire();
        if (null == packet)
        {
            return false;
        }
        final boolean retransmit = rangeEnd >= 0;
        final OutboundMessage out = rpc.out;
        final MutableDirectBuffer buffer = packet.buffer();
        data.wrap(buffer, 0);
        data.initialize(PacketType.DATA, rpc.socket.port, rpc.peerPort, rpc.id);
        if (rpc.client && rpc.incast)
        {
            data.flags(HomaHeaderFlyweight.HIJACK_FLAGS | HomaHeaderFlyweight.FLAG_INCAST);
        }
        data.messageLength(out.length);
        data.incoming(retransmit ? rangeEnd : out.unscheduled);
        final Peer peer = rpc.peer;
        if (0 != peer.ackCount)
        {
            // Any DATA to the host carries one of its pending acks, whichever of our sockets sends it
            // (homa_peer_get_acks).
            final int last = --peer.ackCount;
            data.ackClientId(peer.ackIds[last]);
            data.ackServerPort(peer.ackServerPorts[last]);
        }
        data.cutoffVersion(peer.cutoffs.version());
        if (retransmit)
        {
            data.retransmit(true);
            data.segmentOffset(offset);
            metrics.increment(HomaMetrics.RETRANSMITTED_PACKETS);
        }
        else
        {
            data.offsetInSequence(offset);
        }
        final PagePool pool = out.pool;
        if (gather && byteLength >= GATHER_MIN_BYTES && (null == pool ?
            packet.appendPayload(out.lentAddress + offset, byteLength) :
            pool.appendTo(out.pages, offset, byteLength, packet)))
        {
            packet.length(DataHeaderFlyweight.HEADER_LENGTH);
        }
        else
        {
            packet.clearPayload();
            if (null == pool)
            {
                lent.wrap(out.lentAddress + offset, byteLength);
                buffer.putBytes(DataHeaderFlyweight.HEADER_LENGTH, lent, 0, byteLength);
            }
            else
            {
                pool.read(out.pages, offset, buffer, DataHeaderFlyweight.HEADER_LENGTH, byteLength);
            }
            packet.length(DataHeaderFlyweight.HEADER_LENGTH + byteLength);
        }
        return transmitter.transmit(packet, rpc.peerAddress, priority, PacketType.DATA);
    }

    /**
     * The level for a DATA packet at {@code offset}: scheduled bytes go at the latest GRANT's priority; unscheduled
     * bytes at the level the peer's cutoffs give for the message length <em>now</em>, as the kernel decides per
     * packet, so the level always agrees with the cutoff_version the same packet carries.
     *
     * @param out    the message.
     * @param offset of the packet in the message.
     * @return the level.
     */
    int priorityFor(final OutboundMessage out, final int offset)
    {
        return offset < out.unscheduled ?
            transmitter.clampPriority(out.rpc.peer.cutoffs.unscheduledPriorityFor(out.length)) :
            out.scheduledPriority;
    }
}
