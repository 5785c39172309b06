package dev.homa.nic.udp;

import dev.homa.nic.DriverUri;
import dev.homa.nic.HostAddress;
import dev.homa.nic.linux.NetDevice;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;


/**
 * Settings of a {@link UdpDriver}: fluent setters, defaults taken from the network device that holds the bind address
 * (its MTU; its speed if it is a NIC), and {@link #conclude()} which validates them once before the driver opens its
 * sockets.
 * <p>
 * A context can be read from a URI, {@code udp://host:port?option=value&...}, so that an application picks the
 * driver by configuration alone (see {@link #fromUri(String)} for the options).
 */
public final class UdpDriverContext
{
    /**
     * How datagrams move between the pool and the sockets; both run on Netty's epoll event loop.
     */
    public enum Datapath
    {
        /** {@code sendmmsg}/{@code recvmmsg} through FFM: zero-copy both ways, no allocation per packet. */
        NATIVE,
        /**
         * Netty {@code EpollDatagramChannel}s: writes of reusable {@code DatagramPacket}s flushed with Netty's
         * {@code sendmmsg}, reads through Netty's {@code recvmmsg}/GRO path. Netty's datagram API allocates a sender
         * address and an envelope per received datagram and copies an address per sent one
         * (UdpDriverAllocationTest bounds it).
         */
        NETTY
    }

    /** IP MTU when the device's cannot be read: plain Ethernet. */
    public static final int MTU_FALLBACK = 1500;
    /** Link rate when the device reports none: the kernel's {@code link_mbps} default, 25 Gb/s. */
    public static final long LINK_BITS_PER_SECOND_FALLBACK = NetDevice.DEFAULT_LINK_BITS_PER_SECOND;
    /** Default number of packet buffers shared by sending and receiving. */
    public static final int POOL_SIZE_DEFAULT = 4096;
    /** With the default pool size, the pool's memory is held to about this much (fewer slots for large packets). */
    public static final int POOL_BYTES_TARGET = 16 * 1024 * 1024;
    /** Fewest slots the default pool size gives. */
    public static final int POOL_SIZE_MIN_DEFAULT = 256;
    /** Default most packets queued by {@code send} between two flushes; 1024 is the kernel's UIO_MAXIOV. */
    public static final int TX_QUEUE_CAPACITY_DEFAULT = 1024;
    /** Default datagrams per {@code recvmmsg} call (when GRO is off). */
    public static final int RECEIVE_BATCH_DEFAULT = 32;
    /** Default socket receive and send buffer sizes; the kernel caps them at net.core.[rw]mem_max. */
    public static final int SOCKET_BUFFER_BYTES_DEFAULT = 4 * 1024 * 1024;
    /** Default number of GSO staging buffers of 64 KiB, i.e. GSO super-datagrams per flush. */
    public static final int GSO_BUFFERS_DEFAULT = 16;
    /** Most entries in the destination to socket-address cache before it is cleared. */
    public static final int ADDRESS_CACHE_CAPACITY_DEFAULT = 16 * 1024;
    /** Most peers that get a connected socket of their own (native datapath). */
    public static final int CONNECTED_PEERS_MAX = 64;
    /** Polls per read of the unconnected receive socket while connected sockets exist. */
    public static final int UNCONNECTED_POLL_INTERVAL_DEFAULT = 8;

    private long bindAddress = HostAddress.NONE;
    private int mtu;
    private long linkBitsPerSecond;
    private int poolSize;
    private int txQueueCapacity = TX_QUEUE_CAPACITY_DEFAULT;
    private int receiveBatch = RECEIVE_BATCH_DEFAULT;
    private int socketReceiveBufferBytes = SOCKET_BUFFER_BYTES_DEFAULT;
    private int socketSendBufferBytes = SOCKET_BUFFER_BYTES_DEFAULT;
    private int gsoBuffers = GSO_BUFFERS_DEFAULT;
    private int addressCacheCapacity = ADDRESS_CACHE_CAPACITY_DEFAULT;
    private boolean gso = true;
    private boolean gro = true;
    private boolean peek = true;
    private Datapath datapath = Datapath.NATIVE;
    private boolean singleReceiveSocket = true;
    private int connectedPeers;
    private boolean receiveTos = true;
    private int unconnectedPollInterval = UNCONNECTED_POLL_INTERVAL_DEFAULT;
    private boolean sharePort;
    private NanoClock clock = SystemNanoClock.INSTANCE;
    private boolean concluded;

