package dev.homa.core.engine;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.AckFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.Packet;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;

import java.util.Arrays;

/**
 * The end of server RPCs. A client remembers each completed RPC as a pending ack in its peer (piggybacked on the
 * next DATA to that peer, or flushed in an explicit ACK when the store is full or the server sends NEED_ACK); a server
 * frees an RPC when its ack arrives (a piggybacked one at the start of the next duty cycle, so that it does not delay
 * the request carrying it), and remembers the last {@value #ACKED_HISTORY} acknowledged RPCs so a late copy of their
 * request does not execute again (draft section 7.1).
 */
final class AckManager
{
    static final int ACKED_HISTORY = 4096;
    private static final int DEFERRED_ACKS = 64;

    private final AckFlyweight ackFw = new AckFlyweight();
    private final AckedHistory recentlyAcked = new AckedHistory(ACKED_HISTORY);
    private final PacketTransmitter transmitter;
    private final Int2ObjectHashMap<EngineSocket> sockets;
    private final RpcTable rpcs;
    private final PeerTable peers;
    private final ResendRequester resendRequester;
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
     * @param metrics         counters.
     */
    AckManager(
        final PacketTransmitter transmitter,
        final Int2ObjectHashMap<EngineSocket> sockets,
        final RpcTable rpcs,
        final PeerTable peers,
        final ResendRequester resendRequester,
        final HomaMetrics metrics)
    {
        this.transmitter = transmitter;
        this.sockets = sockets;
        this.rpcs = rpcs;
        this.peers = peers;
        this.resendRequester = resendRequester;
        this.metrics = metrics;
        this.highestPriority = transmitter.highestPriority();
    }

    /**
     * @param socket     the server socket.
     * @param source     client host.
     * @param sourcePort client port.
     * @param localId    server-side RPC id.
     * @return true if that RPC was acknowledged recently (a request packet for it is a late copy).
     */
    boolean wasAcked(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        return recentlyAcked.contains(EngineSocket.serverKey(source, sourcePort, localId) ^ socket.port);
    }

