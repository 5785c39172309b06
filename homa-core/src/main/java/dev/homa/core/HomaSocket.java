package dev.homa.core;

import org.agrona.DirectBuffer;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A Homa socket bound to one port of a {@link HomaTransport}: it sends requests ({@link #homaSend}), receives
 * requests and responses ({@link #homaRecv}), answers requests ({@link #homaReply}) and aborts its own RPCs
 * ({@link #abort}). Every method may be called from any thread; the work is done on the protocol thread, reached
 * through the transport's command ring (or inline, when the caller is the thread that drives an INVOKER
 * transport's duty cycle: see {@link ThreadingMode#INVOKER}), and results come back through this socket's
 * single-producer multi-consumer queues.
 */
public final class HomaSocket implements AutoCloseable
{
    /** homaRecv flag: accept requests (server role). */
    public static final int RECV_REQUEST = 1;
    /** homaRecv flag: accept responses and client errors (client role). */
    public static final int RECV_RESPONSE = 2;
    /** homaRecv flag: accept either. */
    public static final int RECV_ANY = RECV_REQUEST | RECV_RESPONSE;
    /**
     * homaSend flag: send the request from the caller's buffer itself, not from a copy in the transport's send pool
     * (the copy costs as much CPU as the kernel's own copy of the bytes). The buffer must be off-heap memory (a
     * direct buffer or a memory-mapped or native region: {@code byteArray()} is null), and its bytes are the
     * transport's until the RPC has ended: keep them unchanged until its response or error has been received, or,
     * after {@link #abort}, until {@link #outstandingRpcs()} no longer counts it.
     */
    public static final int SEND_NO_COPY = 1;

    private final HomaTransport transport;
    private final int port;
    private final ReceiveQueue receives;
    private final ConcurrentHashMap<Long, RpcFuture> futures = new ConcurrentHashMap<>();
    private final ClientRpcCount clientRpcs = new ClientRpcCount();
    private final boolean server;
    private final SocketEndpoint endpoint = new Endpoint();
    private final MessageWriter writer;
    private volatile boolean closed;

    HomaSocket(final HomaTransport transport, final int port, final boolean server)
    {
        this.transport = transport;
        this.port = port;
        this.server = server;
        this.writer = new MessageWriter(transport, port);
        this.receives = new ReceiveQueue(transport, transport.context().completionQueueCapacity());
    }

    /**
     * @return the bound port.
     */
    public int port()
    {
        return port;
    }

    /**
     * Start an RPC: send a request.
     *
     * @param destination {@link dev.homa.nic.HostAddress} of the server host.
     * @param destPort    server socket's port.
     * @param buffer      request bytes (copied before return; the caller may reuse the buffer).
     * @param offset      first byte.
     * @param length      1 .. max message length bytes.
     * @param cookie      opaque value returned with the response.
     * @return the new RPC's id (even).
     * @throws HomaLimitException if the message is too long, the socket has too many RPCs in flight or the send
     *                            pool is full.
     */
    public long homaSend(
        final long destination,
        final int destPort,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final long cookie)
    {
        return send(destination, destPort, buffer, offset, length, cookie, 0);
    }

    /**
     * Start an RPC, with send flags.
     *
     * @param destination {@link dev.homa.nic.HostAddress} of the server host.
     * @param destPort    server socket's port.
     * @param buffer      request bytes.
     * @param offset      first byte.
     * @param length      1 .. max message length bytes.
     * @param cookie      opaque value returned with the response.
     * @param flags       0 (the bytes are copied before return) or {@link #SEND_NO_COPY}.
     * @return the new RPC's id (even).
     * @throws HomaLimitException if the message is too long, the socket has too many RPCs in flight or the send
     *                            pool is full.
     */
    public long homaSend(
        final long destination,
        final int destPort,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final long cookie,
        final int flags)
    {
        if (0 != (flags & ~SEND_NO_COPY))
        {
            throw new HomaException("unknown homaSend flags: " + flags);
        }
        if (0 == flags)
        {
            return send(destination, destPort, buffer, offset, length, cookie, 0);
        }
        if (null != buffer.byteArray())
        {
            throw new HomaException("SEND_NO_COPY needs off-heap memory; this buffer wraps a byte[] the garbage " +
                "collector may move");
        }
        final long id = transport.newRpcId();
        sendWithId(id, destination, destPort, buffer, offset, length, null, 0, cookie, 0, true);
        return id;
    }

    /**
     * Start an RPC whose request is the bytes of several buffers, in order (the kernel's {@code homa_sendv}): each
     * buffer's whole capacity, gathered into the message without an intermediate copy.
     *
     * @param destination {@link dev.homa.nic.HostAddress} of the server host.
     * @param destPort    server socket's port.
     * @param buffers     the pieces (copied before return).
     * @param count       how many of {@code buffers} to use, from index 0.
     * @param cookie      opaque value returned with the response.
     * @return the new RPC's id (even).
     */
    public long homaSendv(
        final long destination, final int destPort, final DirectBuffer[] buffers, final int count, final long cookie)
    {
        final long id = transport.newRpcId();
        final int length = MessageWriter.gatheredLength(buffers, count);
        sendWithId(id, destination, destPort, null, 0, length, buffers, count, cookie, 0, false);
        return id;
    }

    /**
     * Send a request and complete a future with its response (the response does not go to {@link #homaRecv}).
     * The future completes on the protocol thread; use the {@code *Async} stages to leave it. A failed RPC
     * completes the future exceptionally with the {@link HomaException}. Cancelling the future, or completing it
     * any other way (e.g. {@code orTimeout}), aborts the RPC: nothing more is sent for it and a response that
     * still comes is dropped.
     *
     * @param destination server host.
     * @param destPort    server port.
     * @param buffer      request bytes.
     * @param offset      first byte.
     * @param length      bytes.
     * @return the response; release it when done.
     */
    public CompletableFuture<HomaMessage> call(
        final long destination, final int destPort, final DirectBuffer buffer, final int offset, final int length)
    {
        final RpcFuture future = new RpcFuture(this, transport.newRpcId());
        futures.put(future.id(), future);
        try
        {
            sendWithId(future.id(), destination, destPort, buffer, offset, length, null, 0, 0, Commands.FLAG_FUTURE,
                false);
        }
        catch (final HomaException ex)
        {
            futures.remove(future.id());
            throw ex;
        }
        return future;
    }

    /**
     * {@link #call(long, int, DirectBuffer, int, int)} with a deadline: if no response has come when it passes (on
     * the transport's clock, checked every tick), the RPC ends and the future completes exceptionally with a
     * {@link HomaTimeoutException}, whatever the server was doing.
     *
     * @param destination server host.
     * @param destPort    server port.
     * @param buffer      request bytes.
     * @param offset      first byte.
     * @param length      bytes.
     * @param timeout     how long the RPC may take, from now.
     * @param unit        unit of the timeout.
     * @return the response; release it when done.
     */
    public CompletableFuture<HomaMessage> call(
        final long destination,
        final int destPort,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final long timeout,
        final TimeUnit unit)
    {
        final long deadlineNs = transport.deadlineNs(timeout, unit);
        final CompletableFuture<HomaMessage> future = call(destination, destPort, buffer, offset, length);
        transport.offerControl(Commands.DEADLINE, port, ((RpcFuture)future).id(), deadlineNs);
        return future;
    }

    /**
     * {@link #homaSend(long, int, DirectBuffer, int, int, long)} with a deadline: if no response has come when it
     * passes (on the transport's clock, checked every tick), the RPC ends with a {@link HomaTimeoutException}
     * error result.
     *
     * @param destination server host.
     * @param destPort    server socket's port.
     * @param buffer      request bytes (copied before return).
     * @param offset      first byte.
     * @param length      1 .. max message length bytes.
     * @param cookie      opaque value returned with the response.
     * @param timeout     how long the RPC may take, from now.
     * @param unit        unit of the timeout.
     * @return the new RPC's id (even).
     */
    public long homaSend(
        final long destination,
        final int destPort,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final long cookie,
        final long timeout,
        final TimeUnit unit)
    {
        final long deadlineNs = transport.deadlineNs(timeout, unit);
        final long id = send(destination, destPort, buffer, offset, length, cookie, 0);
        transport.offerControl(Commands.DEADLINE, port, id, deadlineNs);
        return id;
    }

    /**
     * Answer a request, once: a second reply to the same request throws.
     *
     * @param request the request as received (not yet released).
     * @param buffer  response bytes (copied before return).
     * @param offset  first byte.
     * @param length  1 .. max message length bytes.
     */
    public void homaReply(final HomaMessage request, final DirectBuffer buffer, final int offset, final int length)
    {
        if (HomaMessage.Kind.REQUEST != request.kind())
        {
            throw new HomaException("homaReply needs a REQUEST message, got " + request.kind());
        }
        request.markReplied();
        try
        {
            homaReply(request.peer(), request.peerPort(), request.id(), buffer, offset, length);
        }
        catch (final RuntimeException ex)
        {
            request.unmarkReplied();
            throw ex;
        }
    }

    /**
     * Answer a request, once, with the bytes of several buffers in order (the kernel's {@code homa_replyv}): each
     * buffer's whole capacity, gathered into the response without an intermediate copy. A server that answers with
     * (parts of) what it received passes the request's own {@link HomaMessage#segment(int) segments}.
     *
     * @param request the request as received (not yet released).
     * @param buffers the pieces (copied before return).
     * @param count   how many of {@code buffers} to use, from index 0.
     */
    public void homaReplyv(final HomaMessage request, final DirectBuffer[] buffers, final int count)
    {
        if (HomaMessage.Kind.REQUEST != request.kind())
        {
            throw new HomaException("homaReplyv needs a REQUEST message, got " + request.kind());
        }
        final int length = MessageWriter.gatheredLength(buffers, count);
        request.markReplied();
        try
        {
            reply(request.peer(), request.peerPort(), request.id(), null, 0, length, buffers, count);
        }
        catch (final RuntimeException ex)
        {
            request.unmarkReplied();
            throw ex;
        }
    }

    /**
     * Answer a request, once, with the bytes of a message this transport received, without copying them: the
     * request itself for an echo, or a response being relayed by a proxy. The body's receive-pool pages become the
     * response's and go back to the pool when the RPC ends (the client acknowledged the response, or the RPC was
     * discarded), so they count against the receive pool until then instead of against the send pool. The body is
     * consumed: when this returns it is no longer the caller's, as if released, and must not be used or released
     * again. A request that is not its own reply's body must still be released.
     *
     * @param request the request as received (not yet released).
     * @param body    a message received by this socket's transport (not yet released, not an error).
     */
    public void homaReply(final HomaMessage request, final HomaMessage body)
    {
        if (HomaMessage.Kind.REQUEST != request.kind())
        {
            throw new HomaException("homaReply needs a REQUEST message, got " + request.kind());
        }
        if (body.isError())
        {
            throw new HomaException("an error result has no bytes to reply with: " + body);
        }
        if (!body.sameTransport(request))
        {
            throw new HomaException("a reply's body must be a message received by the request's transport: " + body);
        }
        transport.ensureOpen();
        final long id = request.id();
        final long client = request.peer();
        final int clientPort = request.peerPort();
        request.markReplied();
        if (!transport.engine().inlineSender().forward(body, port, id, client, clientPort))
        {
            body.forwardAsReply(port, id, client, clientPort);
            body.handBack();
        }
    }

    /**
     * Answer a request by its coordinates (useful after the request message was released).
     *
     * @param client     the client host (request's {@link HomaMessage#peer()}).
     * @param clientPort the client port.
     * @param id         the request's odd id.
     * @param buffer     response bytes.
     * @param offset     first byte.
     * @param length     bytes.
     */
    public void homaReply(
        final long client, final int clientPort, final long id, final DirectBuffer buffer, final int offset,
        final int length)
    {
        reply(client, clientPort, id, buffer, offset, length, null, 0);
    }

    private void reply(
        final long client,
        final int clientPort,
        final long id,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final DirectBuffer[] buffers,
        final int count)
    {
        if (0 == (id & 1))
        {
            throw new HomaException("homaReply needs a server-side (odd) RPC id, got " + id);
        }
        writer.check(buffer, offset, length);
        writer.write("reply", Commands.FLAG_REPLY, id, client, clientPort, 0, buffer, offset, length, buffers, count);
    }

    /**
     * Receive without blocking.
     *
     * @param flags {@link #RECV_REQUEST}, {@link #RECV_RESPONSE} or {@link #RECV_ANY}.
     * @return a result, or null if none is waiting.
     */
    public HomaMessage homaRecv(final int flags)
    {
        return receives.poll(flags);
    }

    /**
     * Receive, waiting up to a timeout. In {@link ThreadingMode#DEDICATED} mode the caller polls the queues for the
     * context's {@link HomaTransport.Context#idleSpinNs(long) idle spin}, or for up to 200 us while the protocol
     * thread is awake (it has work under way, or expects some), and then parks until the protocol thread
     * queues a result it accepts (or, with {@link HomaTransport.Context#receiveIdleStrategySupplier(Supplier)} set,
     * idles with its own thread's instance of that strategy). In {@link ThreadingMode#INVOKER} mode the caller runs
     * the duty cycle itself, sleeping in the driver between cycles once it has been idle that long, until a result
     * arrives or the timeout passes on the context's clock (so with a virtual clock that nobody advances, use the
     * non-blocking form instead).
     *
     * @param flags   which kinds to accept.
     * @param timeout how long to wait.
     * @param unit    unit of the timeout.
     * @return a result, or null on timeout.
     */
    public HomaMessage homaRecv(final int flags, final long timeout, final TimeUnit unit)
    {
        return receives.await(flags, timeout, unit);
    }

    /**
     * Abort a client RPC of this socket: its state is discarded, nothing more is sent, and a pending
     * {@link #call} future completes with {@link HomaAbortedException}. Unknown or finished ids are ignored.
     *
     * @param id the id {@link #homaSend} returned.
     */
    public void abort(final long id)
    {
        if (0 != (id & 1))
        {
            throw new HomaException("abort takes a client (even) RPC id, got " + id);
        }
        transport.offerControl(Commands.ABORT, port, id);
    }

    /**
     * @return client RPCs of this socket that have not yet delivered their response or error.
     */
    public int outstandingRpcs()
    {
        return clientRpcs.inFlight();
    }

    /**
     * Close: abort this socket's RPCs and unbind the port.
     */
    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            transport.offerControl(Commands.CLOSE, port, 0);
            transport.removeSocket(port);
            receives.close();
        }
    }

    /**
     * @return true after {@link #close()}.
     */
    public boolean isClosed()
    {
        return closed;
    }

    /**
     * @return the protocol thread's way into this socket.
     */
    SocketEndpoint endpoint()
    {
        return endpoint;
    }

    private long send(
        final long destination,
        final int destPort,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final long cookie,
        final int flags)
    {
        final long id = transport.newRpcId();
        sendWithId(id, destination, destPort, buffer, offset, length, null, 0, cookie, flags, false);
        return id;
    }

    /**
     * @param buffer  the message, or null when it is gathered from {@code buffers}.
     * @param buffers the pieces of a gathered message (whole capacities), or null.
     * @param count   pieces used.
     * @param lent    send from {@code buffer} itself ({@link #SEND_NO_COPY}), not a copy in the send pool.
     */
    private void sendWithId(
        final long id,
        final long destination,
        final int destPort,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final DirectBuffer[] buffers,
        final int count,
        final long cookie,
        final int flags,
        final boolean lent)
    {
        checkDestination(destination, destPort);
        writer.check(buffer, offset, length);
        startClientRpc();
        try
        {
            if (lent)
            {
                writer.writeLent(flags, id, destination, destPort, cookie, length, buffer.addressOffset() + offset);
            }
            else
            {
                writer.write("request", flags, id, destination, destPort, cookie, buffer, offset, length, buffers,
                    count);
            }
        }
        catch (final HomaException ex)
        {
            clientRpcs.cancelStart();
            throw ex;
        }
    }

    private void checkDestination(final long destination, final int destPort)
    {
        if (closed)
        {
            throw new HomaException("socket " + port + " is closed");
        }
        if (destPort <= 0 || destPort > 0xFFFF)
        {
            throw new HomaException("destination port out of range 1..65535: " + destPort);
        }
        final String destinationError = transport.context().driver().destinationError(destination);
        if (null != destinationError)
        {
            throw new HomaException("bad destination: " + destinationError);
        }
    }

    private void startClientRpc()
    {
        final int max = transport.context().maxRpcsPerSocket();
        if (!clientRpcs.tryStart(max))
        {
            throw new HomaLimitException("socket " + port + " already has " + max +
                " RPCs in flight (homa maxRpcsPerSocket)");
        }
    }

    /**
     * A {@link #call} future completed: the protocol thread takes the future out of the map before it completes it;
     * if it is still there, the application completed it, and the RPC must end.
     *
     * @param future the completed future.
     */
    void abandon(final RpcFuture future)
    {
        if (futures.remove(future.id(), future) && !closed && !transport.isClosed())
        {
            try
            {
                transport.offerControl(Commands.ABORT, port, future.id());
            }
            catch (final HomaException ex)
            {
                // The transport closed meanwhile: the RPC is gone with it.
            }
        }
    }

    /**
     * The socket as the protocol thread sees it: results in, futures completed, RPCs counted out.
     */
    private final class Endpoint implements SocketEndpoint
    {
        public boolean deliver(final HomaMessage message)
        {
            return receives.offer(message);
        }

        public boolean completeFuture(final long id, final HomaMessage message)
        {
            final CompletableFuture<HomaMessage> future = futures.remove(id);
            if (null == future)
            {
                return false;
            }
            if (message.isError())
            {
                final HomaException error = message.error();
                message.release();
                future.completeExceptionally(error);
            }
            else
            {
                future.complete(message);
            }
            return true;
        }

        public void onClientRpcEnded()
        {
            clientRpcs.end();
        }

        public boolean server()
        {
            return server;
        }
    }
}
