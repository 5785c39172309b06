package dev.homa.bench.load;

import dev.homa.nic.linux.CurrentThread;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.collections.IntArrayQueue;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The Java NIO side of a load client: non-blocking TCP connections ({@code TCP_NODELAY}) on one selector, requests
 * dealt to the connections in turn and written with one gathering write of prefix and header then the slot's
 * payload (no copy), responses parsed in place by a {@link FrameReader}. Idle: {@code select} until the next
 * arrival, so the thread sleeps in epoll as a NIO server or client does. {@code select} counts whole milliseconds,
 * so a wait for an arrival sooner than that also sets an alarm: a thread that sleeps until the arrival and then
 * wakes the selector (polling instead would take a processor from the server on a small machine).
 */
final class NioClient extends PollingClient
{
    private final Selector selector;
    private final Connection[] connections;
    private final ByteBuffer[] headers;
    private final UnsafeBuffer[] headerViews;
    private final ByteBuffer[] payloads;
    private final boolean full;
    private final boolean verify;
    private final Alarm alarm = new Alarm();
    private LoadDriver driver;
    private int next;

    NioClient(final LoadSpec spec, final LoadDriver driver)
    {
        full = spec.verifyFull();
        verify = !spec.verifyNone();
        final int slots = driver.slots();
        final int capacity = BitUtil.align(driver.maxMessageLength(), 64);
        headers = new ByteBuffer[slots];
        headerViews = new UnsafeBuffer[slots];
        payloads = new ByteBuffer[slots];
        for (int i = 0; i < slots; i++)
        {
            headers[i] = ByteBuffer.allocateDirect(TcpFraming.PREFIX_LENGTH + LoadMessage.HEADER_LENGTH);
            headerViews[i] = new UnsafeBuffer(headers[i]);
            final ByteBuffer payload = BufferUtil.allocateDirectAligned(capacity, 64);
            LoadMessage.fill(new UnsafeBuffer(payload), capacity, i);
            payloads[i] = payload;
        }
        final int colon = spec.server.lastIndexOf(':');
        final InetSocketAddress address = new InetSocketAddress(spec.server.substring(0, colon),
            Integer.parseInt(spec.server.substring(colon + 1)));
        try
        {
            selector = Selector.open();
            connections = new Connection[Math.max(1, spec.connections)];
            for (int i = 0; i < connections.length; i++)
            {
                connections[i] = new Connection(address, driver.maxMessageLength());
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot connect to " + address, ex);
        }
    }

    @Override
    public boolean send(final int slot, final long sequence, final int requestLength, final int responseLength)
    {
        final UnsafeBuffer header = headerViews[slot];
        header.putInt(0, requestLength, ByteOrder.BIG_ENDIAN);
        LoadMessage.writeHeader(header, TcpFraming.PREFIX_LENGTH, sequence, responseLength, slot);
        headers[slot].clear();
        payloads[slot].limit(requestLength).position(LoadMessage.HEADER_LENGTH);
        final Connection connection = connections[next];
        next = next + 1 == connections.length ? 0 : next + 1;
        connection.queue(slot);
        return true;
    }

    @Override
    int pollIo(final LoadDriver driver)
    {
        this.driver = driver;
        int work = 0;
        try
        {
            if (0 == selector.selectNow() && selector.selectedKeys().isEmpty())
            {
                return 0;
            }
            final Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext())
            {
                final SelectionKey key = keys.next();
                keys.remove();
                final Connection connection = (Connection)key.attachment();
                if (key.isValid() && key.isWritable())
                {
                    work += connection.flush();
                }
                if (key.isValid() && key.isReadable())
                {
                    work += connection.read();
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return work;
    }

    @Override
    void idle(final long maxWaitNs)
    {
        try
        {
            final long millis = maxWaitNs / 1_000_000;
            if (millis < 1)
            {
                alarm.set(System.nanoTime() + maxWaitNs);
            }
            selector.select(Math.max(1, millis));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    @Override
    void wake()
    {
        selector.wakeup();
    }

    @Override
    public void close()
    {
        alarm.close();
        for (final Connection connection : connections)
        {
            connection.close();
        }
        try
        {
            selector.close();
        }
        catch (final IOException ignore)
        {
            // closing anyway
        }
    }

    /**
     * Wakes the selector at a time finer than {@code select} can wait for.
     */
    private final class Alarm implements Runnable
    {
        private final Thread thread = Thread.ofPlatform().daemon().name("nio-client-alarm").start(this);
        private final AtomicLong dueNs = new AtomicLong(Long.MAX_VALUE);
        private volatile boolean closed;

        void set(final long atNs)
        {
            dueNs.set(atNs);
            LockSupport.unpark(thread);
        }

        void close()
        {
            closed = true;
            LockSupport.unpark(thread);
        }

        @Override
        public void run()
        {
            CurrentThread.minimiseTimerSlack();
            while (!closed)
            {
                final long due = dueNs.get();
                if (Long.MAX_VALUE == due)
                {
                    LockSupport.park();
                    continue;
                }
                final long waitNs = due - System.nanoTime();
                if (waitNs > 0)
                {
                    LockSupport.parkNanos(waitNs);
                    continue;
                }
                // A newer alarm set meanwhile stays for the next round.
                dueNs.compareAndSet(due, Long.MAX_VALUE);
                selector.wakeup();
            }
        }
    }

    private final class Connection implements FrameReader.FrameHandler
    {
        private final SocketChannel channel;
        private final SelectionKey key;
        private final FrameReader reader;
        private final IntArrayQueue writes = new IntArrayQueue(64, -1);
        private final ByteBuffer[] gather = new ByteBuffer[2];

        Connection(final InetSocketAddress address, final int maxMessage) throws IOException
        {
            channel = SocketChannel.open(address);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.configureBlocking(false);
            key = channel.register(selector, SelectionKey.OP_READ, this);
            reader = new FrameReader(maxMessage);
        }

        void queue(final int slot)
        {
            writes.addInt(slot);
            if (1 == writes.size())
            {
                try
                {
                    flush();
                }
                catch (final IOException ex)
                {
                    throw new UncheckedIOException(ex);
                }
            }
        }

        int flush() throws IOException
        {
            int done = 0;
            while (!writes.isEmpty())
            {
                final int slot = writes.peekInt();
                gather[0] = headers[slot];
                gather[1] = payloads[slot];
                channel.write(gather);
                if (headers[slot].hasRemaining() || payloads[slot].hasRemaining())
                {
                    key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
                    return done;
                }
                writes.pollInt();
                done++;
            }
            key.interestOps(SelectionKey.OP_READ);
            return done;
        }

        int read() throws IOException
        {
            final int read = reader.read(channel, this);
            if (read < 0)
            {
                throw new IOException("server closed the connection");
            }
            return read > 0 ? 1 : 0;
        }

        @Override
        public boolean onFrame(final UnsafeBuffer buffer, final int offset, final int length)
        {
            final int slot = LoadMessage.slot(buffer, offset);
            int status = LoadMessage.OK;
            if (!driver.isBusy(slot) || length != driver.responseLengthOf(slot))
            {
                status = LoadMessage.BAD_LENGTH;
            }
            else if (LoadMessage.sequence(buffer, offset) != driver.sequenceOf(slot))
            {
                status = LoadMessage.BAD_HEADER;
            }
            else if (verify)
            {
                status = LoadMessage.verifyPayload(buffer, offset, length, 0, driver.patternSlotOf(slot),
                    driver.sequenceOf(slot), length, full);
            }
            driver.onResponse(slot, status, System.nanoTime());
            return true;
        }

        void close()
        {
            try
            {
                channel.close();
            }
            catch (final IOException ignore)
            {
                // closing anyway
            }
        }
    }
}