    /**
     * An ack piggybacked on a request's DATA: free the acknowledged server RPC unless it is this very one.
     *
     * @param rpc           the server RPC the DATA belongs to.
     * @param source        client host.
     * @param sourcePort    client port.
     * @param ackId         the acknowledged client RPC id (nonzero).
     * @param ackServerPort the server port of the acknowledged RPC.
     */
    void onPiggybackedAck(
        final Rpc rpc, final long source, final int sourcePort, final long ackId, final int ackServerPort)
    {
        if (DEFERRED_ACKS == deferredCount)
        {
            freeDeferred();
        }
        final int i = deferredCount++;
        deferredSources[i] = source;
        deferredIds[i] = ackId;
        deferredPorts[i] = (sourcePort << 16) | ackServerPort;
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
     * request, and freeing the old RPC first (tables, pages, the acknowledged history) would delay that request's
     * delivery and so its reply; the duty cycle calls this before it polls again, like the kernel's reaper frees
     * dead RPCs outside the packet path. A late packet for an RPC acknowledged meanwhile finds it still alive,
     * which is harmless: its response was complete.
     *
     * @return acks applied.
     */
    int freeDeferred()
    {
        final int count = deferredCount;
        for (int i = 0; i < count; i++)
        {
            final int ports = deferredPorts[i];
            final EngineSocket ackSocket = sockets.get(ports & 0xFFFF);
            if (null != ackSocket)
            {
                final Rpc acked = ackSocket.findServer(deferredSources[i], ports >>> 16, deferredIds[i] ^ 1);
                // Never the RPC whose own request carried the ack (a pooled object compared by reference: at worst
                // an ack is skipped, never applied to the wrong RPC).
                if (null != acked && acked != deferredCarriers[i])
                {
                    metrics.increment(HomaMetrics.SERVER_RPCS_ACKED);
                    rememberAcked(acked);
                    rpcs.freeRpc(acked);
                }
            }
        }
        Arrays.fill(deferredCarriers, 0, count, null);
        deferredCount = 0;
        return count;
    }

    /**
     * Remember a completed client RPC for its server: piggybacked on the next DATA to that peer, or flushed in an
     * explicit ACK when the peer's store is full.
     *
     * @param peer       the server host.
     * @param clientId   the RPC id.
     * @param serverPort the server's port.
     * @param clientPort our port.
     */
    void addPendingAck(final Peer peer, final long clientId, final int serverPort, final int clientPort)
    {
        if (Peer.MAX_ACKS == peer.ackCount)
        {
            // Store full: flush the acks of the oldest entry's client port in an explicit ACK packet.
            sendAck(peer, peer.address, peer.ackClientPorts[0], peer.ackServerPorts[0], peer.ackIds[0]);
            if (Peer.MAX_ACKS == peer.ackCount)
            {
                peer.removeAck(0);
            }
        }
        final int i = peer.ackCount++;
        peer.ackIds[i] = clientId;
        peer.ackServerPorts[i] = serverPort;
        peer.ackClientPorts[i] = clientPort;
    }

    /**
     * Send an explicit ACK from a client socket: the common header names one RPC, the entries every pending ack
     * of that peer belonging to the same client port.
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
            for (int i = 0; i < peer.ackCount && count < AckFlyweight.MAX_ACKS; )
            {
                if (peer.ackClientPorts[i] == clientPort)
                {
                    ackFw.clientId(count, peer.ackIds[i]);
                    ackFw.serverPort(count, peer.ackServerPorts[i]);
                    count++;
                    peer.removeAck(i);
                }
                else
                {
                    i++;
                }
            }
        }
        ackFw.numAcks(count);
        packet.length(AckFlyweight.LENGTH);
        transmitter.transmit(packet, destination, highestPriority, PacketType.ACK);
    }

    /**
     * NEED_ACK: the server sent its whole response and wants to free the RPC. Acknowledge it (with every pending
     * ack of that client port) unless the response is still arriving here, in which case ask for what is missing.
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
        sendAck(peers.get(source), source, socket.port, sourcePort, localId);
    }

    /**
     * ACK: free the named server RPC and every one listed in the packet.
     *
     * @param buffer     the packet.
     * @param socket     our socket.
     * @param source     client host.
     * @param sourcePort client port.
     * @param localId    the server-side id of the RPC the header names.
     */
    void onAck(
        final MutableDirectBuffer buffer, final EngineSocket socket, final long source, final int sourcePort,
        final long localId)
    {
        freeAcked(socket, source, sourcePort, localId);
        ackFw.wrap(buffer, 0);
        final int count = Math.min(ackFw.numAcks(), AckFlyweight.MAX_ACKS);
        for (int i = 0; i < count; i++)
        {
            final EngineSocket serverSocket = sockets.get(ackFw.serverPort(i));
            if (null != serverSocket)
            {
                freeAcked(serverSocket, source, sourcePort, ackFw.clientId(i) ^ 1);
            }
            else
            {
                metrics.increment(HomaMetrics.ACKS_IGNORED);
            }
        }
    }

    private void freeAcked(final EngineSocket socket, final long source, final int sourcePort, final long serverId)
    {
        if (0 == (serverId & 1))
        {
            metrics.increment(HomaMetrics.ACKS_IGNORED);
            return;
        }
        final Rpc rpc = socket.findServer(source, sourcePort, serverId);
        if (null == rpc)
        {
            metrics.increment(HomaMetrics.ACKS_IGNORED);
            return;
        }
        metrics.increment(HomaMetrics.SERVER_RPCS_ACKED);
        rememberAcked(rpc);
        rpcs.freeRpc(rpc);
    }

    private void rememberAcked(final Rpc rpc)
    {
        recentlyAcked.add(rpc.hashKey ^ rpc.socket.port);
    }
}
