package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;

/**
 * INVOKER mode: the thread that drives the duty cycle starts its own messages at once, from its own buffers, between
 * two cycles, and transmits what may leave (see {@link InvokerThread}). Commands already in the ring go first so
 * that nothing is reordered behind the new message.
 */
final class InlineSender
{
    private final InvokerThread invokerThread;
    private final ManyToOneRingBuffer commands;
    private final CommandHandler commandHandler;
    private final int commandLimit;
    private final Pacer pacer;
    private final PacketTransmitter transmitter;
    private final HomaMetrics metrics;
    private final ErrorHandler errorHandler;

    /**
     * @param invokerThread  who may run the engine inline.
     * @param commands       the command ring, drained first.
     * @param commandHandler carries out the commands and starts the message.
     * @param commandLimit   commands read per drain step.
     * @param pacer          sends what may leave.
     * @param transmitter    flushes the batch.
     * @param metrics        counts transmit errors.
     * @param errorHandler   gets transmit errors.
     */
    InlineSender(
        final InvokerThread invokerThread,
        final ManyToOneRingBuffer commands,
        final CommandHandler commandHandler,
        final int commandLimit,
        final Pacer pacer,
        final PacketTransmitter transmitter,
        final HomaMetrics metrics,
        final ErrorHandler errorHandler)
    {
        this.invokerThread = invokerThread;
        this.commands = commands;
        this.commandHandler = commandHandler;
        this.commandLimit = commandLimit;
        this.pacer = pacer;
        this.transmitter = transmitter;
        this.metrics = metrics;
        this.errorHandler = errorHandler;
    }

    /**
     * Start a message now, from the application's buffer, if the calling thread may run the engine.
     *
     * @param port     our socket's port.
     * @param flags    {@link Commands} flags.
     * @param id       the RPC id.
     * @param peer     the other host.
     * @param peerPort the other socket's port.
     * @param cookie   the client's cookie (requests).
     * @param buffer   the message.
     * @param offset   its first byte.
     * @param length   its length.
     * @return false if the caller may not run the engine now and must queue a command instead.
     */
    boolean send(
        final int port,
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final long cookie,
        final DirectBuffer buffer,
        final int offset,
        final int length)
    {
        return send(port, flags, id, peer, peerPort, cookie, length, buffer, offset, length, null, 0);
    }

    /**
     * {@link #send(int, int, long, long, int, long, DirectBuffer, int, int)} for a message gathered from several
     * buffers, each taken whole, in order.
     *
     * @param port     our socket's port.
     * @param flags    {@link Commands} flags.
     * @param id       the RPC id.
     * @param peer     the other host.
     * @param peerPort the other socket's port.
     * @param cookie   the client's cookie (requests).
     * @param buffers  the pieces.
     * @param count    pieces used.
     * @param length   the sum of their capacities.
     * @return false if the caller may not run the engine now and must queue a command instead.
     */
    boolean send(
        final int port,
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final long cookie,
        final DirectBuffer[] buffers,
        final int count,
        final int length)
    {
        final DirectBuffer first = buffers[0];
        return send(port, flags, id, peer, peerPort, cookie, length, first, 0, first.capacity(), buffers, count);
    }

    /**
     * Start a reply whose body is a received message, now, if the calling thread may run the engine (see
     * {@link CommandHandler#startForward}).
     *
     * @param body     the message, still the application's.
     * @param port     our socket's port.
     * @param id       the server RPC's odd id.
     * @param peer     the client host.
     * @param peerPort the client's port.
     * @return false if the caller may not run the engine now; the message is then still the application's.
     */
    boolean forward(final HomaMessage body, final int port, final long id, final long peer, final int peerPort)
    {
        if (!begin())
        {
            return false;
        }
        try
        {
            body.forwardAsReply(port, id, peer, peerPort);
            commandHandler.startForward(body);
            transmit();
            return true;
        }
        finally
        {
            invokerThread.exit();
        }
    }

    /**
     * Start a request sent from the application's own memory now, if the calling thread may run the engine (see
     * {@link CommandHandler#startLent}).
     *
     * @param port     our socket's port.
     * @param flags    {@link Commands} flags.
     * @param id       the RPC id.
     * @param peer     the other host.
     * @param peerPort the other socket's port.
     * @param cookie   the client's cookie.
     * @param length   the message's length.
     * @param address  the address of its first byte.
     * @return false if the caller may not run the engine now and must queue a command instead.
     */
    boolean sendLent(
        final int port,
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final long cookie,
        final int length,
        final long address)
    {
        if (!begin())
        {
            return false;
        }
        try
        {
            commandHandler.startLent(port, flags, id, peer, peerPort, length, cookie, address);
            transmit();
            return true;
        }
        finally
        {
            invokerThread.exit();
        }
    }

    /**
     * Start a message with its first bytes and add whole buffers {@code 1 .. count - 1} of {@code rest} after them.
     */
    private boolean send(
        final int port,
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final long cookie,
        final int length,
        final DirectBuffer first,
        final int offset,
        final int firstBytes,
        final DirectBuffer[] rest,
        final int count)
    {
        if (!begin())
        {
            return false;
        }
        try
        {
            final OutboundMessage out = commandHandler.startMessage(
                port, flags, id, peer, peerPort, length, cookie, first, offset, firstBytes);
            if (null != out)
            {
                int at = firstBytes;
                for (int i = 1; i < count; i++)
                {
                    commandHandler.appendBytes(out, at, rest[i], 0, rest[i].capacity());
                    at += rest[i].capacity();
                }
            }
            transmit();
            return true;
        }
        finally
        {
            invokerThread.exit();
        }
    }

    /**
     * Enter the engine inline if the caller may, with the commands already in the ring carried out first; the caller
     * leaves with {@code invokerThread.exit()}.
     *
     * @return false if the caller may not run the engine now.
     */
    private boolean begin()
    {
        if (!invokerThread.mayRunInline())
        {
            return false;
        }
        invokerThread.enter();
        try
        {
            drainCommands();
        }
        catch (final RuntimeException ex)
        {
            invokerThread.exit();
            throw ex;
        }
        return true;
    }

    private void drainCommands()
    {
        // The time is the last duty cycle's, as for everything else the engine does between clock reads: the
        // thread that calls this drives the duty cycle, so it is a loop iteration old, and reading the clock here
        // would put one more clock read ahead of the send system call.
        while (0 != commands.read(commandHandler, commandLimit))
        {
            // Drain: a BIND or an earlier message still in the ring must take effect first.
        }
    }

    private void transmit()
    {
        try
        {
            pacer.pace();
            transmitter.flushBatch();
        }
        catch (final RuntimeException ex)
        {
            // The message is the protocol's now (the timers will retransmit it): a failure to transmit is the
            // duty cycle's kind of error, for the error handler, not a failed homaSend for the caller.
            metrics.increment(HomaMetrics.ERRORS);
            errorHandler.onError(ex);
        }
    }
}
