package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.HostAddress;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.MessageHandler;

import java.util.ArrayList;
import java.util.Map;

/**
 * Carries out the application's commands from the command ring on the protocol thread: BIND and CLOSE a socket,
 * SEND a request or response (the RPC and its outbound message are created here, the first chunk copied into the
 * send pool), CHUNK (the next bytes of a message larger than one command), ABORT a client RPC and give one a
 * DEADLINE.
 */
final class CommandHandler implements MessageHandler
{

    private final Map<Integer, SocketEndpoint> registry;
    private final Int2ObjectHashMap<EngineSocket> sockets;
    private final RpcTable rpcs;
    private final PeerTable peers;
    private final PagePool sendPool;
    private final PagePool receivePool;
    private final SendPoolReservations sendPagesReserved;
    private final MessageDelivery delivery;
    private final Pacer pacer;
    private final HomaMetrics metrics;
    private final CachedNanoClock clock;
    private final UnscheduledSizer unscheduledSizer;
    private final boolean incastEnabled;
    private final int incastThreshold;
    private final int incastUnscheduledBytes;
    private long outBirths;

    /**
     * @param ctx               concluded context (unscheduled bytes, incast limits).
     * @param registry          sockets by port as bound by the API.
     * @param sockets           the engine's sockets by port.
     * @param rpcs              the live RPCs.
     * @param peers             the peer table.
     * @param sendPool          where outbound messages live.
     * @param receivePool       where received messages live, and the replies that forward them.
     * @param sendPagesReserved send-pool reservations made by the API.
     * @param delivery          delivers errors to the application, recycles forwarded messages.
     * @param pacer             sends or queues new bytes.
     * @param unscheduledSizer  unscheduled bytes per peer.
     * @param metrics           counters.
     * @param clock             the duty cycle's cached time.
     */
    CommandHandler(
        final HomaTransport.Context ctx,
        final Map<Integer, SocketEndpoint> registry,
        final Int2ObjectHashMap<EngineSocket> sockets,
        final RpcTable rpcs,
        final PeerTable peers,
        final PagePool sendPool,
        final PagePool receivePool,
        final SendPoolReservations sendPagesReserved,
        final MessageDelivery delivery,
        final Pacer pacer,
        final UnscheduledSizer unscheduledSizer,
        final HomaMetrics metrics,
        final CachedNanoClock clock)
    {
        this.registry = registry;
        this.sockets = sockets;
        this.rpcs = rpcs;
        this.peers = peers;
        this.sendPool = sendPool;
        this.receivePool = receivePool;
        this.sendPagesReserved = sendPagesReserved;
        this.delivery = delivery;
        this.pacer = pacer;
        this.metrics = metrics;
        this.clock = clock;
        this.unscheduledSizer = unscheduledSizer;
        this.incastEnabled = ctx.incastEnabled();
        this.incastThreshold = ctx.incastThreshold();
        this.incastUnscheduledBytes = ctx.incastUnscheduledBytes();
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void onMessage(final int type, final MutableDirectBuffer buffer, final int index, final int length)
    {
        final int port = buffer.getInt(index + Commands.PORT_OFFSET);
        switch (type)
        {
            case Commands.BIND -> bindOpened(port);
            case Commands.CLOSE -> closeSocket(port);
            case Commands.SEND -> onSendCommand(buffer, index, length, port);
            case Commands.CHUNK -> onChunkCommand(buffer, index, length, port);
            case Commands.SEND_LENT -> startLent(
                port,
                buffer.getInt(index + Commands.FLAGS_OFFSET),
                buffer.getLong(index + Commands.ID_OFFSET),
                buffer.getLong(index + Commands.PEER_OFFSET),
                buffer.getInt(index + Commands.PEER_PORT_OFFSET),
                buffer.getInt(index + Commands.LENGTH_OFFSET),
                buffer.getLong(index + Commands.COOKIE_OFFSET),
                buffer.getLong(index + Commands.HEADER_LENGTH));
            case Commands.ABORT -> onAbortCommand(port, buffer.getLong(index + Commands.ID_OFFSET));
            case Commands.DEADLINE -> onDeadlineCommand(
                port, buffer.getLong(index + Commands.ID_OFFSET), buffer.getLong(index + Commands.DEADLINE_OFFSET));
            default ->
            {
            }
        }
    }

    /**
     * Bind the application's socket on a port if it has one open: on its BIND command, or when a packet for the port
     * arrives before that command is read, so that a socket takes packets from the moment {@code openSocket}
     * returns, as a kernel socket does once bound.
     *
     * @param port the port.
     * @return the engine's socket on the port, or null if the application has none open there.
     */
    EngineSocket bindOpened(final int port)
    {
        EngineSocket socket = sockets.get(port);
        if (null == socket)
        {
            final SocketEndpoint api = registry.get(port);
            if (null != api)
            {
                socket = new EngineSocket(port, api);
                sockets.put(port, socket);
            }
        }
        return socket;
    }

    private void onSendCommand(final MutableDirectBuffer buffer, final int index, final int length, final int port)
    {
        startMessage(
            port,
            buffer.getInt(index + Commands.FLAGS_OFFSET),
            buffer.getLong(index + Commands.ID_OFFSET),
            buffer.getLong(index + Commands.PEER_OFFSET),
            buffer.getInt(index + Commands.PEER_PORT_OFFSET),
            buffer.getInt(index + Commands.LENGTH_OFFSET),
            buffer.getLong(index + Commands.COOKIE_OFFSET),
            buffer,
            index + Commands.HEADER_LENGTH,
            length - Commands.HEADER_LENGTH);
    }

    /**
     * Start an outbound message (a request or a reply) whose first {@code chunk} bytes are at hand: from a SEND
     * record of the command ring, or straight from the application's buffer when it runs inline.
     *
     * @param port          our socket's port.
     * @param flags         {@link Commands} flags.
     * @param id            the RPC id.
     * @param peerAddress   the other host.
     * @param peerPort      the other socket's port.
     * @param messageLength the whole message's length.
     * @param cookie        the client's cookie (requests).
     * @param src           the first bytes.
     * @param srcIndex      where they start.
     * @param chunk         how many there are (the rest follows in CHUNK records, or {@link #appendBytes}).
     * @return the message, or null if it was not started (the RPC is gone or failed; counted).
     */
    OutboundMessage startMessage(
        final int port,
        final int flags,
        final long id,
        final long peerAddress,
        final int peerPort,
        final int messageLength,
        final long cookie,
        final DirectBuffer src,
        final int srcIndex,
        final int chunk)
    {
        final int units = sendPool.unitsFor(messageLength);
        final Rpc rpc = openRpc(port, flags, id, peerAddress, peerPort, cookie, units);
        if (null == rpc)
        {
            return null;
        }
        final OutboundMessage out = rpc.out;
        out.reset(rpc, messageLength);
        final int handles = sendPool.allocate(out.pages, messageLength);
        if (handles < 0)
        {
            // Reserved, but the free space is split between slot pages and whole pages: fail this RPC.
            sendPagesReserved.release(units);
            metrics.increment(HomaMetrics.SEND_POOL_FRAGMENTED);
            if (rpc.client)
            {
                rpcs.failClient(rpc, new HomaLimitException("send pool fragmented: no room for a " + messageLength +
                    "-byte message although it was reserved (homa sendPoolBytes)", false));
            }
            else
            {
                // Discard the server RPC: the client's RESEND gets RPC_UNKNOWN and restarts it (at-least-once).
                rpcs.freeRpc(rpc);
            }
            return null;
        }
        out.pool = sendPool;
        out.pageCount = handles;
        rpc.outPagesHeld = true;
        arm(rpc, out);
        sendPool.write(out.pages, 0, src, srcIndex, chunk);
        out.available = chunk;
        pacer.onBytesAvailable(out);
        return out;
    }

    /**
     * Answer a request with the bytes of a received message that the application handed back
     * ({@link HomaSocket#homaReply(HomaMessage, HomaMessage)}): the message's receive-pool pages become the
     * response's, with no copy, and return to the receive pool when the RPC ends.
     *
     * @param body the consumed message, carrying the reply's coordinates.
     */
    void startForward(final HomaMessage body)
    {
        final Rpc rpc = openRpc(body.forwardPort(), Commands.FLAG_REPLY, body.forwardId(), body.forwardPeer(),
            body.forwardPeerPort(), 0, 0);
        if (null == rpc)
        {
            delivery.freePages(body);
            delivery.recycle(body);
            return;
        }
        final OutboundMessage out = rpc.out;
        out.reset(rpc, body.byteLength());
        out.pool = receivePool;
        final int pageCount = body.pageCount();
        for (int i = 0; i < pageCount; i++)
        {
            out.pages[i] = body.page(i);
        }
        out.pageCount = pageCount;
        rpc.outPagesHeld = true;
        delivery.recycle(body);
        metrics.increment(HomaMetrics.FORWARDED_REPLIES);
        arm(rpc, out);
        out.available = out.length;
        pacer.onBytesAvailable(out);
    }

    /**
     * Start a request sent from the application's own memory ({@link HomaSocket#SEND_NO_COPY}): no pool pages, the
     * DATA packets read the bytes where they are, which the application leaves alone until the RPC has ended.
     *
     * @param port          our socket's port.
     * @param flags         {@link Commands} flags.
     * @param id            the RPC id.
     * @param peerAddress   the other host.
     * @param peerPort      the other socket's port.
     * @param messageLength the message's length.
     * @param cookie        the client's cookie.
     * @param address       the address of its first byte.
     */
    void startLent(
        final int port,
        final int flags,
        final long id,
        final long peerAddress,
        final int peerPort,
        final int messageLength,
        final long cookie,
        final long address)
    {
        final Rpc rpc = openRpc(port, flags, id, peerAddress, peerPort, cookie, 0);
        if (null == rpc)
        {
            return;
        }
        final OutboundMessage out = rpc.out;
        out.reset(rpc, messageLength);
        out.lentAddress = address;
        metrics.increment(HomaMetrics.LENT_REQUESTS);
        arm(rpc, out);
        out.available = messageLength;
        pacer.onBytesAvailable(out);
    }

    /**
     * The RPC a new outbound message belongs to: a server RPC that awaits its reply, or a new client RPC.
     *
     * @return the RPC, or null if the message cannot start (counted; {@code units} of the send pool released).
     */
    private Rpc openRpc(
        final int port,
        final int flags,
        final long id,
        final long peerAddress,
        final int peerPort,
        final long cookie,
        final int units)
    {
        final EngineSocket socket = sockets.get(port);
        if (null == socket)
        {
            sendPagesReserved.release(units);
            return null;
        }
        if (0 != (flags & Commands.FLAG_REPLY))
        {
            final Rpc rpc = socket.findServer(peerAddress, peerPort, id);
            if (null == rpc || Rpc.STATE_IN_SERVICE != rpc.state)
            {
                // The RPC was discarded (timeout, ACK, limits) while the application worked on it.
                sendPagesReserved.release(units);
                metrics.increment(HomaMetrics.DROP_WRONG_STATE);
                return null;
            }
            rpc.state = Rpc.STATE_RESPONDING;
            rpc.silentTicks = 0;
            return rpc;
        }
        final Peer peer = peers.acquire(peerAddress, clock.nanoTime());
        if (null == peer)
        {
            sendPagesReserved.release(units);
            metrics.increment(HomaMetrics.DROP_MAX_PEERS);
            final HomaMessage error = delivery.takeMessage().prepare(HomaMessage.Kind.ERROR, id,
                peerAddress, peerPort, port, cookie, 0, new HomaLimitException("peer table full: " + peers.size() +
                " peers with live RPCs (homa maxPeers); RPC " + id + " to " +
                HostAddress.toString(peerAddress) + " not started", false));
            socket.api.onClientRpcEnded();
            if (0 == (flags & Commands.FLAG_FUTURE))
            {
                delivery.deliver(socket, error);
            }
            else if (!socket.api.completeFuture(id, error))
            {
                delivery.recycle(error);
            }
            return null;
        }
        final Rpc rpc = rpcs.newRpc(id, true, socket, peer, peerAddress, peerPort);
        rpc.cookie = cookie;
        rpc.future = 0 != (flags & Commands.FLAG_FUTURE);
        socket.clientRpcs.put(id, rpc);
        metrics.increment(HomaMetrics.CLIENT_RPCS_CREATED);
        // Incast is the host's: its downlink takes the responses of every socket's RPCs.
        if (incastEnabled && rpcs.rpcCount() - rpcs.serverRpcCount() > incastThreshold)
        {
            rpc.incast = true;
            metrics.increment(HomaMetrics.INCAST_MARKED_REQUESTS);
        }
        return rpc;
    }

    /**
     * Set a new message's unscheduled bytes, first grant and SRPT birth order.
     */
    private void arm(final Rpc rpc, final OutboundMessage out)
    {
        final int messageLength = out.length;
        final int unscheduled;
        if (!rpc.client && rpc.incast)
        {
            unscheduled = Math.min(incastUnscheduledBytes, messageLength);
            metrics.increment(HomaMetrics.INCAST_LIMITED_RESPONSES);
        }
        else
        {
            unscheduled = Math.min(unscheduledSizer.unscheduledFor(rpc.peer), messageLength);
            if (unscheduled < messageLength && unscheduledSizer.measured())
            {
                out.startedNs = clock.nanoTime();
            }
        }
        out.unscheduled = unscheduled;
        out.granted = unscheduled;
        out.scheduledPriority = 0;
        out.birthOrder = outBirths++;
        if (!rpcs.admission.admit(out, rpc.peer))
        {
            // Its wait for a turn is no round trip: a held message gives the unscheduled sizer no sample.
            out.startedNs = UnscheduledSizer.NOT_MEASURED;
        }
    }

    /**
     * More bytes of a message started with {@link #startMessage}, at its offset {@code chunkOffset}.
     *
     * @param out         the message.
     * @param chunkOffset where the bytes go in it.
     * @param src         the bytes.
     * @param srcIndex    where they start.
     * @param chunk       how many.
     */
    void appendBytes(
        final OutboundMessage out, final int chunkOffset, final DirectBuffer src, final int srcIndex, final int chunk)
    {
        sendPool.write(out.pages, chunkOffset, src, srcIndex, chunk);
        out.available = Math.max(out.available, chunkOffset + chunk);
        pacer.onBytesAvailable(out);
    }

    private void onChunkCommand(final MutableDirectBuffer buffer, final int index, final int length, final int port)
    {
        final EngineSocket socket = sockets.get(port);
        if (null == socket)
        {
            return;
        }
        final int flags = buffer.getInt(index + Commands.FLAGS_OFFSET);
        final long id = buffer.getLong(index + Commands.ID_OFFSET);
        final Rpc rpc = 0 != (flags & Commands.FLAG_REPLY) ?
            socket.findServer(buffer.getLong(index + Commands.PEER_OFFSET),
                buffer.getInt(index + Commands.PEER_PORT_OFFSET), id) :
            socket.clientRpcs.get(id);
        final int messageLength = buffer.getInt(index + Commands.LENGTH_OFFSET);
        if (null == rpc || !rpc.outPagesHeld || rpc.out.length != messageLength)
        {
            return;
        }
        appendBytes(rpc.out, buffer.getInt(index + Commands.CHUNK_OFFSET_OFFSET), buffer,
            index + Commands.HEADER_LENGTH, length - Commands.HEADER_LENGTH);
    }

    private void onAbortCommand(final int port, final long id)
    {
        final EngineSocket socket = sockets.get(port);
        if (null == socket)
        {
            return;
        }
        final Rpc rpc = socket.clientRpcs.get(id);
        if (null != rpc)
        {
            metrics.increment(HomaMetrics.RPCS_ABORTED);
            rpcs.abortClient(rpc, "RPC " + id + " aborted by the application");
        }
    }

    private void onDeadlineCommand(final int port, final long id, final long deadlineNs)
    {
        final EngineSocket socket = sockets.get(port);
        final Rpc rpc = null == socket ? null : socket.clientRpcs.get(id);
        if (null != rpc)
        {
            // Zero means "none": a deadline that falls exactly on it moves by a nanosecond.
            rpc.deadlineNs = 0 == deadlineNs ? 1 : deadlineNs;
        }
    }

    private void closeSocket(final int port)
    {
        final EngineSocket socket = sockets.remove(port);
        if (null == socket)
        {
            return;
        }
        final ArrayList<Rpc> doomed = new ArrayList<>(socket.clientRpcs.values());
        for (final Rpc rpc : doomed)
        {
            metrics.increment(HomaMetrics.RPCS_ABORTED);
            rpcs.abortClient(rpc, "socket " + port + " closed");
        }
        for (Rpc rpc = rpcs.first(); null != rpc; )
        {
            final Rpc next = rpc.allNext;
            if (rpc.socket == socket)
            {
                rpcs.freeRpc(rpc);
            }
            rpc = next;
        }
        delivery.discardOverflow(socket);
    }
}
