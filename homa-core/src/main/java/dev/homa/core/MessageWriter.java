package dev.homa.core;

import org.agrona.DirectBuffer;

/**
 * The application's side of starting an outbound message for one socket: the length checks, the send-pool
 * reservation, and the hand-over to the engine, inline on the thread that drives an INVOKER transport's duty cycle or
 * else through the command ring.
 */
final class MessageWriter
{
    private final HomaTransport transport;
    private final int port;

    /**
     * @param transport the socket's transport.
     * @param port      the socket's port.
     */
    MessageWriter(final HomaTransport transport, final int port)
    {
        this.transport = transport;
        this.port = port;
    }

    /**
     * Check a message's length against the limits, and its range against the buffer.
     *
     * @param buffer the message, or null when it is gathered.
     * @param offset its first byte.
     * @param length its length.
     */
    void check(final DirectBuffer buffer, final int offset, final int length)
    {
        transport.ensureOpen();
        final int max = transport.context().maxMessageLength();
        if (length > max)
        {
            throw new HomaLimitException("message of " + length + " bytes exceeds the maximum of " + max +
                " bytes (HOMA_MAX_MESSAGE_LENGTH)");
        }
        if (length < 1)
        {
            throw new HomaException("message length must be at least 1 byte: " + length);
        }
        if (null != buffer && (offset < 0 || (long)offset + length > buffer.capacity()))
        {
            throw new HomaException("range " + offset + "+" + length + " outside buffer of " + buffer.capacity());
        }
    }

    /**
     * Reserve the message's send-pool units and start it; the reservation is undone if it cannot start.
     *
     * @param role     "request" or "reply", for the error.
     * @param flags    {@link Commands} flags.
     * @param id       the RPC id.
     * @param peer     the other host.
     * @param peerPort the other socket's port.
     * @param cookie   the client's cookie (requests).
     * @param buffer   the message, or null when it is gathered from {@code buffers}.
     * @param offset   its first byte.
     * @param length   its length.
     * @param buffers  the pieces of a gathered message (whole capacities), or null.
     * @param count    pieces used.
     */
    void write(
        final String role,
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final long cookie,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final DirectBuffer[] buffers,
        final int count)
    {
        final int pages = transport.sendUnitsFor(length);
        if (!transport.reserveSendPages(pages))
        {
            throw new HomaLimitException("send pool exhausted: " + length + "-byte " + role + " needs " + pages +
                " units of the send pool, which is full (homa sendPoolBytes)");
        }
        try
        {
            handOver(flags, id, peer, peerPort, cookie, buffer, offset, length, buffers, count);
        }
        catch (final HomaException ex)
        {
            transport.unreserveSendPages(pages);
            throw ex;
        }
    }

    private void handOver(
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final long cookie,
        final DirectBuffer buffer,
        final int offset,
        final int length,
        final DirectBuffer[] buffers,
        final int count)
    {
        final HomaEngine engine = transport.engine();
        final InlineSender inline = engine.inlineSender();
        if (null == buffers ?
            inline.send(port, flags, id, peer, peerPort, cookie, buffer, offset, length) :
            inline.send(port, flags, id, peer, peerPort, cookie, buffers, count, length))
        {
            return;
        }
        final CommandProxy commands = transport.commands();
        if (null == buffers)
        {
            commands.message(port, flags, id, peer, peerPort, cookie, length, 0, buffer, offset, length);
        }
        else
        {
            int at = 0;
            for (int i = 0; i < count; i++)
            {
                final DirectBuffer piece = buffers[i];
                commands.message(port, flags, id, peer, peerPort, cookie, length, at, piece, 0, piece.capacity());
                at += piece.capacity();
            }
        }
        engine.wake();
    }

    /**
     * Start a request whose bytes stay in the application's memory ({@link HomaSocket#SEND_NO_COPY}): nothing is
     * reserved in the send pool.
     *
     * @param flags    {@link Commands} flags.
     * @param id       the RPC id.
     * @param peer     the other host.
     * @param peerPort the other socket's port.
     * @param cookie   the client's cookie.
     * @param length   the message's length.
     * @param address  the address of its first byte.
     */
    void writeLent(
        final int flags, final long id, final long peer, final int peerPort, final long cookie, final int length,
        final long address)
    {
        final HomaEngine engine = transport.engine();
        if (!engine.inlineSender().sendLent(port, flags, id, peer, peerPort, cookie, length, address))
        {
            transport.commands().lent(port, flags, id, peer, peerPort, cookie, length, address);
            engine.wake();
        }
    }

    /**
     * @param buffers the pieces.
     * @param count   pieces used.
     * @return the sum of their capacities.
     */
    static int gatheredLength(final DirectBuffer[] buffers, final int count)
    {
        if (count < 1 || count > buffers.length)
        {
            throw new HomaException("count of gathered buffers out of range 1.." + buffers.length + ": " + count);
        }
        long length = 0;
        for (int i = 0; i < count; i++)
        {
            length += buffers[i].capacity();
        }
        return (int)Math.min(length, Integer.MAX_VALUE);
    }
}
