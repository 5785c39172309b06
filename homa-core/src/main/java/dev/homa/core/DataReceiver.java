package dev.homa.core;

import dev.homa.core.grant.GrantScheduler;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.priority.CutoffCalculator;
import dev.homa.core.priority.Cutoffs;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.RejectReason;
import dev.homa.nic.Packet;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.CachedNanoClock;

import java.nio.ByteOrder;

/**
 * Receives DATA: finds or creates the RPC (a server RPC is born with the first packet that names it, unless a limit
 * is reached: the server RPC table, the peer table, or the requests of one peer still being received), takes the
 * piggybacked ack, places the payload by offset into the
 * message's receive-pool pages, tracks the message in the grant scheduler, tells a sender with stale cutoffs our
 * current ones, and completes the message: a response ends its client RPC, a request goes to the application.
 */
final class DataReceiver
{

    private final DataHeaderFlyweight data = new DataHeaderFlyweight();
    private final RpcTable rpcs;
    private final AckManager ackManager;
    private final PeerTable peers;
    private final GrantScheduler scheduler;
    private final ControlSender controlSender;
    private final InboundAllocator allocator;
    private final MessageDelivery delivery;
    private final CutoffCalculator calculator;
    private final SrptQueue srpt;
    private final Cutoffs localCutoffs;
    private final PagePool receivePool;
    private final HomaMetrics metrics;
    private final CachedNanoClock clock;
    private final int maxServerRpcs;
    private final int maxIncomingRequestsPerPeer;
    private final long tickNs;
    private long births;

    /**
     * @param rpcs          the live RPCs.
     * @param ackManager    applies piggybacked acks, remembers completed client RPCs.
     * @param peers         the peer table.
     * @param scheduler     the grant scheduler.
     * @param controlSender sends grants and CUTOFFS.
     * @param allocator     takes receive-pool pages.
     * @param delivery      hands complete messages to the application.
     * @param calculator    learns message sizes for the cutoffs.
     * @param srpt          the SRPT queue (a request stops once response bytes arrive).
     * @param localCutoffs  this host's unscheduled cutoffs.
     * @param receivePool   where inbound messages are placed.
     * @param metrics       counters.
     * @param clock         the duty cycle's cached time.
     * @param maxServerRpcs limit on live server RPCs.
     * @param maxIncomingRequestsPerPeer limit on one peer's requests still being received.
     * @param tickNs        the timer period (at most one CUTOFFS per peer per tick).
     */
    DataReceiver(
        final RpcTable rpcs,
        final AckManager ackManager,
        final PeerTable peers,
        final GrantScheduler scheduler,
        final ControlSender controlSender,
        final InboundAllocator allocator,
        final MessageDelivery delivery,
        final CutoffCalculator calculator,
        final SrptQueue srpt,
        final Cutoffs localCutoffs,
        final PagePool receivePool,
        final HomaMetrics metrics,
        final CachedNanoClock clock,
        final int maxServerRpcs,
        final int maxIncomingRequestsPerPeer,
        final long tickNs)
    {
        this.rpcs = rpcs;
        this.ackManager = ackManager;
        this.peers = peers;
        this.scheduler = scheduler;
        this.controlSender = controlSender;
        this.allocator = allocator;
        this.delivery = delivery;
        this.calculator = calculator;
        this.srpt = srpt;
        this.localCutoffs = localCutoffs;
        this.receivePool = receivePool;
        this.metrics = metrics;
        this.clock = clock;
        this.maxServerRpcs = maxServerRpcs;
        this.maxIncomingRequestsPerPeer = maxIncomingRequestsPerPeer;
        this.tickNs = tickNs;
    }