    /**
     * Read a context from a URI such as {@code udp://198.18.0.1:4000?mtu=9000&gso=false}. Options
     * (read by {@link DriverUri}: sizes take k/m/g in powers of 1024, rates in powers of 1000):
     * <ul>
     *     <li>{@code mtu} - IP MTU of the path (default: the device's; 65,536 on loopback); the largest Homa packet
     *     is mtu - 28.</li>
     *     <li>{@code rate} - link rate, bits per second with an optional k/m/g suffix, which the pacer then holds the
     *     transmit queue to (default: a NIC's own speed; no pacing on a software device such as loopback or veth,
     *     see {@link #linkBitsPerSecond(long)}).</li>
     *     <li>{@code pool} - packet buffers (default 4096).</li>
     *     <li>{@code txqueue} - packets queued between flushes (default 1024).</li>
     *     <li>{@code rxbatch} - datagrams per recvmmsg (default 32).</li>
     *     <li>{@code rcvbuf}, {@code sndbuf} - socket buffer bytes, k/m suffix allowed (default 4m).</li>
     *     <li>{@code gso}, {@code gro} - true/false (default true; off anyway where the kernel lacks them).</li>
     *     <li>{@code peek} - true/false: read large datagrams to their places by their peeked headers (default
     *     true), see {@link #peek(boolean)}.</li>
     *     <li>{@code gsobuffers} - 64 KiB GSO staging buffers of the netty datapath (default 16).</li>
     *     <li>{@code datapath} - native (default) or netty, see {@link Datapath}.</li>
     *     <li>{@code connect} - peers that get a connected socket (default 0), see {@link #connectedPeers(int)}.</li>
     *     <li>{@code rxtos} - true/false: learn each received datagram's level (default true), see
     *     {@link #receiveTos(boolean)}.</li>
     *     <li>{@code unconnectedEvery} - with connected sockets, read the unconnected one every this many polls
     *     (default 8), see {@link #unconnectedPollInterval(int)}.</li>
     *     <li>{@code share} - true/false: join the sockets already bound to the port (default false), see
     *     {@link #sharePort(boolean)}.</li>
     * </ul>
     * Port 0 asks the kernel for a free port.
     *
     * @param uri the URI text.
     * @return a new context, not yet concluded.
     * @throws IllegalArgumentException if the URI is malformed or names an unknown option.
     */
    public static UdpDriverContext fromUri(final String uri)
    {
        return fromUri(DriverUri.parse(uri));
    }

    /**
     * @param uri a parsed {@code udp://} URI; see {@link #fromUri(String)}.
     * @return a new context, not yet concluded.
     * @throws IllegalArgumentException if the URI names another scheme, no host or an unknown option.
     */
    public static UdpDriverContext fromUri(final DriverUri uri)
    {
        uri.requireScheme("udp");
        if (null == uri.host())
        {
            throw new IllegalArgumentException("udp URI needs an IPv4 host: " + uri);
        }
        final UdpDriverContext c = new UdpDriverContext()
            .bindAddress(HostAddress.parseIpv4(uri.host() + ":" + Math.max(0, uri.port())));
        c.mtu(uri.size("mtu", c.mtu))
            .linkBitsPerSecond(uri.rate("rate", c.linkBitsPerSecond))
            .poolSize(uri.size("pool", c.poolSize))
            .txQueueCapacity(uri.size("txqueue", c.txQueueCapacity))
            .receiveBatch(uri.size("rxbatch", c.receiveBatch))
            .socketReceiveBufferBytes(uri.size("rcvbuf", c.socketReceiveBufferBytes))
            .socketSendBufferBytes(uri.size("sndbuf", c.socketSendBufferBytes))
            .gso(uri.bool("gso", c.gso))
            .gro(uri.bool("gro", c.gro))
            .peek(uri.bool("peek", c.peek))
            .gsoBuffers(uri.size("gsobuffers", c.gsoBuffers))
            .datapath(uri.choice("datapath", Datapath.class, c.datapath))
            .connectedPeers(uri.size("connect", c.connectedPeers))
            .receiveTos(uri.bool("rxtos", c.receiveTos))
            .unconnectedPollInterval(uri.size("unconnectedEvery", c.unconnectedPollInterval))
            .sharePort(uri.bool("share", c.sharePort));
        uri.requireAllRead();
        return c;
    }

