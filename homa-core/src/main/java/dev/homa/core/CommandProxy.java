package dev.homa.core;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;

/**
 * The application side of the command ring: encodes each command as a {@link Commands} record, from any thread,
 * waiting for room while the protocol thread catches up. {@link CommandHandler} decodes them on the protocol thread.
 */
final class CommandProxy
{
    private final HomaTransport transport;
    private final ManyToOneRingBuffer ring;
    private final NanoClock clock;

    /**
     * @param transport waits for room in the ring and wakes the engine.
     * @param ring      the command ring.
     * @param clock     the transport's clock, for the command timeout.
     */
    CommandProxy(final HomaTransport transport, final ManyToOneRingBuffer ring, final NanoClock clock)
    {
        this.transport = transport;
        this.ring = ring;
        this.clock = clock;
    }

    /**
     * Write a command without payload and wake the engine.
     *
     * @param type  {@link Commands#BIND}, {@link Commands#CLOSE}, {@link Commands#ABORT} or
     *              {@link Commands#DEADLINE}.
     * @param port  the socket's port.
     * @param id    the RPC id, or 0.
     * @param value the deadline of a {@link Commands#DEADLINE}, or 0.
     */
    void control(final int type, final int port, final long id, final long value)
    {
        final UnsafeBuffer scratch = new UnsafeBuffer(new byte[Commands.HEADER_LENGTH]);
        scratch.putInt(Commands.PORT_OFFSET, port);
        scratch.putLong(Commands.ID_OFFSET, id);
        scratch.putLong(Commands.DEADLINE_OFFSET, value);
        final long startNs = clock.nanoTime();
        while (!ring.write(type, scratch, 0, Commands.HEADER_LENGTH))
        {
            transport.awaitCommandSpace(startNs);
        }
        transport.engine().wake();
    }

    /**
     * Start a request whose bytes stay in the application's memory ({@link HomaSocket#SEND_NO_COPY}): the record
     * carries their address, not the bytes. The caller wakes the engine.
     *
     * @param port     our socket's port.
     * @param flags    {@link Commands} flags.
     * @param id       the RPC id.
     * @param peer     the other host.
     * @param peerPort the other socket's port.
     * @param cookie   the client's cookie.
     * @param length   the message's length.
     * @param address  the address of its first byte.
     */
    void lent(
        final int port,
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final long cookie,
        final int length,
        final long address)
    {
        final long startNs = clock.nanoTime();
        int index;
        while ((index = ring.tryClaim(Commands.SEND_LENT, Commands.HEADER_LENGTH + Long.BYTES)) < 0)
        {
            if (RingBuffer.INSUFFICIENT_CAPACITY != index)
            {
                throw new HomaException("command ring rejected a lent send: " + index);
            }
            transport.awaitCommandSpace(startNs);
        }
        final AtomicBuffer ringBuffer = ring.buffer();
        putHeader(ringBuffer, index, port, flags, id, peer, peerPort, length, cookie);
        ringBuffer.putLong(index + Commands.HEADER_LENGTH, address);
        ring.commit(index);
    }

    /**
     * Put bytes of a message into the ring as records of at most {@link Commands#MAX_CHUNK} bytes: the message's
     * first record starts it ({@link Commands#SEND}), the others add to it ({@link Commands#CHUNK}). The caller wakes
     * the engine once the whole message is in.
     *
     * @param port          our socket's port.
     * @param flags         {@link Commands} flags.
     * @param id            the RPC id.
     * @param peer          the other host.
     * @param peerPort      the other socket's port.
     * @param cookie        the client's cookie (requests).
     * @param length        the whole message's length.
     * @param messageOffset where in the message these bytes go.
     * @param buffer        the bytes.
     * @param offset        their first byte in {@code buffer}.
     * @param bytes         how many.
     */
    void message(
        final int port,
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final long cookie,
        final int length,
        final int messageOffset,
        final DirectBuffer buffer,
        final int offset,
        final int bytes)
    {
        final AtomicBuffer ringBuffer = ring.buffer();
        int done = 0;
        final long startNs = clock.nanoTime();
        while (done < bytes)
        {
            final int chunk = Math.min(Commands.MAX_CHUNK, bytes - done);
            final int type = 0 == messageOffset + done ? Commands.SEND : Commands.CHUNK;
            final int index = ring.tryClaim(type, Commands.HEADER_LENGTH + chunk);
            if (index < 0)
            {
                if (RingBuffer.INSUFFICIENT_CAPACITY != index)
                {
                    throw new HomaException("command ring rejected a record of " + chunk + " bytes: " + index);
                }
                transport.awaitCommandSpace(startNs);
                continue;
            }
            putHeader(ringBuffer, index, port, flags, id, peer, peerPort, length, cookie);
            ringBuffer.putInt(index + Commands.CHUNK_OFFSET_OFFSET, messageOffset + done);
            ringBuffer.putBytes(index + Commands.HEADER_LENGTH, buffer, offset + done, chunk);
            ring.commit(index);
            done += chunk;
        }
    }

    private static void putHeader(
        final AtomicBuffer ringBuffer,
        final int index,
        final int port,
        final int flags,
        final long id,
        final long peer,
        final int peerPort,
        final int length,
        final long cookie)
    {
        ringBuffer.putInt(index + Commands.PORT_OFFSET, port);
        ringBuffer.putInt(index + Commands.FLAGS_OFFSET, flags);
        ringBuffer.putLong(index + Commands.ID_OFFSET, id);
        ringBuffer.putLong(index + Commands.PEER_OFFSET, peer);
        ringBuffer.putInt(index + Commands.PEER_PORT_OFFSET, peerPort);
        ringBuffer.putInt(index + Commands.LENGTH_OFFSET, length);
        ringBuffer.putLong(index + Commands.COOKIE_OFFSET, cookie);
    }
}
