package dev.homa.bench.load;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;
import java.util.function.BooleanSupplier;

/**
 * The Java NIO echo server: one thread, one selector, non-blocking {@code TCP_NODELAY} connections. A request is
 * answered in place: an echo is written back from the read buffer it arrived in (the length prefix is the same), any
 * other length from the server's own pattern buffer under the request's header; a connection whose answer does not
 * fit in its socket buffer is not read further until the answer is out.
 */
final class NioServer implements AutoCloseable
{
    private final Selector selector;
    private final ServerSocketChannel listener;
    private final ByteBuffer own;
    private final UnsafeBuffer ownView;
    private final int maxMessage;

    /**
     * @param bind       address and port to listen on (port 0: any).
     * @param maxMessage largest request or response.
     * @throws IOException if the port cannot be bound.
     */
    NioServer(final InetSocketAddress bind, final int maxMessage) throws IOException
    {
        this.maxMessage = maxMessage;
        selector = Selector.open();
        listener = ServerSocketChannel.open();
        listener.bind(bind, 1024);
        listener.configureBlocking(false);
        listener.register(selector, SelectionKey.OP_ACCEPT);
        final int capacity = BitUtil.align(TcpFraming.PREFIX_LENGTH + maxMessage, 64);
        own = BufferUtil.allocateDirectAligned(capacity, 64);
        ownView = new UnsafeBuffer(own);
        // The pattern starts after the prefix so that message offsets line up with LoadMessage's.
        final UnsafeBuffer pattern =
            new UnsafeBuffer(own, TcpFraming.PREFIX_LENGTH, capacity - TcpFraming.PREFIX_LENGTH);
        LoadMessage.fill(pattern, capacity - TcpFraming.PREFIX_LENGTH, LoadMessage.SERVER_SLOT);
    }

    /**
     * @return the port listened on.
     * @throws IOException if it cannot be read.
     */
    int port() throws IOException
    {
        return ((InetSocketAddress)listener.getLocalAddress()).getPort();
    }

    /**
     * Serve until told to stop.
     *
     * @param stop checked between rounds of I/O.
     * @throws IOException from the selector.
     */
    void run(final BooleanSupplier stop) throws IOException
    {
        while (!stop.getAsBoolean())
        {
            selector.select(100);
            final Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext())
            {
                final SelectionKey key = keys.next();
                keys.remove();
                if (!key.isValid())
                {
                    continue;
                }
                if (key.isAcceptable())
                {
                    accept();
                    continue;
                }
                final Connection connection = (Connection)key.attachment();
                try
                {
                    if (key.isWritable())
                    {
                        connection.flush();
                    }
                    if (key.isValid() && key.isReadable())
                    {
                        connection.read();
                    }
                }
                catch (final IOException ex)
                {
                    connection.close();
                }
            }
        }
    }

    private void accept() throws IOException
    {
        final SocketChannel channel = listener.accept();
        if (null != channel)
        {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.configureBlocking(false);
            final Connection connection = new Connection(channel);
            connection.key = channel.register(selector, SelectionKey.OP_READ, connection);
        }
    }

    @Override
    public void close() throws IOException
    {
        for (final SelectionKey key : selector.keys())
        {
            key.channel().close();
        }
        selector.close();
    }

    private final class Connection implements FrameReader.FrameHandler
    {
        private final SocketChannel channel;
        private final FrameReader reader = new FrameReader(maxMessage);
        private final ByteBuffer[] gather = new ByteBuffer[2];
        private final ByteBuffer header =
            ByteBuffer.allocateDirect(TcpFraming.PREFIX_LENGTH + LoadMessage.HEADER_LENGTH);
        private final UnsafeBuffer headerView = new UnsafeBuffer(header);
        private final ByteBuffer ownPayload = own.duplicate();
        private SelectionKey key;
        private ByteBuffer echo;
        private boolean writing;

        Connection(final SocketChannel channel)
        {
            this.channel = channel;
        }

        void read() throws IOException
        {
            if (reader.read(channel, this) < 0)
            {
                close();
            }
        }

        @Override
        public boolean onFrame(final UnsafeBuffer buffer, final int offset, final int length)
        {
            if (writing)
            {
                return false;
            }
            final int responseLength = LoadMessage.responseLength(buffer, offset);
            if (responseLength == length)
            {
                echo = reader.slice(offset - TcpFraming.PREFIX_LENGTH, TcpFraming.PREFIX_LENGTH + length);
                gather[0] = echo;
                gather[1] = null;
            }
            else
            {
                headerView.putInt(0, responseLength, ByteOrder.BIG_ENDIAN);
                headerView.putBytes(TcpFraming.PREFIX_LENGTH, buffer, offset, LoadMessage.HEADER_LENGTH);
                header.clear();
                ownPayload.limit(TcpFraming.PREFIX_LENGTH + responseLength)
                    .position(TcpFraming.PREFIX_LENGTH + LoadMessage.HEADER_LENGTH);
                gather[0] = header;
                gather[1] = ownPayload;
                echo = null;
            }
            try
            {
                if (!writeOut())
                {
                    writing = true;
                    reader.pin();
                    key.interestOps(SelectionKey.OP_WRITE);
                }
            }
            catch (final IOException ex)
            {
                close();
                return false;
            }
            return true;
        }

        /**
         * The socket became writable: go on with the pending answer, then with the frames behind it.
         */
        void flush() throws IOException
        {
            if (writing && writeOut())
            {
                writing = false;
                reader.unpin();
                key.interestOps(SelectionKey.OP_READ);
                reader.deliver(this);
            }
        }

        private boolean writeOut() throws IOException
        {
            if (null != echo)
            {
                channel.write(echo);
                return !echo.hasRemaining();
            }
            channel.write(gather);
            return !gather[0].hasRemaining() && !gather[1].hasRemaining();
        }

        void close()
        {
            try
            {
                key.cancel();
                channel.close();
            }
            catch (final IOException ignore)
            {
                // closing anyway
            }
        }
    }
}
