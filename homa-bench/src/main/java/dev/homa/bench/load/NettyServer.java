package dev.homa.bench.load;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The Netty echo server: epoll transport, one event loop for accepting and serving, {@code TCP_NODELAY}. Requests
 * are cut by {@link LengthFieldBasedFrameDecoder}; an echo writes a 4-byte prefix and the request's own buffer
 * back (no copy), any other length the request's header and a slice of the server's pattern buffer. Writes are
 * flushed once per read burst.
 */
final class NettyServer implements AutoCloseable
{
    private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final ByteBuf own;
    private final Channel listener;

    /**
     * @param bind       address and port to listen on (port 0: any).
     * @param maxMessage largest request or response.
     * @throws InterruptedException if interrupted while binding.
     */
    NettyServer(final InetSocketAddress bind, final int maxMessage) throws InterruptedException
    {
        final int capacity = BitUtil.align(maxMessage, 64);
        final ByteBuffer pattern = BufferUtil.allocateDirectAligned(capacity, 64);
        LoadMessage.fill(new UnsafeBuffer(pattern), capacity, LoadMessage.SERVER_SLOT);
        own = Unpooled.wrappedBuffer(pattern);
        listener = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new ChannelInitializer<Channel>()
            {
                @Override
                protected void initChannel(final Channel channel)
                {
                    channel.pipeline().addLast(frameDecoder(), new EchoHandler());
                }
            })
            .bind(bind).sync().channel();
    }

    /**
     * @return the port listened on.
     */
    int port()
    {
        return ((InetSocketAddress)listener.localAddress()).getPort();
    }

    @Override
    public void close() throws InterruptedException
    {
        listener.close().await(1, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    private final class EchoHandler extends ChannelInboundHandlerAdapter
    {
        @Override
        public void channelRead(final ChannelHandlerContext ctx, final Object msg)
        {
            final ByteBuf request = (ByteBuf)msg;
            final int length = request.readableBytes();
            final int responseLength = request.getInt(request.readerIndex() + LoadMessage.RESPONSE_LENGTH_OFFSET);
            if (responseLength == length)
            {
                final ByteBuf prefix = ctx.alloc().directBuffer(TcpFraming.PREFIX_LENGTH).writeInt(length);
                ctx.write(prefix, ctx.voidPromise());
                ctx.write(request, ctx.voidPromise());
                return;
            }
            final ByteBuf header = ctx.alloc().directBuffer(TcpFraming.PREFIX_LENGTH + LoadMessage.HEADER_LENGTH);
            header.writeInt(responseLength);
            header.writeBytes(request, request.readerIndex(), LoadMessage.HEADER_LENGTH);
            request.release();
            ctx.write(header, ctx.voidPromise());
            ctx.write(own.retainedSlice(LoadMessage.HEADER_LENGTH, responseLength - LoadMessage.HEADER_LENGTH),
                ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(final ChannelHandlerContext ctx)
        {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause)
        {
            ctx.close();
        }
    }

    /**
     * A length-prefixed frame decoder that gathers a frame's reads into a composite buffer: the default cumulator
     * copies what it holds each time it grows, which costs a megabyte frame several copies of itself.
     *
     * @return a new decoder for one channel.
     */
    static LengthFieldBasedFrameDecoder frameDecoder()
    {
        final LengthFieldBasedFrameDecoder decoder = new LengthFieldBasedFrameDecoder(
            2 * TcpFraming.MAX_MESSAGE, 0, TcpFraming.PREFIX_LENGTH, 0, TcpFraming.PREFIX_LENGTH);
        decoder.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
        return decoder;
    }
}
