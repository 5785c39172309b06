package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.AckFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.Packet;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;

import java.util.Arrays;

/**
 * The end of server RPCs, as the kernel does it (homa_peer_add_ack, homa_rpc_ack). A client remembers each completed
 * RPC as a pending ack in its peer, one list for all its client sockets: piggybacked on the next DATA to that host (any
 * RPC's), or sent in an explicit ACK when the store is full (the new RPC in the header, the five stored ones as
 * entries), when the server sends NEED_ACK, or when the transport closes. A server frees the RPC an ack names by client
 * host and id, whichever client port sent it; a piggybacked one at the start of the next duty cycle, so that it does
 * not delay the request carrying it. Nothing is remembered after the RPC ends: a request that arrives again creates a
 * new RPC, as it does in the kernel (a restarted client reuses its ids), so delivery is at least once.
 */
final class AckManager
{
    private static final int DEFERRED_ACKS = 64;

    private final AckFlyweight ackFw = new AckFlyweight();
    private final PacketTransmitter transmitter;
    private final Int2ObjectHashMap<EngineSocket> sockets;
    private final RpcTable rpcs;
    private final PeerTable peers;
    private final ResendRequester resendRequester;
    private final AnswerLimiter limiter;
    private final HomaMetrics metrics;
    private final int highestPriority;
    private final long[] deferredSources = new long[DEFERRED_ACKS];
    private final long[] deferredIds = new long[DEFERRED_ACKS];
    private final int[] deferredPorts = new int[DEFERRED_ACKS];
    private final Rpc[] deferredCarriers = new Rpc[DEFERRED_ACKS];
    private int deferredCount;

    /**
     * @param transmitter     the batching transmitter.
     * @param sockets         the bound sockets by port.
     * @param rpcs            the live RPCs.
     * @param peers           the peer table (pending acks live in the peers).
     * @param resendRequester answers NEED_ACK for a response still arriving.
     * @param limiter         rate limits ACKs that answer NEED_ACKs.
     * @param metrics         counters.
     */
    AckManager(
        final PacketTransmitter transmitter,
        final Int2ObjectHashMap<EngineSocket> sockets,
        final RpcTable rpcs,
        final PeerTable peers,
        final ResendRequester resendRequester,
        final AnswerLimiter limiter,
        final HomaMetrics metrics)
    {
        this.transmitter = transmitter;
        this.sockets = sockets;
        this.rpcs = rpcs;
        this.peers = peers;
        this.resendRequester = resendRequester;
        this.limiter = limiter;
        this.metrics = metrics;
        this.highestPriority = transmitter.highestPriority();
    }

    /**
     * An ack piggybacked on a DATA packet: free the acknowledged server RPC unless it is the packet's own RPC.
     *
     * @param rpc           the RPC the DATA belongs to.
     * @param source        the host that sent it (the acknowledged RPC's client).
     * @param ackId         the acknowledged client RPC id (nonzero).
     * @param ackServerPort the server port of the acknowledged RPC.
     */
    void onPiggybackedAck(final Rpc rpc, final long source, final long ackId, final int ackServerPort)
    {
        if (DEFERRED_ACKS == deferredCount)
        {
            freeDeferred();
        }
        final int i = deferredCount++;
        deferredSources[i] = source;
        deferredIds[i] = ackId;
        deferredPorts[i] = ackServerPort;
        deferredCarriers[i] = rpc;
    }

    /**
     * @return true if piggybacked acks wait to be applied.
     */
    boolean hasDeferred()
    {
        return 0 != deferredCount;
    }

    /**
     * Apply the piggybacked acks taken since the last call: free the acknowledged server RPCs. They arrive on a new
     * request, and freeing the old RPC first (tables, pages) would delay that request's delivery and so its reply;
     * the duty cycle calls this before it polls again, like the kernel's reaper frees dead RPCs outside the packet
     * path. A late packet for an RPC acknowledged meanwhile finds it still alive, which is harmless: its response
     * was complete.
     *
     * @return acks applied.
     */
    int freeDeferred()
    {
        final int count = deferredCount;
        for (int i = 0; i < count; i++)
        {
            final EngineSocket ackSocket = sockets.get(deferredPorts[i]);
            if (null != ackSocket)
            {
                final Rpc acked = ackSocket.findServer(deferredSources[i], deferredIds[i] ^ 1);
                // Never the RPC whose own packet carried the ack (a pooled object compared by reference: at worst
                // an ack is skipped, never applied to the wrong RPC).
                if (null != acked && acked != deferredCarriers[i])
                {
                    metrics.increment(HomaMetrics.SERVER_RPCS_ACKED);
                    rpcs.freeRpc(acked);
                }
            }
        }
        Arrays.fill(deferredCarriers, 0, count, null);
        deferredCount = 0;
        return count;
    }

    /**
     * Remember a completed client RPC for its server (homa_peer_add_ack): stored in the peer for the next DATA to
     * that host or, when the store is full, sent at once in an explicit ACK that names this RPC in its header and
     * carries the stored ones, emptying the store.
     *
     * @param rpc the client RPC whose response is complete.
     */
    void addPendingAck(final Rpc rpc)
    {
        final Peer peer = rpc.peer;
        if (Peer.MAX_ACKS == peer.ackCount)
        {
            sendAck(peer, rpc.peerAddress, rpc.socket.port, rpc.peerPort, rpc.id);
            return;
        }
        peer.addAck(rpc.id, rpc.peerPort);
    }

