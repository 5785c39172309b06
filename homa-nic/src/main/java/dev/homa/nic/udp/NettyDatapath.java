package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.linux.PacketPool;
import dev.homa.nic.linux.TransmitQueue;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.IoEventLoop;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import org.agrona.BufferUtil;
import org.agrona.collections.Long2ObjectHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/**
 * The datapath of {@link UdpDriver} on Netty {@code EpollDatagramChannel}s. Writes are reusable
 * {@code DatagramPacket}s ({@link OutboundDatagram}) over the pool slots, flushed through Netty's
 * {@code NativeDatagramPacketArray} ({@code sendmmsg}); GSO runs are copied into 64 KiB staging buffers; reads use
 * Netty's {@code recvmmsg}, or its {@code recvmsg} path with GRO (Netty reports GRO segment sizes only there), and
 * copy each datagram into a pool slot. Every level's socket receives (the steering program sends each datagram to
 * the socket of its TOS class, so the socket names the level, as Netty exposes no TOS control message). Netty's
 * datagram API allocates an {@code InetSocketAddress}, an {@code Inet4Address} and a {@code DatagramPacket} per
 * received datagram and copies the recipient's address bytes per sent one (less on a
 * {@code FastThreadLocalThread}, where Netty's Recycler batches).
 */
final class NettyDatapath implements UdpDatapath
{
    private static final Logger LOGGER = LoggerFactory.getLogger(UdpDriver.class);

    private final LevelSockets sockets;
    private final PacketPool pool;
    private final ReceiveQueue queue;
    private final UdpCounters counters;
    private final Runnable runLoop;
    private final int maxPacketLength;
    private final ByteBuf[] packetViews;
    private final OutboundDatagram[] txDatagrams;
    private final ByteBuffer gsoMemory;
    private final ByteBuf[] gsoViews;
    private final SegmentedOutboundDatagram[] gsoDatagrams;
    private final Long2ObjectHashMap<InetSocketAddress> addressCache = new Long2ObjectHashMap<>();
    private final int addressCacheCapacity;
    private boolean gso;

    /**
     * Registers the level sockets with the loop, which runs them once the driver has its owner.
     *
     * @param pool      the driver's packets.
     * @param queue     takes received packets.
     * @param counters  the driver's counters.
     * @param sockets   the level sockets.
     * @param context   the driver's settings.
     * @param gso       whether runs may leave as GSO super-datagrams.
     * @param eventLoop the driver's loop.
     * @param runLoop   runs the loop once, while a flush waits for the kernel to take its datagrams.
     */
    NettyDatapath(
        final PacketPool pool,
        final ReceiveQueue queue,
        final UdpCounters counters,
        final LevelSockets sockets,
        final UdpDriverContext context,
        final boolean gso,
        final IoEventLoop eventLoop,
        final Runnable runLoop)
    {
        this.sockets = sockets;
        this.pool = pool;
        this.queue = queue;
        this.counters = counters;
        this.runLoop = runLoop;
        this.gso = gso;
        maxPacketLength = pool.capacity();
        addressCacheCapacity = context.addressCacheCapacity();
        packetViews = new ByteBuf[pool.size()];
        for (int i = 0; i < packetViews.length; i++)
        {
            packetViews[i] = Unpooled.wrappedBuffer(pool.packetSegment(i).asByteBuffer());
        }
        txDatagrams = new OutboundDatagram[context.txQueueCapacity()];
        for (int i = 0; i < txDatagrams.length; i++)
        {
            txDatagrams[i] = new OutboundDatagram();
        }
        final int gsoBufferCount = gso ? context.gsoBuffers() : 0;
        gsoMemory = ByteBuffer.allocateDirect(Math.max(1, gsoBufferCount) * UdpDriver.GSO_BUFFER_LENGTH + 64);
        final ByteBuffer alignedGso = gsoMemory.alignedSlice(64);
        gsoViews = new ByteBuf[gsoBufferCount];
        gsoDatagrams = new SegmentedOutboundDatagram[gsoBufferCount];
        for (int i = 0; i < gsoBufferCount; i++)
        {
            gsoViews[i] = Unpooled.wrappedBuffer(alignedGso.slice(i * UdpDriver.GSO_BUFFER_LENGTH,
                UdpDriver.GSO_BUFFER_LENGTH));
            gsoDatagrams[i] = new SegmentedOutboundDatagram();
        }
        for (int level = 0; level < UdpDriver.PRIORITY_LEVELS; level++)
        {
            final EpollDatagramChannel channel = sockets.channel(level);
            channel.pipeline().addLast(new Receiver(level));
            eventLoop.register(channel);
        }
    }

    @Override
    public void attach(final IoEventLoop eventLoop)
    {
        // The channels joined the loop when the datapath was made.
    }

