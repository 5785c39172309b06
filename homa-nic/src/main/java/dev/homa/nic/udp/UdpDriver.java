package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicQueueEstimator;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.linux.NetDevice;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.ManualIoEventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollDatagramChannelConfig;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.util.ReferenceCountUtil;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Homa over UDP/IPv4 on Netty's native epoll transport: the Homa header is the UDP payload and the priority level
 * travels as DSCP class selector CS0..CS7 ({@code IP_TOS = level << 5}) and as the socket's {@code SO_PRIORITY}.
 * Runs without privileges.
 *
 * <h2>Threading: Netty's event loop is the protocol thread</h2>
 * The {@link NicDriver} contract is poll-based and single-threaded. Netty 4.2's {@link ManualIoEventLoop} is an
 * event loop that the owner drives itself, so the driver runs Netty's epoll loop <em>on the protocol thread</em>,
 * inside {@link #poll} and {@link #flush}: no second thread, no hand-off queue, no locks, no wake-ups. An idle
 * {@link #poll} costs one non-blocking {@code recvmmsg} per receive socket (native datapath) or one non-blocking
 * {@code epoll_wait} (netty datapath). The first thread to call {@link #poll},
 * {@link #send}, {@link #flush} or {@link #close} becomes the owner; another thread afterwards is a usage error.
 *
 * <h2>Priority: one socket per level</h2>
 * {@code SO_PRIORITY} is per socket and Netty's channels set {@code IP_TOS} per socket too, so the driver opens
 * eight sockets bound to the same address and port with {@code SO_REUSEPORT} and sends each packet on the socket
 * of its level ({@code IP_TOS = level << 5}, {@code SO_PRIORITY = level}, 6 for level 7 without
 * {@code CAP_NET_ADMIN}); the peer sees one address. Without help the kernel would spread received datagrams over
 * the group by a hash of the addresses, so a classic BPF reuseport program ({@link PrioritySteering}) chooses the
 * socket instead:
 * <ul>
 *     <li>native datapath: every datagram goes to the first socket, which has {@code IP_RECVTOS} on (unless
 *     {@code rxtos=false}); the level is read from each datagram's {@code IP_TOS} control message. A poll is then
 *     one {@code recvmmsg} on one socket, with no {@code epoll_wait} before it, and the socket joins the epoll set
 *     only while {@link #awaitReadable} blocks.</li>
 *     <li>netty datapath (Netty exposes no TOS control message): each datagram goes to the socket whose index is
 *     its TOS class, and the receiving socket names the level.</li>
 * </ul>
 * Either way {@link Packet#priority()} is the level the sender put on the wire, or -1 where no program could be
 * attached. Datagrams of one level keep their order; packets of different levels may be reordered, as they may in
 * a switch with priority queues.
 *
 * <h2>Datapaths</h2>
 * Both datapaths run on Netty's epoll loop and batch the same way: {@link #send} only queues; {@link #flush} forms
 * GSO runs (two or more consecutive packets to one destination and level, all as long as the first except the
 * last, within 64 segments and the UDP payload limit) and hands each level's datagrams to the kernel in one
 * {@code sendmmsg} on that level's socket, highest level first; a run becomes one {@code UDP_SEGMENT}
 * super-datagram that the kernel segments once, late. {@link #flush} returns only when the kernel has taken every
 * datagram, so the caller may reuse its packets right away.
 * <ul>
 *     <li>{@link UdpDriverContext.Datapath#NATIVE} (default): {@code sendmmsg}/{@code recvmmsg} through FFM on the
 *     sockets, with read readiness from Netty through an {@code EpollIoHandle} per socket. Zero-copy both ways:
 *     iovecs point at the pool slots (a GSO run gathers its slots), receives scatter into free slots. With UDP GRO
 *     a {@code recvmmsg} batch reads coalesced 64 KiB super-datagrams, cut at the reported segment size into
 *     slots. A poll reads no more datagrams than it can deliver; the rest waits in the socket buffer, not in the
 *     pool. No allocation per packet (UdpDriverAllocationTest: 0 B/packet).</li>
 *     <li>{@link UdpDriverContext.Datapath#NETTY}: Netty {@code EpollDatagramChannel}s. Writes are reusable
 *     {@code DatagramPacket}s over the pool slots flushed through Netty's {@code NativeDatagramPacketArray}
 *     ({@code sendmmsg}); GSO runs are copied into 64 KiB staging buffers; reads use Netty's {@code recvmmsg}, or
 *     its {@code recvmsg} path with GRO (Netty reports GRO segment sizes only there). Netty's datagram API
 *     allocates an {@code InetSocketAddress}, an {@code Inet4Address} and a {@code DatagramPacket} per received
 *     datagram and copies the recipient's address bytes per sent one (less on a {@code FastThreadLocalThread},
 *     where Netty's Recycler batches).</li>
 * </ul>
 * GSO and GRO fall back to plain datagrams where the kernel lacks them; GSO is switched off if a device refuses a
 * segmented send ({@code EIO}: no UDP checksum offload).
 *
 * <h2>Connected peers</h2>
 * With {@code connect=N} ({@link UdpDriverContext#connectedPeers(int)}, native datapath) the first N peers sent a
 * lone datagram get a socket of the same address and port, connected to them, inside the reuseport group. The
 * kernel prefers it for that peer's datagrams and keeps its routes cached both ways, which an unconnected socket
 * cannot, so neither direction pays a route lookup. Lone datagrams at the socket's level leave on it (it follows
 * the peer's level after eight in a row at another one); batches and other levels keep the per-level sockets.
 * Each connected socket is read on every poll, so this suits hosts with a few peers; meanwhile the unconnected
 * receive socket is read on every {@code unconnectedEvery}-th poll (8) and while busy.
 *
 * <h2>Memory</h2>
 * Packets live in one off-heap pool shared by sending and receiving, 64-byte aligned slots of
 * {@link #maxPacketLength()} bytes. A received packet delivered to a sink is a pool slot until released.
 */
public final class UdpDriver implements NicDriver
{
    /**
     * Packets of at least this length may have their payload placed by the sink: below it a second system call per
     * packet (the peek at its header) costs more than the copy it saves.
     */
    static final int PLACEMENT_MIN_LENGTH = 16 * 1024;
    /** The driver offers placement only where packets can be that large. */
    static final int PLACEMENT_MIN_PACKET_LENGTH = 2 * PLACEMENT_MIN_LENGTH;
    /** Handle of the packet that lends staged segments in place. */
    private static final long LENT_HANDLE = -2;
    /** Priority levels carried as DSCP CS0..CS7. */
    public static final int PRIORITY_LEVELS = PriorityMapping.LEVELS;
    /** IPv4 header (no options) plus UDP header. */
    public static final int IPV4_UDP_HEADER_LENGTH = 20 + 8;
    /** Largest UDP payload over IPv4. */
    public static final int MAX_UDP_PAYLOAD = 65_535 - IPV4_UDP_HEADER_LENGTH;
    /** Ethernet header 14, FCS 4, preamble 8, inter-frame gap 12. */
    public static final int ETHERNET_OVERHEAD = 14 + 4 + 8 + 12;
    /** Most segments the driver puts in one GSO super-datagram (the kernel's UDP_MAX_SEGMENTS is at least 64). */
    public static final int GSO_MAX_SEGMENTS = 64;
    /** Bytes of a GSO staging buffer. */
    public static final int GSO_BUFFER_LENGTH = 65_536;

    static final int SO_PRIORITY = 12;
    private static final int SO_MEMINFO = 55;
    private static final int SK_MEMINFO_VARS = 9;
    private static final int SK_MEMINFO_DROPS = 8;
    private static final int GRO_RECEIVE_BUFFER_LENGTH = 65_536 + 4096;
    private static final int STATE_FREE = 0;
    private static final int STATE_OWNED = 1;
    private static final Logger LOGGER = LoggerFactory.getLogger(UdpDriver.class);
    private static final Runnable NO_OP = () ->
    {
    };

    private final ManualIoEventLoop eventLoop;
    private final EpollDatagramChannel[] channels = new EpollDatagramChannel[PRIORITY_LEVELS];
    private final NanoClock clock;
    private final NicQueueEstimator queueEstimator;
    private final long localAddress;
    private final UdpDriverContext context;
    private int connectedSockets;
    private long connectedSends;
    private long connectedRelevels;
    private final int maxPacketLength;
    private final long linkBitsPerSecond;
    private final boolean transmitQueue;
    private final boolean prioritySteering;
    private boolean gsoEnabled;
    private final boolean groEnabled;
    private final NativeDatapath nativeDatapath;
    private final boolean singleReceiver;
    private volatile boolean wakeupPending;

    private final ByteBuffer poolMemory;
    private final Packet[] packets;
    private final ByteBuf[] packetViews;
    private final byte[] packetState;
    private final int[] freeStack;
    private int freeCount;

    private final Packet[] rxRing;
    private int rxHead;
    private int rxCount;
    private long rxTimestampNs;
    private boolean rxTimestampStale = true;
    private int rxBudget;
    /** During a poll, the sink that is lent staged GRO segments in place (it releases before returning), or null. */
    private PacketSink lendingSink;
    /** During a poll, the sink that places large packets' payloads ({@link PacketSink#placePayload}), or null. */
    private PacketSink placingSink;
    private int lentDelivered;
    private final Packet lentView = new Packet(new UnsafeBuffer(0, 0), LENT_HANDLE);
    private final int receiveBatch;

    private final Packet[] txPackets;
    private final long[] txDestinations;
    private final int[] txPriorities;
    private final OutboundDatagram[] txDatagrams;
    private int txCount;

    private final ByteBuffer gsoMemory;
    private final ByteBuf[] gsoViews;
    private final SegmentedOutboundDatagram[] gsoDatagrams;

    private final Long2ObjectHashMap<InetSocketAddress> addressCache;
    private final int addressCacheCapacity;
    private final byte[] addressBytes = new byte[4];

    private volatile Thread owner;
    private volatile boolean closed;

    private long packetsSent;
    private long packetsReceived;
    private long gsoSends;
    private long gsoSegments;
    private long rxDroppedNoBuffer;
    private long rxDroppedOversize;
    private long rxDroppedEmpty;
    private long rxDroppedOther;
    private long ioErrors;
    private long flushStalls;
    private long groSuperDatagrams;
    private long txDroppedStalled;
    private volatile long kernelReceiveDrops;
    private boolean ioErrorLogged;
    private int lastErrno;

    /**
     * Open the sockets: eight per address, bound now so that {@link #localAddress()} is known; they join the event
     * loop on the owner thread's first call.
     *
     * @param context settings; concluded here.
     * @throws IllegalStateException if native epoll is unavailable or a socket cannot be opened or bound.
     */
    public UdpDriver(final UdpDriverContext context)
    {
        context.conclude();
        this.context = context;
        if (!Epoll.isAvailable())
        {
            final String modulePathHint = UdpDriver.class.getModule().isNamed() ?
                " (on the module path, add --add-modules io.netty.transport.epoll.linux.x86_64)" : "";
            throw new IllegalStateException("Netty native epoll is unavailable" + modulePathHint + ": " +
                Epoll.unavailabilityCause(), Epoll.unavailabilityCause());
        }
        clock = context.clock();
        receiveBatch = context.receiveBatch();
        final NetDevice device = 0 != context.mtu() && 0 != context.linkBitsPerSecond() ? NetDevice.UNKNOWN :
            NetDevice.forIpv4(HostAddress.ipv4Of(context.bindAddress()));
        final int mtu = 0 != context.mtu() ? context.mtu() :
            0 != device.mtu() ? device.mtu() : UdpDriverContext.MTU_FALLBACK;
        maxPacketLength = Math.min(mtu - IPV4_UDP_HEADER_LENGTH, MAX_UDP_PAYLOAD);
        transmitQueue = 0 != context.linkBitsPerSecond() || !device.software();
        linkBitsPerSecond = 0 != context.linkBitsPerSecond() ? context.linkBitsPerSecond() :
            0 != device.speedBitsPerSecond() ? device.speedBitsPerSecond() :
            UdpDriverContext.LINK_BITS_PER_SECOND_FALLBACK;
        queueEstimator = new NicQueueEstimator(clock, linkBitsPerSecond);
        addressCacheCapacity = context.addressCacheCapacity();
        addressCache = new Long2ObjectHashMap<>();

        final boolean nativePath = UdpDriverContext.Datapath.NATIVE == context.datapath();
        final int stride = BitUtil.align(maxPacketLength, 64);
        final int poolSize = 0 != context.poolSize() ? context.poolSize() : Math.min(UdpDriverContext.POOL_SIZE_DEFAULT,
            Math.max(UdpDriverContext.POOL_SIZE_MIN_DEFAULT, UdpDriverContext.POOL_BYTES_TARGET / stride));
        poolMemory = ByteBuffer.allocateDirect(stride * poolSize + 64);
        final ByteBuffer alignedPool = poolMemory.alignedSlice(64);
        packets = new Packet[poolSize];
        // Netty views of the slots serve only the netty datapath; the native one passes addresses.
        packetViews = new ByteBuf[nativePath ? 0 : poolSize];
        packetState = new byte[poolSize];
        freeStack = new int[poolSize];
        for (int i = 0; i < poolSize; i++)
        {
            final ByteBuffer slot = alignedPool.slice(i * stride, maxPacketLength);
            packets[i] = new Packet(new UnsafeBuffer(slot), i);
            if (!nativePath)
            {
                packetViews[i] = Unpooled.wrappedBuffer(slot);
            }
            freeStack[i] = poolSize - 1 - i;
        }
        freeCount = poolSize;
        rxRing = new Packet[poolSize];

        final int txCapacity = context.txQueueCapacity();
        txPackets = new Packet[txCapacity];
        txDestinations = new long[txCapacity];
        txPriorities = new int[txCapacity];
        txDatagrams = new OutboundDatagram[nativePath ? 0 : txCapacity];
        for (int i = 0; i < txDatagrams.length; i++)
        {
            txDatagrams[i] = new OutboundDatagram();
        }

        final boolean gsoWanted = context.gso() && 2 * maxPacketLength <= MAX_UDP_PAYLOAD &&
            (nativePath || context.gsoBuffers() > 0);
        gsoEnabled = gsoWanted && EpollDatagramChannel.isSegmentedDatagramPacketSupported();
        final int gsoBufferCount = gsoEnabled && !nativePath ? context.gsoBuffers() : 0;
        gsoMemory = ByteBuffer.allocateDirect(Math.max(1, gsoBufferCount) * GSO_BUFFER_LENGTH + 64);
        final ByteBuffer alignedGso = gsoMemory.alignedSlice(64);
        gsoViews = new ByteBuf[gsoBufferCount];
        gsoDatagrams = new SegmentedOutboundDatagram[gsoBufferCount];
        for (int i = 0; i < gsoBufferCount; i++)
        {
            gsoViews[i] = Unpooled.wrappedBuffer(alignedGso.slice(i * GSO_BUFFER_LENGTH, GSO_BUFFER_LENGTH));
            gsoDatagrams[i] = new SegmentedOutboundDatagram();
        }

        final long bind = context.bindAddress();
        if (0 != HostAddress.portOf(bind) && !context.sharePort())
        {
            try
            {
                claimPort(new InetSocketAddress(toInetAddress(HostAddress.ipv4Of(bind)), HostAddress.portOf(bind)));
            }
            catch (final IOException | ChannelException ex)
            {
                throw new IllegalStateException("cannot bind UDP port " + HostAddress.toString(bind), ex);
            }
        }
        eventLoop = new ManualIoEventLoop(null, null, EpollIoHandler.newFactory());
        // GRO coalesces datagrams into one of up to 64 KiB: with packets too large for two to fit, it would only add
        // a copy out of its staging buffer.
        boolean groActive = context.gro() && 2 * maxPacketLength <= MAX_UDP_PAYLOAD;
        boolean steered = false;
        boolean single = false;
        NativeDatapath datapath = null;
        int port = HostAddress.portOf(bind);
        try
        {
            final InetAddress bindIp = toInetAddress(HostAddress.ipv4Of(bind));
            for (int level = 0; level < PRIORITY_LEVELS; level++)
            {
                final EpollDatagramChannel channel = new EpollDatagramChannel(SocketProtocolFamily.INET);
                channels[level] = channel;
                groActive = configure(channel, level, context, groActive);
                final Socket socket = (Socket)channel.fd();
                socket.bind(new InetSocketAddress(bindIp, port));
                if (0 == level)
                {
                    port = socket.localAddress().getPort();
                }
            }
            if (groActive != (context.gro() && 2 * maxPacketLength <= MAX_UDP_PAYLOAD))
            {
                for (final EpollDatagramChannel channel : channels)
                {
                    channel.config().setUdpGro(false);
                    channel.config().setMaxDatagramPayloadSize(maxPacketLength + 1);
                    channel.config().setRecvByteBufAllocator(recvAllocator(context, false));
                }
            }
            final Socket first = (Socket)channels[0].fd();
            if (nativePath && context.singleReceiveSocket())
            {
                try
                {
                    PrioritySteering.attachFirstSocketOnly(first);
                    if (context.receiveTos())
                    {
                        first.setIntOpt(PrioritySteering.IPPROTO_IP, PrioritySteering.IP_RECVTOS, 1);
                    }
                    single = true;
                    steered = true;
                }
                catch (final IOException | ChannelException ex)
                {
                    LOGGER.info("single receive socket unavailable, reading all eight: {}", ex.toString());
                }
            }
            if (!single)
            {
                try
                {
                    PrioritySteering.attach(first);
                    steered = true;
                }
                catch (final IOException | ChannelException ex)
                {
                    LOGGER.warn("priority steering unavailable, received packets report priority -1: {}",
                        ex.toString());
                }
            }
            if (nativePath)
            {
                final FileDescriptor[] sockets = new FileDescriptor[PRIORITY_LEVELS];
                for (int level = 0; level < PRIORITY_LEVELS; level++)
                {
                    sockets[level] = channels[level].fd();
                }
                datapath = new NativeDatapath(this, MemorySegment.ofBuffer(alignedPool), stride, maxPacketLength,
                    sockets, txCapacity, context.receiveBatch(), groActive, single, context.connectedPeers(),
                    context.unconnectedPollInterval());
            }
            else
            {
                for (final EpollDatagramChannel channel : channels)
                {
                    eventLoop.register(channel);
                }
            }
        }
        catch (final IOException | ChannelException ex)
        {
            closeSockets();
            eventLoop.setOwningThread(Thread.currentThread());
            terminate(eventLoop);
            throw new IllegalStateException("cannot open UDP sockets on " + HostAddress.toString(bind), ex);
        }
        groEnabled = groActive;
        nativeDatapath = datapath;
        singleReceiver = single;
        prioritySteering = steered;
        localAddress = HostAddress.ipv4(HostAddress.ipv4Of(bind), port);
        LOGGER.info("udp driver on {} ({}): datapath={} maxPacketLength={} link={} Mb/s{} gso={} gro={} " +
            "prioritySteering={}", HostAddress.toString(localAddress), null == device.name() ? "device unknown" :
            device.name(), context.datapath(), maxPacketLength, linkBitsPerSecond / 1_000_000,
            transmitQueue ? " paced" : " (software device: not paced)", gsoEnabled, groEnabled, prioritySteering);
    }

    /**
     * Bind the port once without {@code SO_REUSEPORT} (and without {@code SO_REUSEADDR}), which the kernel refuses
     * if any socket holds the address and port already, and release it again for the driver's reuseport group.
     * Without this a second driver on the same port would join the first one's group and silently take part of
     * its traffic.
     */
    private static void claimPort(final InetSocketAddress address) throws IOException
    {
        final Socket probe = Socket.newSocketDgram();
        try
        {
            probe.bind(address);
        }
        catch (final IOException | ChannelException ex)
        {
            if (String.valueOf(ex.getMessage()).contains("in use"))
            {
                throw new IllegalStateException("UDP port " + address.getAddress().getHostAddress() + ":" +
                    address.getPort() + " is already in use by another socket; choose another port, or pass " +
                    "share=true (UdpDriverContext.sharePort) to serve it together with that socket");
            }
            throw ex;
        }
        finally
        {
            probe.close();
        }
    }

    /**
     * @param uri such as {@code udp://198.18.0.1:4000?mtu=1500}; see {@link UdpDriverContext#fromUri(String)}.
     * @return an open driver.
     */
    public static UdpDriver fromUri(final String uri)
    {
        return new UdpDriver(UdpDriverContext.fromUri(uri));
    }

    private boolean configure(
        final EpollDatagramChannel channel, final int level, final UdpDriverContext context, final boolean gro)
        throws IOException
    {
        final EpollDatagramChannelConfig config = channel.config();
        config.setReusePort(true);
        config.setOption(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, Boolean.TRUE);
        applyLevel(channel, level);
        config.setReceiveBufferSize(context.socketReceiveBufferBytes());
        config.setSendBufferSize(context.socketSendBufferBytes());
        config.setAllocator(PooledByteBufAllocator.DEFAULT);
        config.setWriteBufferWaterMark(new WriteBufferWaterMark(Integer.MAX_VALUE - 1, Integer.MAX_VALUE));
        config.setAutoRead(true);

        boolean groActive = gro;
        if (groActive)
        {
            try
            {
                config.setUdpGro(true);
            }
            catch (final ChannelException ex)
            {
                LOGGER.info("UDP_GRO unavailable, receiving without it: {}", ex.toString());
                groActive = false;
            }
        }
        // Netty reports GRO segment sizes only on its single-datagram recvmsg path: with GRO one read is one
        // coalesced super-datagram; without it recvmmsg fills a batch of datagrams one byte larger than the
        // largest packet so that an oversize datagram shows up as such instead of silently truncated.
        config.setMaxDatagramPayloadSize(groActive ? 0 : maxPacketLength + 1);
        config.setRecvByteBufAllocator(recvAllocator(context, groActive));
        channel.pipeline().addLast(new Receiver(level));
        return groActive;
    }

    /**
     * A socket of the driver's address and port connected to one peer, configured like the level's socket (and
     * like the receive socket: IP_RECVTOS, GRO as active); it joins the port's reuseport group, where the kernel
     * prefers it for that peer's datagrams. Native datapath, owner thread.
     *
     * @param destination the peer.
     * @param level       the level it sends at.
     * @return the socket, or null (logged) if the kernel refused it.
     */
    EpollDatagramChannel openConnected(final long destination, final int level)
    {
        EpollDatagramChannel channel = null;
        try
        {
            channel = new EpollDatagramChannel(SocketProtocolFamily.INET);
            final EpollDatagramChannelConfig config = channel.config();
            config.setReusePort(true);
            applyLevel(channel, level);
            final Socket socket = (Socket)channel.fd();
            config.setReceiveBufferSize(context.socketReceiveBufferBytes());
            config.setSendBufferSize(context.socketSendBufferBytes());
            if (groEnabled)
            {
                config.setUdpGro(true);
            }
            if (context.receiveTos())
            {
                socket.setIntOpt(PrioritySteering.IPPROTO_IP, PrioritySteering.IP_RECVTOS, 1);
            }
            socket.bind(new InetSocketAddress(toInetAddress(HostAddress.ipv4Of(localAddress)),
                HostAddress.portOf(localAddress)));
            socket.connect(new InetSocketAddress(toInetAddress(HostAddress.ipv4Of(destination)),
                HostAddress.portOf(destination)));
            connectedSockets++;
            LOGGER.debug("udp driver {}: connected socket to {} at level {}", HostAddress.toString(localAddress),
                HostAddress.toString(destination), level);
            return channel;
        }
        catch (final IOException | ChannelException ex)
        {
            LOGGER.warn("udp driver {}: no connected socket to {}, sending unconnected: {}",
                HostAddress.toString(localAddress), HostAddress.toString(destination), ex.toString());
            if (null != channel)
            {
                closeConnected(channel);
            }
            return null;
        }
    }

    /**
     * Move a connected socket to another level ({@code IP_TOS}, then {@code SO_PRIORITY}, which IP_TOS resets).
     *
     * @return false (logged) if the kernel refused.
     */
    boolean setConnectedLevel(final EpollDatagramChannel channel, final int level)
    {
        try
        {
            applyLevel(channel, level);
            connectedRelevels++;
            LOGGER.debug("udp driver {}: connected socket {} moved to level {}", HostAddress.toString(localAddress),
                channel.fd().intValue(), level);
            return true;
        }
        catch (final IOException | ChannelException ex)
        {
            LOGGER.warn("udp driver {}: connected socket stays at its level: {}", HostAddress.toString(localAddress),
                ex.toString());
            return false;
        }
    }

    void onConnectedSend()
    {
        connectedSends++;
    }

    /**
     * @return datagrams sent on connected sockets.
     */
    public long connectedSends()
    {
        return connectedSends;
    }

    /**
     * @return times a connected socket moved to another level.
     */
    public long connectedRelevels()
    {
        return connectedRelevels;
    }

    void closeConnected(final EpollDatagramChannel channel)
    {
        try
        {
            channel.fd().close();
        }
        catch (final IOException ignore)
        {
            // closing a socket that is already closed
        }
    }

    /**
     * @return connected sockets opened so far ({@link UdpDriverContext#connectedPeers(int)}).
     */
    public int connectedSockets()
    {
        return connectedSockets;
    }

    private FixedRecvByteBufAllocator recvAllocator(final UdpDriverContext context, final boolean gro)
    {
        final int bufferLength = gro ? GRO_RECEIVE_BUFFER_LENGTH : (maxPacketLength + 1) * context.receiveBatch();
        final FixedRecvByteBufAllocator allocator = new FixedRecvByteBufAllocator(bufferLength);
        allocator.maxMessagesPerRead(Math.max(16, context.receiveBatch() * 4));
        return allocator;
    }

    private static void applyLevel(final EpollDatagramChannel channel, final int level) throws IOException
    {
        // IP_TOS also resets the socket's skb priority, so SO_PRIORITY must come after it.
        channel.config().setTrafficClass(level << 5);
        setSocketPriority((Socket)channel.fd(), level);
    }

    private static void setSocketPriority(final Socket socket, final int level) throws IOException
    {
        try
        {
            socket.setIntOpt(PrioritySteering.SOL_SOCKET, SO_PRIORITY, level);
        }
        catch (final IOException | ChannelException ex)
        {
            // Priorities above 6 need CAP_NET_ADMIN; the DSCP still carries the full level. (Netty reports the
            // refusal as an unchecked ChannelException despite the declared IOException.)
            socket.setIntOpt(PrioritySteering.SOL_SOCKET, SO_PRIORITY, Math.min(level, 6));
        }
    }

    @Override
    public int maxPacketLength()
    {
        return maxPacketLength;
    }

    @Override
    public int priorityLevels()
    {
        return PRIORITY_LEVELS;
    }

    @Override
    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    @Override
    public int wireOverheadBytes()
    {
        return IPV4_UDP_HEADER_LENGTH + ETHERNET_OVERHEAD;
    }

    private static final String[] COUNTERS = {
        "packets_sent", "packets_received", "gso_sends", "gso_segments", "gro_super_datagrams",
        "rx_dropped_no_buffer", "rx_dropped_oversize", "rx_dropped_empty", "rx_dropped_other", "kernel_receive_drops",
        "io_errors", "tx_dropped_stalled", "flush_stalls", "connected_sockets" };

    @Override
    public int counterCount()
    {
        return COUNTERS.length;
    }

    @Override
    public String counterName(final int index)
    {
        return COUNTERS[index];
    }

    @Override
    public long counterValue(final int index)
    {
        return switch (index)
        {
            case 0 -> packetsSent;
            case 1 -> packetsReceived;
            case 2 -> gsoSends;
            case 3 -> gsoSegments;
            case 4 -> groSuperDatagrams;
            case 5 -> rxDroppedNoBuffer;
            case 6 -> rxDroppedOversize;
            case 7 -> rxDroppedEmpty;
            case 8 -> rxDroppedOther;
            case 9 -> kernelReceiveDrops();
            case 10 -> ioErrors;
            case 11 -> txDroppedStalled;
            case 12 -> flushStalls;
            case 13 -> connectedSockets;
            default -> throw new IndexOutOfBoundsException("counter " + index + " of " + COUNTERS.length);
        };
    }

    /**
     * {@inheritDoc}
     * <p>
     * A UDP destination needs a port, and an address packets can reach: not 0.0.0.0, a multicast address or a
     * broadcast address.
     */
    @Override
    public String destinationError(final long destination)
    {
        if (!HostAddress.isIpv4(destination))
        {
            return "not an IPv4 host address: " + HostAddress.toString(destination);
        }
        if (0 == HostAddress.portOf(destination))
        {
            return HostAddress.toString(destination) + " has no UDP port: udp:// peers are addressed as ip:port";
        }
        final int ip = HostAddress.ipv4Of(destination);
        if (0 == ip || (ip >>> 28) >= 0xE)
        {
            return HostAddress.toString(destination) + " is not a unicast address";
        }
        return null;
    }

    @Override
    public long localAddress()
    {
        return localAddress;
    }

    /**
     * {@inheritDoc}
     * <p>
     * The native datapath gathers: each packet is an iovec for its own bytes and one per gathered piece.
     */
    @Override
    public boolean gathersPayload()
    {
        return null != nativeDatapath;
    }

    @Override
    public boolean canAwaitReadable()
    {
        return true;
    }

    @Override
    public boolean hasTransmitQueue()
    {
        return transmitQueue;
    }

    @Override
    public long queuedBytes()
    {
        return transmitQueue ? queueEstimator.queuedBytes() : 0;
    }

    @Override
    public Packet acquire()
    {
        if (0 == freeCount)
        {
            return null;
        }
        final int index = freeStack[--freeCount];
        packetState[index] = STATE_OWNED;
        return packets[index].length(0).clearPayload().source(HostAddress.NONE).priority(-1).timestampNs(0);
    }

    @Override
    public void release(final Packet packet)
    {
        if (packet == lentView)
        {
            // A staged segment lent in place: nothing of the pool to give back.
            return;
        }
        final int index = indexOf(packet);
        if (STATE_FREE == packetState[index])
        {
            throw new IllegalStateException("packet " + index + " released twice");
        }
        packetState[index] = STATE_FREE;
        freeStack[freeCount++] = index;
    }

    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        checkOwner();
        final int index = indexOf(packet);
        if (STATE_FREE == packetState[index])
        {
            throw new IllegalStateException("packet " + index + " is not owned by the caller");
        }
        if (priority < 0 || priority >= PRIORITY_LEVELS)
        {
            throw new IllegalArgumentException("priority out of range 0.." + (PRIORITY_LEVELS - 1) + ": " + priority);
        }
        if (!HostAddress.isIpv4(destination) || 0 == HostAddress.portOf(destination))
        {
            throw new IllegalArgumentException("destination needs IPv4 and a port: " + destination);
        }
        if (txCount == txPackets.length)
        {
            return false;
        }
        txPackets[txCount] = packet;
        txDestinations[txCount] = destination;
        txPriorities[txCount] = priority;
        txCount++;
        return true;
    }

    @Override
    public int flush()
    {
        checkOwner();
        final int count = txCount;
        if (0 == count)
        {
            return 0;
        }
        if (null != nativeDatapath)
        {
            nativeDatapath.send(txPackets, txDestinations, txPriorities, count, gsoEnabled);
            final int overhead = wireOverheadBytes();
            long wireBytes = 0;
            for (int j = 0; j < count; j++)
            {
                wireBytes += txPackets[j].wireLength() + overhead;
                txPackets[j] = null;
            }
            // One clock read per flush, after the system calls: not one per packet before them.
            queueEstimator.onTransmit(wireBytes, clock.nanoTime());
            txCount = 0;
            packetsSent += count;
            return count;
        }

        int touchedLevels = 0;
        int gsoUsed = 0;
        int i = 0;
        long wireBytes = 0;
        while (i < count)
        {
            final Packet first = txPackets[i];
            final long destination = txDestinations[i];
            final int level = txPriorities[i];
            final InetSocketAddress recipient = recipientFor(destination);
            final EpollDatagramChannel channel = channels[level];
            touchedLevels |= 1 << level;

            final int runEnd = gsoUsed < gsoViews.length ? gsoRunEnd(i, count) : i + 1;
            if (runEnd - i >= 2)
            {
                final ByteBuf staging = gsoViews[gsoUsed];
                int offset = 0;
                for (int j = i; j < runEnd; j++)
                {
                    final Packet packet = txPackets[j];
                    staging.setBytes(offset, packetViews[(int)packet.handle()], 0, packet.length());
                    offset += packet.length();
                    wireBytes += packet.length() + wireOverheadBytes();
                }
                staging.setIndex(0, offset);
                channel.write(gsoDatagrams[gsoUsed].set(staging, first.length(), recipient), channel.voidPromise());
                gsoUsed++;
                gsoSends++;
                gsoSegments += runEnd - i;
                i = runEnd;
            }
            else
            {
                final ByteBuf view = packetViews[(int)first.handle()];
                view.setIndex(0, first.length());
                channel.write(txDatagrams[i].set(view, recipient), channel.voidPromise());
                wireBytes += first.length() + wireOverheadBytes();
                i++;
            }
        }

        for (int level = PRIORITY_LEVELS - 1; level >= 0; level--)
        {
            if (0 != (touchedLevels & (1 << level)))
            {
                channels[level].flush();
            }
        }
        awaitWritten(touchedLevels);
        queueEstimator.onTransmit(wireBytes, clock.nanoTime());

        for (int j = 0; j < count; j++)
        {
            txPackets[j] = null;
            txDatagrams[j].clear();
        }
        for (int j = 0; j < gsoUsed; j++)
        {
            gsoDatagrams[j].clear();
        }
        txCount = 0;
        packetsSent += count;
        return count;
    }

    /**
     * A GSO run: consecutive packets to one destination at one level, all as long as the first except the last,
     * which may be shorter, within the UDP payload and segment-count limits.
     */
    int gsoRunEnd(final int start, final int count)
    {
        final long destination = txDestinations[start];
        final int level = txPriorities[start];
        final int segmentLength = txPackets[start].wireLength();
        if (0 == segmentLength)
        {
            return start + 1;
        }
        int total = segmentLength;
        int end = start + 1;
        while (end < count && end - start < GSO_MAX_SEGMENTS &&
            destination == txDestinations[end] && level == txPriorities[end])
        {
            final int length = txPackets[end].wireLength();
            if (0 == length || length > segmentLength || total + length > MAX_UDP_PAYLOAD)
            {
                break;
            }
            total += length;
            end++;
            if (length < segmentLength)
            {
                break;
            }
        }
        return end;
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
            for (int level = 0; level < PRIORITY_LEVELS; level++)
            {
                if (0 != (touchedLevels & (1 << level)))
                {
                    final ChannelOutboundBuffer outbound = channels[level].unsafe().outboundBuffer();
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
                flushStalls++;
            }
            runEventLoop();
            Thread.onSpinWait();
        }
    }

    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        checkOwner();
        if (rxCount < limit)
        {
            // Read no more than the caller takes: the rest waits in the socket buffer, not in the pool.
            rxBudget = limit - rxCount;
            final boolean stamp = sink.needsTimestamps();
            if (!stamp)
            {
                rxTimestampNs = 0;
            }
            if (singleReceiver)
            {
                if (wakeupPending)
                {
                    wakeupPending = false;
                    eventLoop.runNow();
                }
                rxTimestampStale = stamp;
                // With nothing queued from before, what this poll reads may go to the sink at once, in order: lent in
                // place (GRO staging), or with its payload placed where the sink says (large packets, no GRO).
                final boolean direct = 0 == rxCount && sink.releasesBeforeReturn();
                lendingSink = direct && groEnabled ? sink : null;
                placingSink = direct && !groEnabled && maxPacketLength >= PLACEMENT_MIN_PACKET_LENGTH &&
                    sink.placementHeaderLength() > 0 ? sink : null;
                lentDelivered = 0;
                try
                {
                    nativeDatapath.receiveNow();
                }
                finally
                {
                    lendingSink = null;
                    placingSink = null;
                }
            }
            else
            {
                runEventLoop(stamp);
            }
        }
        final Packet[] ring = rxRing;
        final int capacity = ring.length;
        int delivered = lentDelivered;
        lentDelivered = 0;
        while (delivered < limit && rxCount > 0)
        {
            final Packet packet = ring[rxHead];
            ring[rxHead] = null;
            rxHead = rxHead + 1 == capacity ? 0 : rxHead + 1;
            rxCount--;
            delivered++;
            sink.onPacket(packet);
        }
        return delivered;
    }

    /**
     * Wait in {@code epoll_wait} until a socket is readable, {@link #wakeup()} is called or the time is up; what
     * became readable is read into the receive ring for the next {@link #poll}. For idle strategies on the owner
     * thread ({@link EpollIdleStrategy}).
     *
     * @param maxWaitNs longest wait, at least 1 ns.
     * @return events and tasks handled, 0 if the wait timed out.
     */
    @Override
    public int awaitReadable(final long maxWaitNs)
    {
        checkOwner();
        if (rxCount > 0)
        {
            return rxCount;
        }
        rxTimestampStale = true;
        rxBudget = receiveBatch;
        if (null == nativeDatapath)
        {
            return eventLoop.run(Math.max(1L, maxWaitNs));
        }
        nativeDatapath.armForWait();
        try
        {
            return eventLoop.run(Math.max(1L, maxWaitNs));
        }
        finally
        {
            nativeDatapath.disarmAfterWait();
        }
    }

    /**
     * End an {@link #awaitReadable} wait early, or make the next one return at once. Safe from any thread.
     * <p>
     * Queues an empty task rather than calling the loop's own wakeup, which is lost unless the loop is already
     * blocked: the loop checks its task queue before it blocks, so a queued task is never missed.
     */
    @Override
    public void wakeup()
    {
        if (!closed)
        {
            try
            {
                // Polls that bypass the loop run it when asked, so queued wake-up tasks never pile up.
                wakeupPending = true;
                eventLoop.execute(NO_OP);
            }
            catch (final RejectedExecutionException ignore)
            {
                // closed meanwhile: nobody is waiting any more
            }
        }
    }

    /**
     * @param maxSpins  idle calls that only spin before waiting in epoll.
     * @param maxWaitNs longest wait in epoll per idle call.
     * @return an idle strategy for this driver's owner thread.
     */
    public EpollIdleStrategy idleStrategy(final int maxSpins, final long maxWaitNs)
    {
        return new EpollIdleStrategy(this, maxSpins, maxWaitNs);
    }

    /**
     * @return true if the calling thread owns this driver: it made the first {@link #poll}, {@link #send} or
     * {@link #flush} call.
     */
    public boolean isOwnerThread()
    {
        return Thread.currentThread() == owner;
    }

    void runEventLoop()
    {
        runEventLoop(true);
    }

    private void runEventLoop(final boolean stamp)
    {
        // Arrival time is read once per loop run, and only if something arrives (and the sink wants it).
        rxTimestampStale = stamp;
        eventLoop.runNow();
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        final Thread current = Thread.currentThread();
        if (null == owner)
        {
            owner = current;
            eventLoop.setOwningThread(current);
        }
        if (owner == current)
        {
            if (null != nativeDatapath)
            {
                nativeDatapath.close();
                closeSockets();
            }
            else
            {
                for (final EpollDatagramChannel channel : channels)
                {
                    if (null != channel)
                    {
                        channel.close();
                    }
                }
            }
            terminate(eventLoop);
        }
        else
        {
            // Netty's loop can only be run by its owner: release the ports and native memory at least; the loop's
            // epoll, event and timer descriptors stay open. Close on the protocol thread to avoid this.
            LOGGER.warn("udp driver closed from {} instead of its owner {}: epoll descriptors leak", current, owner);
            if (null != nativeDatapath)
            {
                nativeDatapath.close();
            }
            closeSockets();
        }
        BufferUtil.free(poolMemory);
        BufferUtil.free(gsoMemory);
    }

    private static void terminate(final ManualIoEventLoop eventLoop)
    {
        eventLoop.shutdownGracefully(0, 0, TimeUnit.NANOSECONDS);
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!eventLoop.isTerminated() && System.nanoTime() < deadlineNs)
        {
            eventLoop.runNow();
        }
    }

    private void closeSockets()
    {
        for (final EpollDatagramChannel channel : channels)
        {
            if (null != channel)
            {
                try
                {
                    channel.fd().close();
                }
                catch (final IOException ignore)
                {
                    // closing a socket that is already closed
                }
            }
        }
    }

    /**
     * @return true if sends of runs to one destination use UDP GSO (wanted, supported, and not refused so far).
     */
    public boolean gsoEnabled()
    {
        return gsoEnabled;
    }

    /**
     * @return true if the sockets receive with UDP GRO.
     */
    public boolean groEnabled()
    {
        return groEnabled;
    }

    /**
     * @return true if one socket receives everything (native datapath, level from IP_RECVTOS).
     */
    public boolean singleReceiveSocket()
    {
        return singleReceiver;
    }

    /**
     * @return true if received packets carry the priority level they had on the wire.
     */
    public boolean prioritySteering()
    {
        return prioritySteering;
    }

    /**
     * @return packets handed to the kernel.
     */
    public long packetsSent()
    {
        return packetsSent;
    }

    /**
     * @return packets delivered into the receive ring.
     */
    public long packetsReceived()
    {
        return packetsReceived;
    }

    /**
     * @return GSO super-datagrams sent.
     */
    public long gsoSends()
    {
        return gsoSends;
    }

    /**
     * @return packets sent inside GSO super-datagrams.
     */
    public long gsoSegments()
    {
        return gsoSegments;
    }

    /**
     * @return received datagrams dropped because the packet pool was empty.
     */
    public long rxDroppedNoBuffer()
    {
        return rxDroppedNoBuffer;
    }

    /**
     * @return received datagrams dropped because they exceeded {@link #maxPacketLength()} (or were truncated).
     */
    public long rxDroppedOversize()
    {
        return rxDroppedOversize;
    }

    /**
     * @return received datagrams dropped because they were empty (no Homa header at all).
     */
    public long rxDroppedEmpty()
    {
        return rxDroppedEmpty;
    }

    /**
     * Datagrams the kernel dropped before the driver could read them, because a receive socket's buffer was full:
     * the sum over the driver's level sockets of the kernel's per-socket drop count ({@code sk_drops}, the number
     * {@code SO_RXQ_OVFL} would attach to each datagram), read with {@code getsockopt(SO_MEMINFO)} when asked, so
     * that the receive path carries no extra control message and drops show even when nothing arrives after them.
     * Owner thread (connected sockets are counted only there); the last value read once the driver is closed.
     *
     * @return datagrams dropped by the kernel on this driver's receive sockets.
     */
    public long kernelReceiveDrops()
    {
        if (!closed)
        {
            long drops = 0;
            for (final EpollDatagramChannel channel : channels)
            {
                drops += socketDrops((Socket)channel.fd());
            }
            if (null != nativeDatapath && Thread.currentThread() == owner)
            {
                drops += nativeDatapath.connectedSocketDrops();
            }
            kernelReceiveDrops = Math.max(kernelReceiveDrops, drops);
        }
        return kernelReceiveDrops;
    }

    /**
     * @return the kernel's drop count of one socket ({@code SK_MEMINFO_DROPS}), 0 if it cannot be read.
     */
    static long socketDrops(final Socket socket)
    {
        final ByteBuffer meminfo = ByteBuffer.allocateDirect(SK_MEMINFO_VARS * Integer.BYTES)
            .order(java.nio.ByteOrder.nativeOrder());
        try
        {
            socket.getRawOpt(PrioritySteering.SOL_SOCKET, SO_MEMINFO, meminfo);
            return meminfo.getInt(SK_MEMINFO_DROPS * Integer.BYTES) & 0xFFFF_FFFFL;
        }
        catch (final IOException | RuntimeException ex)
        {
            return 0;
        }
    }

    /**
     * @return I/O errors reported by Netty (failed sends, failed reads).
     */
    public long ioErrors()
    {
        return ioErrors;
    }

    /**
     * @return coalesced datagrams received with UDP GRO and cut into packets (native datapath).
     */
    public long groSuperDatagrams()
    {
        return groSuperDatagrams;
    }

    /**
     * @return packets dropped on send because the socket buffer stayed full for a second (native datapath).
     */
    public long txDroppedStalled()
    {
        return txDroppedStalled;
    }

    /**
     * @return errno of the latest failed {@code sendmmsg}/{@code recvmmsg} (native datapath), 0 if none.
     */
    public int lastErrno()
    {
        return lastErrno;
    }

    /**
     * @return flushes that had to wait for socket buffer space.
     */
    public long flushStalls()
    {
        return flushStalls;
    }

    /**
     * @return free packets in the pool.
     */
    public int freePackets()
    {
        return freeCount;
    }

    /**
     * For tests: read a level's socket options back from the kernel.
     *
     * @param level priority level.
     * @return {@code SO_PRIORITY} of that level's socket.
     * @throws IOException if the kernel refuses.
     */
    int socketPriority(final int level) throws IOException
    {
        return ((Socket)channels[level].fd()).getIntOpt(PrioritySteering.SOL_SOCKET, SO_PRIORITY);
    }

    /**
     * For tests: the TOS byte a level's socket puts on its datagrams.
     *
     * @param level priority level.
     * @return {@code IP_TOS} of that level's socket.
     * @throws IOException if the kernel refuses.
     */
    int socketTos(final int level) throws IOException
    {
        return ((Socket)channels[level].fd()).getTrafficClass();
    }

    private int indexOf(final Packet packet)
    {
        final long handle = packet.handle();
        if (handle < 0 || handle >= packets.length || packets[(int)handle] != packet)
        {
            throw new IllegalArgumentException("packet does not belong to this driver");
        }
        return (int)handle;
    }

    private void checkOwner()
    {
        final Thread current = Thread.currentThread();
        if (current != owner)
        {
            attach(current);
        }
    }

    private void attach(final Thread current)
    {
        if (closed)
        {
            throw new IllegalStateException("driver closed");
        }
        if (null != owner)
        {
            throw new IllegalStateException(
                "UdpDriver is owned by " + owner + " and was called from " + current);
        }
        owner = current;
        eventLoop.setOwningThread(current);
        eventLoop.runNow();
        if (null != nativeDatapath)
        {
            nativeDatapath.register(eventLoop);
        }
    }

    int takeFreeSlot()
    {
        if (0 == freeCount)
        {
            return -1;
        }
        final int index = freeStack[--freeCount];
        packetState[index] = STATE_OWNED;
        return index;
    }

    void returnFreeSlot(final int index)
    {
        packetState[index] = STATE_FREE;
        freeStack[freeCount++] = index;
    }

    void onReceived(final int index, final int length, final long source, final int level)
    {
        if (rxTimestampStale)
        {
            rxTimestampStale = false;
            rxTimestampNs = clock.nanoTime();
        }
        rxBudget--;
        final Packet packet = packets[index]
            .length(length)
            .placedBytes(0)
            .source(source)
            .priority(prioritySteering ? level : -1)
            .timestampNs(rxTimestampNs);
        int tail = rxHead + rxCount;
        if (tail >= rxRing.length)
        {
            tail -= rxRing.length;
        }
        rxRing[tail] = packet;
        rxCount++;
        packetsReceived++;
    }

    /**
     * @return the polling sink if it places large packets' payloads itself, else null.
     */
    PacketSink placingSink()
    {
        return placingSink;
    }

    /**
     * @param slot a pool slot.
     * @return its packet, payload places cleared, for the placing sink to fill.
     */
    Packet slotPacket(final int slot)
    {
        return packets[slot].clearPayload();
    }

    /**
     * Hand a packet just read into its slot (its payload perhaps placed where the sink said) to the polling sink at
     * once; the slot stays the sink's until it releases the packet.
     *
     * @param slot   the slot.
     * @param length bytes in the slot.
     * @param placed bytes written to the sink's places.
     * @param source sender.
     * @param level  its level.
     */
    void deliverNow(final int slot, final int length, final int placed, final long source, final int level)
    {
        if (rxTimestampStale)
        {
            rxTimestampStale = false;
            rxTimestampNs = clock.nanoTime();
        }
        rxBudget--;
        final Packet packet = packets[slot].length(length).placedBytes(placed).source(source)
            .priority(prioritySteering ? level : -1).timestampNs(rxTimestampNs);
        packetsReceived++;
        lentDelivered++;
        placingSink.onPacket(packet);
    }

    /**
     * @return true if staged segments go to the polling sink in place ({@link #lend}) rather than into slots.
     */
    boolean lending()
    {
        return null != lendingSink;
    }

    /**
     * Hand one received segment to the polling sink as a view of the memory it was received into, without a copy:
     * the sink releases it before it returns, so the memory may be read into again afterwards.
     *
     * @param address first byte of the segment.
     * @param length  its length.
     * @param source  sender.
     * @param level   its level.
     */
    void lend(final long address, final int length, final long source, final int level)
    {
        if (rxTimestampStale)
        {
            rxTimestampStale = false;
            rxTimestampNs = clock.nanoTime();
        }
        rxBudget--;
        lentView.buffer().wrap(address, length);
        lentView.length(length).clearPayload().source(source).priority(prioritySteering ? level : -1)
            .timestampNs(rxTimestampNs);
        packetsReceived++;
        lentDelivered++;
        lendingSink.onPacket(lentView);
    }

    int rxBudget()
    {
        return rxBudget;
    }

    void onDroppedNoBuffer()
    {
        rxDroppedNoBuffer++;
    }

    void onDroppedOversize()
    {
        rxDroppedOversize++;
    }

    void onDroppedEmpty()
    {
        rxDroppedEmpty++;
    }

    void onDroppedOther()
    {
        rxDroppedOther++;
    }

    void onSendStallDrop(final long packets)
    {
        txDroppedStalled += packets;
        LOGGER.warn("udp driver dropped {} packets after the socket buffer stayed full for a second", packets);
    }

    void onGroSuperDatagram()
    {
        groSuperDatagrams++;
    }

    void onFlushStall()
    {
        flushStalls++;
    }

    void onGsoSend(final int segments)
    {
        gsoSends++;
        gsoSegments += segments;
    }

    void onSendError(final int errno, final boolean segmented)
    {
        ioErrors++;
        lastErrno = errno;
        if (segmented && gsoEnabled &&
            (LinuxUdpCalls.EIO == errno || LinuxUdpCalls.EINVAL == errno || LinuxUdpCalls.EMSGSIZE == errno))
        {
            // EIO: the device cannot checksum-offload segmented UDP; EMSGSIZE or EINVAL: a segment does not fit the
            // device MTU (plain datagrams are fragmented instead). Stop using GSO; Homa retransmits what was lost.
            gsoEnabled = false;
            LOGGER.warn("disabling UDP GSO after sendmmsg errno {}", errno);
        }
        logErrorOnce("sendmmsg", errno);
    }

    void onReceiveError(final int errno)
    {
        ioErrors++;
        lastErrno = errno;
        logErrorOnce("recvmmsg", errno);
    }

    private void logErrorOnce(final String call, final int errno)
    {
        if (!ioErrorLogged)
        {
            ioErrorLogged = true;
            LOGGER.warn("udp driver {} failed with errno {} (logged once, counted in ioErrors)", call, errno);
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
                    toInetAddress(HostAddress.ipv4Of(destination)), HostAddress.portOf(destination));
            }
            catch (final UnknownHostException ex)
            {
                throw new IllegalArgumentException("bad destination " + destination, ex);
            }
            addressCache.put(destination, address);
        }
        return address;
    }

    private InetAddress toInetAddress(final int ipv4) throws UnknownHostException
    {
        addressBytes[0] = (byte)(ipv4 >>> 24);
        addressBytes[1] = (byte)(ipv4 >>> 16);
        addressBytes[2] = (byte)(ipv4 >>> 8);
        addressBytes[3] = (byte)ipv4;
        return InetAddress.getByAddress(addressBytes);
    }

    private void onDatagram(final DatagramPacket datagram, final int level)
    {
        final ByteBuf content = datagram.content();
        final int length = content.readableBytes();
        final InetSocketAddress sender = datagram.sender();
        if (0 == length)
        {
            rxDroppedEmpty++;
        }
        else if (length > maxPacketLength)
        {
            rxDroppedOversize++;
        }
        else if (0 == freeCount || null == sender || !(sender.getAddress() instanceof Inet4Address))
        {
            if (0 == freeCount)
            {
                rxDroppedNoBuffer++;
            }
            else
            {
                rxDroppedOther++;
            }
        }
        else
        {
            final int index = freeStack[--freeCount];
            packetState[index] = STATE_OWNED;
            content.getBytes(content.readerIndex(), packetViews[index], 0, length);
            // Inet4Address.hashCode() is the address itself; getAddress() would allocate a copy.
            final long source = HostAddress.ipv4(sender.getAddress().hashCode(), sender.getPort());
            onReceived(index, length, source, level);
        }
    }

    private void onIoError(final Throwable cause)
    {
        ioErrors++;
        if (gsoEnabled && cause instanceof IOException && String.valueOf(cause.getMessage()).contains("EIO"))
        {
            // The device cannot checksum-offload segmented UDP: stop using GSO, Homa retransmits what was lost.
            gsoEnabled = false;
            LOGGER.warn("disabling UDP GSO after send error: {}", cause.toString());
        }
        if (!ioErrorLogged)
        {
            ioErrorLogged = true;
            LOGGER.warn("udp driver I/O error (logged once, counted in ioErrors): {}", cause.toString());
        }
    }

    /**
     * @return received datagrams dropped for another reason (no IPv4 sender).
     */
    public long rxDroppedOther()
    {
        return rxDroppedOther;
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
                    rxDroppedOther++;
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