    /**
     * Where the payload of a DATA packet still in the driver goes ({@link PacketDispatcher#placePayload}): its
     * message's receive-pool bytes at its offset, if the message is being received here, its pages taken, and the
     * range inside it lies wholly beyond the highest byte received. The packet itself then comes through
     * {@link #onData} with its payload in place. Nothing changes here, and a packet that {@code onData} then refuses
     * has only written bytes not yet counted as received, which the message's own packet overwrites; so has a packet
     * a driver read into a guess for a later one ({@code follow}), before it moved the bytes back. A packet that
     * reaches below the highest byte (a duplicate, a retransmission filling a gap, or a forged copy of a range
     * already received with other bytes) is received whole, and {@code onData} copies only the bytes still missing:
     * no packet writes over what a message has already received.
     *
     * @param header     the packet's DATA header.
     * @param socket     our socket.
     * @param source     peer host.
     * @param sourcePort peer port.
     * @param localId    our RPC id.
     * @param payload    payload bytes the packet carries.
     * @param follow     0 for this packet; n for the n-th after it, were the sender to go on with the message in
     *                   packets of this payload, the last one taking the message's rest.
     * @param into       gets the places.
     * @return true if the places were appended to {@code into}.
     */
    boolean placePayload(
        final DirectBuffer header,
        final EngineSocket socket,
        final long source,
        final int sourcePort,
        final long localId,
        final int payload,
        final int follow,
        final Packet into)
    {
        final Rpc rpc = rpcs.lookup(socket, source, sourcePort, localId);
        if (null == rpc || (rpc.client ? Rpc.STATE_OUTGOING_REQUEST != rpc.state &&
            Rpc.STATE_AWAIT_RESPONSE != rpc.state : Rpc.STATE_INCOMING_REQUEST != rpc.state))
        {
            return false;
        }
        final InboundMessage in = rpc.in;
        final long offset = DataHeaderFlyweight.segmentOffsetOf(header, 0) + (long)follow * payload;
        final long length = 0 == follow ? payload : Math.min(payload, in.length - offset);
        if (!in.started() || in.complete() ||
            in.length != header.getInt(DataHeaderFlyweight.MESSAGE_LENGTH_OFFSET, ByteOrder.BIG_ENDIAN) ||
            offset < in.highest || length <= 0 || offset + length > in.heldBytes ||
            follow > 0 && offset + length > in.grantedEnd())
        {
            // A later packet of the message cannot lie beyond what the sender may have sent yet: a guess there
            // would land another message's packet, whose bytes the driver must then move back.
            return false;
        }
        if (receivePool.appendTo(in.pages, (int)offset, (int)length, into))
        {
            return true;
        }
        into.clearPayload();
        return false;
    }

    /**
     * DATA for one of our RPCs, or the first packet of a new request.
     *
     * @param buffer     the packet.
     * @param length     packet length.
     * @param placed     payload bytes already in place ({@link #placePayload}); the buffer holds the rest.
     * @param socket     our socket.
     * @param source     peer host.
     * @param sourcePort peer port.
     * @param localId    our RPC id.
     */
    void onData(
        final MutableDirectBuffer buffer,
        final int length,
        final int placed,
        final EngineSocket socket,
        final long source,
        final int sourcePort,
        final long localId)
    {
        final long nowNs = clock.nanoTime();
        data.wrap(buffer, 0);
        Rpc rpc = rpcs.lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            if (0 == (localId & 1))
            {
                metrics.increment(HomaMetrics.DROP_UNKNOWN_RPC);
                return;
            }
            if (rpcs.serverRpcCount() >= maxServerRpcs)
            {
                metrics.increment(HomaMetrics.DROP_MAX_SERVER_RPCS);
                return;
            }
            final Peer peer = peers.acquire(source, nowNs);
            if (null == peer)
            {
                metrics.increment(HomaMetrics.DROP_MAX_PEERS);
                return;
            }
            if (peer.incomingRequests >= maxIncomingRequestsPerPeer)
            {
                metrics.increment(HomaMetrics.DROP_PEER_INCOMING_REQUESTS);
                return;
            }
            rpc = rpcs.newRpc(localId, false, socket, peer, source, sourcePort);
            rpcs.addServer(socket, rpc);
            rpc.incast = 0 != (data.flags() & HomaHeaderFlyweight.FLAG_INCAST);
            metrics.increment(HomaMetrics.SERVER_RPCS_CREATED);
        }
        else
        {
            peers.touch(rpc.peer, nowNs);
            rpc.heard = true;
        }

        final long ackId = data.ackClientId();
        if (0 != ackId)
        {
            // Any DATA from a host may carry an ack for a server RPC of ours with that host as client.
            ackManager.onPiggybackedAck(rpc, source, ackId, data.ackServerPort());
        }

        rpc.silentTicks = 0;
        rpc.busyAnswers = 0;
        if (rpc.client)
        {
            if (Rpc.STATE_OUTGOING_REQUEST == rpc.state)
            {
                // Response bytes mean the server has the whole request: stop sending it.
                rpc.state = Rpc.STATE_AWAIT_RESPONSE;
                srpt.dequeue(rpc.out);
            }
        }
        else if (Rpc.STATE_INCOMING_REQUEST != rpc.state)
        {
            metrics.increment(HomaMetrics.DROP_COMPLETE_MESSAGE);
            return;
        }

