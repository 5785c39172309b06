package dev.homa.bench.load;

import dev.homa.nic.linux.CurrentThread;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The Netty side of a load client: epoll transport, one event loop thread, {@code TCP_NODELAY} connections. A
 * request is a pooled 20-byte buffer (prefix and header) and a retained slice of the slot's payload, written
 * without a copy; responses are cut by {@link LengthFieldBasedFrameDecoder} and checked in place. The client's logic
 * runs on the event loop: responses free slots and issue the next requests; open-loop arrivals are scheduled
 * tasks; the runner's commands are submitted tasks.
 */
final class NettyClient
{
    private final LoadSpec spec;
    private final LoadDriver driver;
    private final ClientControl control;
    private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final EventLoop loop = group.next();
    private final ByteBuf[] payloads;
    private final Channel[] channels;
    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    private final CountDownLatch done = new CountDownLatch(1);
    private final boolean full;
    private final boolean verify;
    private int next;
    private boolean stopped;
    private boolean arrivalScheduled;
    private long drainDeadlineNs = Long.MAX_VALUE;

    NettyClient(final LoadSpec spec, final LoadDriver driver, final ClientControl control) throws InterruptedException
    {
        this.spec = spec;
        this.driver = driver;
        this.control = control;
        full = spec.verifyFull();
        verify = !spec.verifyNone();
        final int capacity = BitUtil.align(driver.maxMessageLength(), 64);
        payloads = new ByteBuf[driver.slots()];
        for (int i = 0; i < payloads.length; i++)
        {
            final ByteBuffer payload = BufferUtil.allocateDirectAligned(capacity, 64);
            LoadMessage.fill(new UnsafeBuffer(payload), capacity, i);
            payloads[i] = Unpooled.wrappedBuffer(payload);
        }
        final int colon = spec.server.lastIndexOf(':');
        final String host = spec.server.substring(0, colon);
        final int port = Integer.parseInt(spec.server.substring(colon + 1));
        final Bootstrap bootstrap = new Bootstrap().group(group).channel(EpollSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .handler(new ChannelInitializer<Channel>()
            {
                @Override
                protected void initChannel(final Channel channel)
                {
                    channel.pipeline().addLast(NettyServer.frameDecoder(), new ResponseHandler());
                }
            });
        channels = new Channel[Math.max(1, spec.connections)];
        for (int i = 0; i < channels.length; i++)
        {
            channels[i] = bootstrap.connect(host, port).sync().channel();
        }
        driver.sender(this::send);
    }

    /**
     * Run until the runner's stop and the drain, then print the result line.
     *
     * @param out where the result goes.
     * @throws InterruptedException if interrupted while waiting.
     */
    void run(final PrintStream out) throws InterruptedException
    {
        control.onCommand(() ->
        {
            if (!loop.isShuttingDown())
            {
                loop.execute(this::applyCommands);
            }
        });
        loop.execute(CurrentThread::minimiseTimerSlack);
        loop.execute(this::applyCommands);
        done.await();
        out.println("RESULT " + driver.stats().encode());
        out.flush();
        for (final Channel channel : channels)
        {
            channel.close().await(1, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    private void applyCommands()
    {
        final long nowNs = System.nanoTime();
        int phase;
        while (ClientControl.NONE != (phase = control.next()))
        {
            switch (phase)
            {
                case ClientControl.PHASE_GO -> driver.start(nowNs);
                case ClientControl.PHASE_MEASURE -> driver.measure(nowNs);
                default ->
                {
                    driver.stop(nowNs);
                    stopped = true;
                    drainDeadlineNs = nowNs + PollingClient.DRAIN_NS;
                    loop.schedule(this::checkDone, PollingClient.DRAIN_NS, TimeUnit.NANOSECONDS);
                }
            }
        }
        issue();
        checkDone();
    }

    private void issue()
    {
        final long nowNs = System.nanoTime();
        if (0 != driver.poll(nowNs))
        {
            for (final Channel channel : channels)
            {
                channel.flush();
            }
        }
        final long dueNs = driver.nextDueNs();
        if (Long.MAX_VALUE != dueNs && !arrivalScheduled)
        {
            arrivalScheduled = true;
            loop.schedule(() ->
            {
                arrivalScheduled = false;
                issue();
            }, Math.max(0, dueNs - nowNs), TimeUnit.NANOSECONDS);
        }
    }

    private void checkDone()
    {
        if (stopped && (0 == driver.inFlight() || System.nanoTime() - drainDeadlineNs >= 0))
        {
            done.countDown();
        }
    }

    private boolean send(final int slot, final long sequence, final int requestLength, final int responseLength)
    {
        final Channel channel = channels[next];
        next = next + 1 == channels.length ? 0 : next + 1;
        final ByteBuf header = channel.alloc().directBuffer(TcpFraming.PREFIX_LENGTH + LoadMessage.HEADER_LENGTH);
        header.writeInt(requestLength);
        header.writeLong(sequence);
        header.writeInt(responseLength);
        header.writeInt(slot);
        channel.write(header, channel.voidPromise());
        channel.write(payloads[slot].retainedSlice(LoadMessage.HEADER_LENGTH,
            requestLength - LoadMessage.HEADER_LENGTH), channel.voidPromise());
        return true;
    }

    private final class ResponseHandler extends ChannelInboundHandlerAdapter
    {
        @Override
        public void channelRead(final ChannelHandlerContext ctx, final Object msg)
        {
            final ByteBuf frame = (ByteBuf)msg;
            try
            {
                driver.onResponse(slotOf(frame), check(frame), System.nanoTime());
            }
            finally
            {
                frame.release();
            }
        }

        @Override
        public void channelReadComplete(final ChannelHandlerContext ctx)
        {
            issue();
            checkDone();
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause)
        {
            cause.printStackTrace();
            ctx.close();
            stopped = true;
            done.countDown();
        }
    }

    private int slotOf(final ByteBuf frame)
    {
        return frame.getInt(frame.readerIndex() + LoadMessage.SLOT_OFFSET);
    }

    private int check(final ByteBuf frame)
    {
        final int slot = slotOf(frame);
        final int length = frame.readableBytes();
        if (!driver.isBusy(slot) || length != driver.responseLengthOf(slot))
        {
            return LoadMessage.BAD_LENGTH;
        }
        if (frame.getLong(frame.readerIndex() + LoadMessage.SEQUENCE_OFFSET) != driver.sequenceOf(slot))
        {
            return LoadMessage.BAD_HEADER;
        }
        if (!verify)
        {
            return LoadMessage.OK;
        }
        final int patternSlot = driver.patternSlotOf(slot);
        if (frame.hasMemoryAddress())
        {
            view.wrap(frame.memoryAddress() + frame.readerIndex(), length);
            return LoadMessage.verifyPayload(view, 0, length, 0, patternSlot, driver.sequenceOf(slot), length, full);
        }
        int at = 0;
        for (final ByteBuffer piece : frame.nioBuffers())
        {
            final UnsafeBuffer pieceView = new UnsafeBuffer(piece);
            final int status = LoadMessage.verifyPayload(pieceView, 0, piece.remaining(), at, patternSlot,
                driver.sequenceOf(slot), length, full);
            if (LoadMessage.OK != status)
            {
                return status;
            }
            at += piece.remaining();
        }
        return LoadMessage.OK;
    }
}