    /**
     * The transport is closing: send each peer's pending acks now, in one ACK whose header names the last of them.
     * The kernel keeps them in its peer, which outlives the socket and answers a later NEED_ACK; once this engine
     * is gone nothing would, and each server would hold its RPC until it timed out.
     *
     * @param onProtocolThread false if the closing thread is not the one that drives the duty cycle: then nothing
     *                         is sent, as the transmitter is that thread's alone.
     */
    void flushPendingAcks(final boolean onProtocolThread)
    {
        if (!onProtocolThread)
        {
            return;
        }
        peers.forEach(peer ->
        {
            if (0 != peer.ackCount)
            {
                final int last = --peer.ackCount;
                // No client port: a server frees acked RPCs by host and id, whichever client socket sent the ACK.
                sendAck(peer, peer.address, 0, peer.ackServerPorts[last], peer.ackIds[last]);
            }
        });
        transmitter.flushBatch();
    }

    /**
     * Send an explicit ACK: the common header names one RPC, the entries every pending ack of that peer (up to five),
     * whichever client socket they belong to.
     */
    void sendAck(
        final Peer peer, final long destination, final int clientPort, final int serverPort, final long clientId)
    {
        final Packet packet = transmitter.acquire();
        if (null == packet)
        {
            return;
        }
        ackFw.wrap(packet.buffer(), 0);
        ackFw.initialize(PacketType.ACK, clientPort, serverPort, clientId);
        int count = 0;
        if (null != peer)
        {
            while (0 != peer.ackCount && count < AckFlyweight.MAX_ACKS)
            {
                final int last = --peer.ackCount;
                ackFw.clientId(count, peer.ackIds[last]);
                ackFw.serverPort(count, peer.ackServerPorts[last]);
                count++;
            }
        }
        ackFw.numAcks(count);
        packet.length(AckFlyweight.LENGTH);
        transmitter.transmit(packet, destination, highestPriority, PacketType.ACK);
    }

    /**
     * NEED_ACK: the server sent its whole response and wants to free the RPC. Acknowledge it (with every pending
     * ack for that host) unless the response is still arriving here, in which case ask for what is missing.
     * The ACK is an answer to whoever the NEED_ACK names as its source, so it passes the {@link AnswerLimiter}.
     *
     * @param socket     our socket.
     * @param source     server host.
     * @param sourcePort server port.
     * @param localId    our RPC id.
     */
    void onNeedAck(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        final Rpc rpc = rpcs.lookup(socket, source, sourcePort, localId);
        if (null != rpc && rpc.client)
        {
            // Still receiving the response: never ACK it; ask for what is missing instead.
            resendRequester.requestRetransmission(rpc);
            return;
        }
        final Peer peer = peers.get(source);
        if (null == peer)
        {
            // We never had an RPC with that host (or none for longer than the idle time, long after any server
            // would have given up): not a NEED_ACK of ours to answer, and answering would reflect bytes to any
            // address a forger names.
            metrics.increment(HomaMetrics.DROP_UNKNOWN_PEER);
            return;
        }
        if (limiter.allow(peer))
        {
            sendAck(peer, source, socket.port, sourcePort, localId);
        }
    }

    /**
     * ACK: free the RPC the header names and every one listed in the packet, by client host and id.
     *
     * @param buffer  the packet.
     * @param socket  our socket.
     * @param source  client host.
     * @param localId the server-side id of the RPC the header names.
     */
    void onAck(final MutableDirectBuffer buffer, final EngineSocket socket, final long source, final long localId)
    {
        freeAcked(socket, source, localId);
        ackFw.wrap(buffer, 0);
        final int count = Math.min(ackFw.numAcks(), AckFlyweight.MAX_ACKS);
        for (int i = 0; i < count; i++)
        {
            final int serverPort = ackFw.serverPort(i);
            final long serverId = ackFw.clientId(i) ^ 1;
            if (serverPort == socket.port && serverId == localId)
            {
                // An answer to NEED_ACK names its RPC in the header and again in the list of the peer's pending acks.
                continue;
            }
            final EngineSocket serverSocket = sockets.get(serverPort);
            if (null != serverSocket)
            {
                freeAcked(serverSocket, source, serverId);
            }
            else
            {
                metrics.increment(HomaMetrics.ACKS_IGNORED);
            }
        }
    }

    private void freeAcked(final EngineSocket socket, final long source, final long serverId)
    {
        if (0 == (serverId & 1))
        {
            metrics.increment(HomaMetrics.ACKS_IGNORED);
            return;
        }
        final Rpc rpc = socket.findServer(source, serverId);
        if (null == rpc)
        {
            metrics.increment(HomaMetrics.ACKS_IGNORED);
            return;
        }
        metrics.increment(HomaMetrics.SERVER_RPCS_ACKED);
        rpcs.freeRpc(rpc);
    }
}