    @Override
    public long send(final TransmitQueue queue)
    {
        final int count = queue.count();
        int touchedLevels = 0;
        int gsoUsed = 0;
        int i = 0;
        long wireBytes = 0;
        while (i < count)
        {
            final Packet first = queue.packet(i);
            final int level = queue.priority(i);
            final InetSocketAddress recipient = recipientFor(queue.destination(i));
            final EpollDatagramChannel channel = sockets.channel(level);
            touchedLevels |= 1 << level;

            final int runEnd = gsoUsed < gsoViews.length ?
                queue.runEnd(i, UdpDriver.GSO_MAX_SEGMENTS, UdpDriver.MAX_UDP_PAYLOAD) : i + 1;
            if (runEnd - i >= 2)
            {
                final ByteBuf staging = gsoViews[gsoUsed];
                int offset = 0;
                for (int j = i; j < runEnd; j++)
                {
                    final Packet packet = queue.packet(j);
                    staging.setBytes(offset, packetViews[(int)packet.handle()], 0, packet.length());
                    offset += packet.length();
                    wireBytes += packet.length() + UdpDriver.WIRE_OVERHEAD;
                }
                staging.setIndex(0, offset);
                channel.write(gsoDatagrams[gsoUsed].set(staging, first.length(), recipient), channel.voidPromise());
                gsoUsed++;
                counters.onGsoSend(runEnd - i);
                i = runEnd;
            }
            else
            {
                final ByteBuf view = packetViews[(int)first.handle()];
                view.setIndex(0, first.length());
                channel.write(txDatagrams[i].set(view, recipient), channel.voidPromise());
                wireBytes += first.length() + UdpDriver.WIRE_OVERHEAD;
                i++;
            }
        }

        for (int level = UdpDriver.PRIORITY_LEVELS - 1; level >= 0; level--)
        {
            if (0 != (touchedLevels & (1 << level)))
            {
                sockets.channel(level).flush();
            }
        }
        awaitWritten(touchedLevels);
        for (int j = 0; j < count; j++)
        {
            txDatagrams[j].clear();
        }
        for (int j = 0; j < gsoUsed; j++)
        {
            gsoDatagrams[j].clear();
        }
        return wireBytes;
    }

    /**
     * The contract lets the caller reuse its packets once flush returns, and Netty's iovecs point into them, so
     * wait until the kernel has taken every datagram. The socket buffer is only full when the NIC is slower than
     * the sender, which the pacer prevents; the spin is the back-pressure that remains.
     */
    private void awaitWritten(final int touchedLevels)
    {
        boolean stalled = false;
        while (true)
        {
            boolean pending = false;
            for (int level = 0; level < UdpDriver.PRIORITY_LEVELS; level++)
            {
                if (0 != (touchedLevels & (1 << level)))
                {
                    final ChannelOutboundBuffer outbound = sockets.channel(level).unsafe().outboundBuffer();
                    if (null != outbound && !outbound.isEmpty())
                    {
                        pending = true;
                        break;
                    }
                }
            }
            if (!pending)
            {
                return;
            }
            if (!stalled)
            {
                stalled = true;
                counters.onFlushStall();
            }
            runLoop.run();
            Thread.onSpinWait();
        }
    }

    private InetSocketAddress recipientFor(final long destination)
    {
        InetSocketAddress address = addressCache.get(destination);
        if (null == address)
        {
            if (addressCache.size() >= addressCacheCapacity)
            {
                addressCache.clear();
            }
            try
            {
                address = new InetSocketAddress(
                    LevelSockets.inet(HostAddress.ipv4Of(destination)), HostAddress.portOf(destination));
            }
            catch (final UnknownHostException ex)
            {
                throw new IllegalArgumentException("bad destination " + destination, ex);
            }
            addressCache.put(destination, address);
        }
        return address;
    }

    private void onDatagram(final DatagramPacket datagram, final int level)
    {
        final ByteBuf content = datagram.content();
        final int length = content.readableBytes();
        final InetSocketAddress sender = datagram.sender();
        if (0 == length)
        {
            counters.onDroppedEmpty();
        }
        else if (length > maxPacketLength)
        {
            counters.onDroppedOversize();
        }
        else if (null == sender || !(sender.getAddress() instanceof Inet4Address))
        {
            if (0 == pool.available())
            {
                counters.onDroppedNoBuffer();
            }
            else
            {
                counters.onDroppedOther();
            }
        }
        else
        {
            final int slot = pool.take();
            if (slot < 0)
            {
                counters.onDroppedNoBuffer();
                return;
            }
            content.getBytes(content.readerIndex(), packetViews[slot], 0, length);
            // Inet4Address.hashCode() is the address itself; getAddress() would allocate a copy.
            final long source = HostAddress.ipv4(sender.getAddress().hashCode(), sender.getPort());
            queue.add(slot, length, source, level);
        }
    }

    private void onIoError(final Throwable cause)
    {
        if (gso && cause instanceof IOException && String.valueOf(cause.getMessage()).contains("EIO"))
        {
            // The device cannot checksum-offload segmented UDP: stop using GSO, Homa retransmits what was lost.
            gso = false;
            LOGGER.warn("disabling UDP GSO after send error: {}", cause.toString());
        }
        counters.onIoError(cause);
    }

    @Override
    public boolean readsDirectly()
    {
        return false;
    }

    @Override
    public void receiveNow()
    {
        throw new UnsupportedOperationException("the netty datapath reads through the event loop");
    }

    @Override
    public void armForWait()
    {
        // The channels stay registered for reading.
    }

    @Override
    public void disarmAfterWait()
    {
        // The channels stay registered for reading.
    }

    @Override
    public boolean gathersPayload()
    {
        return false;
    }

    @Override
    public boolean gsoEnabled()
    {
        return gso;
    }

    @Override
    public long ownSocketDrops()
    {
        return 0;
    }

    @Override
    public void close(final boolean onOwner)
    {
        if (onOwner)
        {
            for (final EpollDatagramChannel channel : sockets.channels())
            {
                channel.close();
            }
        }
        BufferUtil.free(gsoMemory);
    }

    /**
     * Copies each datagram of one level's socket into a pool slot; runs on the owner thread inside the loop.
     */
    private final class Receiver extends ChannelInboundHandlerAdapter
    {
        private final int level;

        Receiver(final int level)
        {
            this.level = level;
        }

        @Override
        public void channelRead(final ChannelHandlerContext ctx, final Object msg)
        {
            try
            {
                if (msg instanceof DatagramPacket)
                {
                    onDatagram((DatagramPacket)msg, level);
                }
                else
                {
                    counters.onDroppedOther();
                }
            }
            finally
            {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause)
        {
            onIoError(cause);
        }
    }
}