        final InboundMessage in = rpc.in;
        final int messageLength = data.messageLength();
        if (!in.started())
        {
            in.length = messageLength;
            in.incoming = Math.max(0, Math.min(data.incoming(), messageLength));
            in.birthOrder = births++;
            in.peerAddress = source;
            in.grantState.reset(in.incoming).account(rpc.peer.incoming);
            if (!allocator.allocate(rpc))
            {
                metrics.increment(HomaMetrics.DROP_RECEIVE_POOL);
                return;
            }
            // Counted when it starts, as homa_message_in_init does: counted at completion, a long message would
            // be missing from the statistics for as long as it is in flight, and under load the cutoffs would be
            // computed from the short messages alone (too many unscheduled levels, the long ones' bytes at the
            // lowest of them).
            calculator.onMessageStarted(messageLength);
            if (!in.needsGrants())
            {
                scheduler.onShortMessage(nowNs);
            }
        }
        else if (in.length != messageLength)
        {
            metrics.increment(HomaMetrics.DROP_LENGTH_MISMATCH);
            // Two messages claim this RPC's (host, port, id), one of them forged: waiting for the first would hold
            // the RPC for good, the two hosts each hearing the other (this one asking for bytes past the end of
            // the real message, the peer sending its first packet again), so neither ever times out. The peer's
            // next packet starts the message afresh: a request as a new server RPC, a response in this client RPC.
            if (rpc.client)
            {
                rpcs.resetInbound(rpc);
            }
            else
            {
                rpcs.freeRpc(rpc);
            }
            return;
        }
        final int offset = data.segmentOffset();
        final int payload = length - DataHeaderFlyweight.HEADER_LENGTH;
        if (offset < 0 || (long)offset + payload > in.length)
        {
            metrics.increment(HomaMetrics.decoderDrop(RejectReason.OFFSET_PAST_END.ordinal()));
            return;
        }
        if ((long)offset + payload > in.heldBytes)
        {
            // Waiting for its pages, the message holds at most those of its unscheduled bytes.
            metrics.increment(HomaMetrics.DROP_RECEIVE_POOL);
            return;
        }
        if (!in.scheduled && in.needsGrants() && !in.waitingForPages)
        {
            // A message that needs grants is the scheduler's from its first packet until its last (only such
            // messages count toward the incoming budget, as in homa_grant_update_incoming), or from when it got
            // its storage if it had to wait for it.
            in.scheduled = true;
            scheduler.add(in);
        }
        final int fresh = in.accept(offset, payload);
        if (fresh < 0)
        {
            metrics.increment(HomaMetrics.DROP_TOO_MANY_GAPS);
            return;
        }
        if (fresh > 0 && 0 == placed)
        {
            receivePool.write(in.pages, offset, buffer, DataHeaderFlyweight.HEADER_LENGTH, payload);
        }
        if (fresh < payload)
        {
            metrics.add(HomaMetrics.DUPLICATE_BYTES, payload - fresh);
        }

        final Peer peer = rpc.peer;
        if (data.cutoffVersion() != localCutoffs.version() && nowNs - peer.lastCutoffsSentNs >= tickNs)
        {
            peer.lastCutoffsSentNs = nowNs;
            controlSender.sendCutoffs(source, socket.port, sourcePort, rpc.id);
        }

        if (in.complete())
        {
            completeInbound(rpc);
        }
        else if (fresh > 0)
        {
            // The GRANTs this calls for go out once the duty cycle has taken its whole batch of packets.
            scheduler.onDataReceived(in);
        }
    }

    private void completeInbound(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        final boolean wasScheduled = in.scheduled;
        if (wasScheduled)
        {
            in.scheduled = false;
            scheduler.remove(in);
        }
        metrics.increment(HomaMetrics.MESSAGES_RECEIVED);
        metrics.add(HomaMetrics.MESSAGE_BYTES_RECEIVED, in.length);

        final EngineSocket socket = rpc.socket;
        final HomaMessage message = delivery.takeMessage().prepare(
            rpc.client ? HomaMessage.Kind.RESPONSE : HomaMessage.Kind.REQUEST,
            rpc.id, rpc.peerAddress, rpc.peerPort, socket.port, rpc.client ? rpc.cookie : 0, in.length, null);
        final int pageBytes = receivePool.pageBytes();
        for (int i = 0; i < in.pageCount; i++)
        {
            final int handle = in.pages[i];
            message.addSegment(receivePool.buffer(), handle, receivePool.offsetOf(handle),
                Math.min(pageBytes, in.length - i * pageBytes));
        }
        in.pageCount = 0;
        allocator.release(rpc);

        if (rpc.client)
        {
            metrics.increment(HomaMetrics.CLIENT_RPCS_COMPLETED);
            ackManager.addPendingAck(rpc);
            delivery.deliverClient(rpc, message);
            rpcs.freeRpc(rpc);
        }
        else
        {
            rpc.state = Rpc.STATE_IN_SERVICE;
            rpc.peer.incomingRequests--;
            rpc.silentTicks = 0;
            delivery.deliver(socket, message);
        }
    }
}