    /**
     * Validate the settings; called by the driver before it opens anything.
     *
     * @return this.
     * @throws IllegalArgumentException naming the first bad setting.
     */
    public UdpDriverContext conclude()
    {
        if (concluded)
        {
            return this;
        }
        if (!HostAddress.isIpv4(bindAddress))
        {
            throw new IllegalArgumentException("bindAddress must be an IPv4 HostAddress, got " + bindAddress);
        }
        require(0 == mtu || mtu >= 68 + UdpDriver.IPV4_UDP_HEADER_LENGTH && mtu <= 65536, "mtu", mtu);
        require(linkBitsPerSecond >= 0, "linkBitsPerSecond", linkBitsPerSecond);
        require(0 == poolSize || poolSize >= 2 && poolSize <= 1 << 20, "poolSize", poolSize);
        require(txQueueCapacity >= 1 && txQueueCapacity <= 1 << 16, "txQueueCapacity", txQueueCapacity);
        require(receiveBatch >= 1 && receiveBatch <= 1024, "receiveBatch", receiveBatch);
        require(socketReceiveBufferBytes >= 4096, "socketReceiveBufferBytes", socketReceiveBufferBytes);
        require(socketSendBufferBytes >= 4096, "socketSendBufferBytes", socketSendBufferBytes);
        require(gsoBuffers >= 0 && gsoBuffers <= 1024, "gsoBuffers", gsoBuffers);
        require(addressCacheCapacity >= 1, "addressCacheCapacity", addressCacheCapacity);
        require(connectedPeers >= 0 && connectedPeers <= CONNECTED_PEERS_MAX, "connectedPeers", connectedPeers);
        require(unconnectedPollInterval >= 1 && unconnectedPollInterval <= 1024, "unconnectedPollInterval",
            unconnectedPollInterval);
        if (null == datapath || null == clock)
        {
            throw new IllegalArgumentException((null == datapath ? "datapath" : "clock") + " must not be null");
        }
        concluded = true;
        return this;
    }

    private static void require(final boolean condition, final String name, final long value)
    {
        if (!condition)
        {
            throw new IllegalArgumentException(name + " out of range: " + value);
        }
    }

    private void checkNotConcluded()
    {
        if (concluded)
        {
            throw new IllegalStateException("context already concluded");
        }
    }

    /**
     * @param bindAddress local IPv4 {@link HostAddress} with port (port 0: any free port).
     * @return this.
     */
    public UdpDriverContext bindAddress(final long bindAddress)
    {
        checkNotConcluded();
        this.bindAddress = bindAddress;
        return this;
    }

    /**
     * @return local IPv4 {@link HostAddress} with port to bind.
     */
    public long bindAddress()
    {
        return bindAddress;
    }

    /**
     * The driver binds its sockets with {@code SO_REUSEPORT} (one per level, plus connected ones), and the kernel
     * would let any other socket of the same user with that option join the port and take a share of its
     * datagrams. So, unless sharing is asked for, the driver first binds the port alone, without the option, and
     * fails with a clear error if anything holds it already.
     *
     * @param sharePort true to join whatever is bound to the port already (several processes serving one port);
     *                  false (default) to fail if the port is in use.
     * @return this.
     */
    public UdpDriverContext sharePort(final boolean sharePort)
    {
        checkNotConcluded();
        this.sharePort = sharePort;
        return this;
    }

    /**
     * @return true if the driver may join sockets already bound to its port.
     */
    public boolean sharePort()
    {
        return sharePort;
    }

    /**
     * @param mtu IP MTU of the path in bytes; 0 (default) takes the MTU of the device that holds the bind address
     *            (for the wildcard address the smallest of the devices that are up), or 1,500 if it cannot be read.
     * @return this.
     */
    public UdpDriverContext mtu(final int mtu)
    {
        checkNotConcluded();
        this.mtu = mtu;
        return this;
    }

    /**
     * @return IP MTU of the path in bytes, 0 for the device's.
     */
    public int mtu()
    {
        return mtu;
    }

    /**
     * @param linkBitsPerSecond link rate in bits per second. Set, it is the rate the pacer holds the transmit queue
     *                          to. 0 (default) takes it from the device: a NIC's reported speed (25 Gb/s if it reports
     *                          none), paced; a software device (loopback, veth, a bridge) has no wire and no transmit
     *                          queue - the kernel runs the receiving side inside the send call - so nothing is paced
     *                          and the rate (the device's nominal one, or 25 Gb/s) only sizes the protocol's windows.
     *                          Set it for a software device whose traffic leaves through a slower NIC.
     * @return this.
     */
    public UdpDriverContext linkBitsPerSecond(final long linkBitsPerSecond)
    {
        checkNotConcluded();
        this.linkBitsPerSecond = linkBitsPerSecond;
        return this;
    }

