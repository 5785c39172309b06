package dev.homa.bench.load;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;

/**
 * Reads length-prefixed frames ({@link TcpFraming}) from a non-blocking socket into one direct buffer and hands each
 * complete frame over in place, without copying it. The buffer holds two of the largest frames, so a frame that
 * starts in its first half always fits where it starts; only one that starts later is moved to the front, once.
 * A handler that still needs the bytes of a frame it took (it is writing them back) {@link #pin pins} the buffer:
 * nothing is moved or read over until it lets go.
 */
final class FrameReader
{
    /**
     * Receives complete frames.
     */
    interface FrameHandler
    {
        /**
         * @param buffer  the reader's buffer.
         * @param offset  first byte of the message (after the length prefix).
         * @param length  message bytes.
         * @return false to stop taking frames for now (the handler is busy, e.g. writing its answer); the frame is
         * offered again on the next call.
         */
        boolean onFrame(UnsafeBuffer buffer, int offset, int length);
    }

    private final ByteBuffer bytes;
    private final UnsafeBuffer view;
    private int start;
    private int end;
    private boolean pinned;

    /**
     * @param maxMessage largest message expected.
     */
    FrameReader(final int maxMessage)
    {
        final int capacity = BitUtil.align(2 * (maxMessage + TcpFraming.PREFIX_LENGTH), 4096);
        bytes = BufferUtil.allocateDirectAligned(capacity, 64);
        view = new UnsafeBuffer(bytes);
    }

    /**
     * Read what the socket has and hand over the complete frames.
     *
     * @param channel the socket.
     * @param handler takes the frames.
     * @return bytes read, -1 at end of stream.
     * @throws IOException from the socket, or a frame larger than allowed.
     */
    int read(final SocketChannel channel, final FrameHandler handler) throws IOException
    {
        if (pinned || !deliver(handler) || pinned)
        {
            return 0;
        }
        bytes.limit(bytes.capacity()).position(end);
        final int read = channel.read(bytes);
        if (read > 0)
        {
            end += read;
            deliver(handler);
        }
        return read;
    }

    /**
     * Offer the complete frames again (after the handler refused one).
     *
     * @param handler takes the frames.
     * @return true if every complete frame was taken.
     * @throws IOException for a frame larger than allowed.
     */
    boolean deliver(final FrameHandler handler) throws IOException
    {
        while (end - start >= TcpFraming.PREFIX_LENGTH)
        {
            final int length = view.getInt(start, ByteOrder.BIG_ENDIAN);
            if (length < 0 || length + TcpFraming.PREFIX_LENGTH > bytes.capacity() / 2)
            {
                throw new IOException("frame of " + length + " bytes: larger than allowed");
            }
            if (end - start < TcpFraming.PREFIX_LENGTH + length)
            {
                break;
            }
            if (!handler.onFrame(view, start + TcpFraming.PREFIX_LENGTH, length))
            {
                return false;
            }
            start += TcpFraming.PREFIX_LENGTH + length;
        }
        if (pinned)
        {
            return true;
        }
        if (start == end)
        {
            start = 0;
            end = 0;
        }
        else if (start >= bytes.capacity() / 2)
        {
            // A partial frame in the second half might not fit where it is: move it to the front, once.
            view.putBytes(0, view, start, end - start);
            end -= start;
            start = 0;
        }
        return true;
    }

    /**
     * Keep the bytes of the frames taken so far where they are (no move, no read) until {@link #unpin()}.
     */
    void pin()
    {
        pinned = true;
    }

    /**
     * Let go of the frames taken; reading and moving may go on.
     */
    void unpin()
    {
        pinned = false;
    }

    /**
     * @param offset a byte offset in the buffer.
     * @return a byte-buffer view of {@code length} bytes from there (allocates a view; for writing a frame back).
     */
    ByteBuffer slice(final int offset, final int length)
    {
        return bytes.duplicate().limit(offset + length).position(offset);
    }
}