    /**
     * @return link rate in bits per second, 0 for the device's.
     */
    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    /**
     * @param poolSize packet buffers shared by sending and receiving; 0 (default) for {@value #POOL_SIZE_DEFAULT}, or
     *                 fewer (at least {@value #POOL_SIZE_MIN_DEFAULT}) where that many packets of the MTU would take
     *                 more than {@value #POOL_BYTES_TARGET} bytes.
     * @return this.
     */
    public UdpDriverContext poolSize(final int poolSize)
    {
        checkNotConcluded();
        this.poolSize = poolSize;
        return this;
    }

    /**
     * @return packet buffers shared by sending and receiving, 0 for the default.
     */
    public int poolSize()
    {
        return poolSize;
    }

    /**
     * @param txQueueCapacity most packets queued between two flushes.
     * @return this.
     */
    public UdpDriverContext txQueueCapacity(final int txQueueCapacity)
    {
        checkNotConcluded();
        this.txQueueCapacity = txQueueCapacity;
        return this;
    }

    /**
     * @return most packets queued between two flushes.
     */
    public int txQueueCapacity()
    {
        return txQueueCapacity;
    }

    /**
     * @param receiveBatch datagrams per recvmmsg call when GRO is off.
     * @return this.
     */
    public UdpDriverContext receiveBatch(final int receiveBatch)
    {
        checkNotConcluded();
        this.receiveBatch = receiveBatch;
        return this;
    }

    /**
     * @return datagrams per recvmmsg call when GRO is off.
     */
    public int receiveBatch()
    {
        return receiveBatch;
    }

    /**
     * @param bytes receive buffer of each socket: set with {@code SO_RCVBUFFORCE} where the process has
     *              {@code CAP_NET_ADMIN}, else with {@code SO_RCVBUF} up to {@code net.core.rmem_max}; what the kernel
     *              gave is {@link UdpDriver#socketReceiveBufferBytes()}.
     * @return this.
     */
    public UdpDriverContext socketReceiveBufferBytes(final int bytes)
    {
        checkNotConcluded();
        this.socketReceiveBufferBytes = bytes;
        return this;
    }

    /**
     * @return SO_RCVBUF of each socket.
     */
    public int socketReceiveBufferBytes()
    {
        return socketReceiveBufferBytes;
    }

    /**
     * @param bytes send buffer of each socket, set as the receive buffer is ({@code SO_SNDBUFFORCE} first).
     * @return this.
     */
    public UdpDriverContext socketSendBufferBytes(final int bytes)
    {
        checkNotConcluded();
        this.socketSendBufferBytes = bytes;
        return this;
    }

    /**
     * @return SO_SNDBUF of each socket.
     */
    public int socketSendBufferBytes()
    {
        return socketSendBufferBytes;
    }

    /**
     * @param gsoBuffers 64 KiB staging buffers for GSO super-datagrams, i.e. most GSO sends per flush.
     * @return this.
     */
    public UdpDriverContext gsoBuffers(final int gsoBuffers)
    {
        checkNotConcluded();
        this.gsoBuffers = gsoBuffers;
        return this;
    }

    /**
     * @return 64 KiB staging buffers for GSO super-datagrams.
     */
    public int gsoBuffers()
    {
        return gsoBuffers;
    }

    /**
     * @param capacity most destinations whose socket address is cached.
     * @return this.
     */
    public UdpDriverContext addressCacheCapacity(final int capacity)
    {
        checkNotConcluded();
        this.addressCacheCapacity = capacity;
        return this;
    }

    /**
     * @return most destinations whose socket address is cached.
     */
    public int addressCacheCapacity()
    {
        return addressCacheCapacity;
    }

    /**
     * Connected sockets for the first peers (native datapath with its single receive socket; ignored otherwise).
     * The kernel routes every datagram of an unconnected socket twice: an output route lookup per send and, with
     * no connected socket to demultiplex early to, an input route lookup per receive. A socket of the same port,
     * connected to one peer, keeps both routes cached and receives that peer's datagrams (the kernel prefers it to
     * the port's unconnected sockets), which saves both route lookups on every round trip. The price: each
     * connected socket is one more non-blocking receive call per poll, so this is for hosts that talk to a few peers
     * (the clients of one service, a pair of services), not for servers of many clients. The first {@code peers}
     * peers sent a lone datagram get one, at that datagram's level (its {@code IP_TOS} is fixed, so other levels
     * still leave on the unconnected socket of their level), for the driver's lifetime.
     *
     * @param peers 0 (default) to 64.
     * @return this.
     */
    public UdpDriverContext connectedPeers(final int peers)
    {
        checkNotConcluded();
        this.connectedPeers = peers;
        return this;
    }

    /**
     * @return most peers with a connected socket of their own.
     */
    public int connectedPeers()
    {
        return connectedPeers;
    }

    /**
     * While connected sockets exist ({@link #connectedPeers(int)}), the port's unconnected receive socket - where
     * datagrams of the other peers arrive - is read on every {@code polls}-th poll, and on every poll while its
     * last read found datagrams. Each read is a system call, and a
     * busy-polling loop notices a datagram half a loop period after its arrival on average, so reading fewer
     * sockets per poll lowers the connected peers' latency; the other peers' first datagram after a quiet spell
     * waits up to {@code polls} polls longer.
     *
     * @param polls 1 (every poll) to 1024; default {@value #UNCONNECTED_POLL_INTERVAL_DEFAULT}.
     * @return this.
     */
    public UdpDriverContext unconnectedPollInterval(final int polls)
    {
        checkNotConcluded();
        this.unconnectedPollInterval = polls;
        return this;
    }

    /**
     * @return polls per read of the unconnected receive socket while connected sockets exist.
     */
    public int unconnectedPollInterval()
    {
        return unconnectedPollInterval;
    }

    /**
     * Whether the native datapath's receive sockets ask for each datagram's {@code IP_TOS} ({@code IP_RECVTOS}), so
     * that {@code Packet.priority()} and the per-priority receive counters show the level a packet arrived at.
     * The control message costs the kernel work on every receive.
     * Without it received packets report priority -1; the protocol does not need it (the receiver chooses
     * priorities, it does not read them).
     *
     * @param receiveTos true (default) to read the level of each received datagram.
     * @return this.
     */
    public UdpDriverContext receiveTos(final boolean receiveTos)
    {
        checkNotConcluded();
        this.receiveTos = receiveTos;
        return this;
    }

    /**
     * @return true if received datagrams report their level.
     */
    public boolean receiveTos()
    {
        return receiveTos;
    }

    /**
     * @param gso true to send runs of equal-sized packets to one destination as one UDP_SEGMENT super-datagram
     *            where the kernel supports it.
     * @return this.
     */
    public UdpDriverContext gso(final boolean gso)
    {
        checkNotConcluded();
        this.gso = gso;
        return this;
    }

    /**
     * @return true if GSO is wanted.
     */
    public boolean gso()
    {
        return gso;
    }

    /**
     * @param gro true to let the kernel coalesce received datagrams (UDP_GRO) where it supports it.
     * @return this.
     */
    public UdpDriverContext gro(final boolean gro)
    {
        checkNotConcluded();
        this.gro = gro;
        return this;
    }

    /**
     * @return true if GRO is wanted.
     */
    public boolean gro()
    {
        return gro;
    }

    /**
     * Large datagrams (without GRO) are read straight to where the engine places their payloads. With the peek, each
     * batch first reads the headers of the datagrams waiting without taking them ({@code MSG_PEEK} with
     * {@code SO_PEEK_OFF}), so every payload lands in its own place: one system call more a batch. Without it, a
     * batch guesses that the datagrams go on with the last one's message and moves those it guessed wrong: a
     * user-space copy each, which interleaved messages make common.
     *
     * @param peek true to peek where the kernel allows it.
     * @return this.
     */
    public UdpDriverContext peek(final boolean peek)
    {
        checkNotConcluded();
        this.peek = peek;
        return this;
    }

    /**
     * @return true if placed reads peek at the headers first.
     */
    public boolean peek()
    {
        return peek;
    }

    /**
     * @param datapath how datagrams move, see {@link Datapath}.
     * @return this.
     */
    public UdpDriverContext datapath(final Datapath datapath)
    {
        checkNotConcluded();
        this.datapath = datapath;
        return this;
    }

    /**
     * @return how datagrams move.
     */
    public Datapath datapath()
    {
        return datapath;
    }

    /**
     * For tests: whether the native datapath may receive on one socket with IP_RECVTOS (the default) or must use
     * its fallback, one socket per level steered by TOS and read after epoll.
     *
     * @param single false to force the fallback.
     * @return this.
     */
    UdpDriverContext singleReceiveSocket(final boolean single)
    {
        checkNotConcluded();
        this.singleReceiveSocket = single;
        return this;
    }

    boolean singleReceiveSocket()
    {
        return singleReceiveSocket;
    }

    /**
     * @param clock the driver's clock for arrival timestamps and the queue estimate.
     * @return this.
     */
    public UdpDriverContext clock(final NanoClock clock)
    {
        checkNotConcluded();
        this.clock = clock;
        return this;
    }

    /**
     * @return the driver's clock.
     */
    public NanoClock clock()
    {
        return clock;
    }
}
