package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.homa.nic.HostAddress;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.HomaFrameWriter;
import dev.homa.nic.linux.ClassicBpf;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.SocketOptions;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The driver's {@code AF_PACKET} socket on one interface, with its memory-mapped receive ring.
 * <p>
 * The socket is an {@code ETH_P_ALL} tap because protocol-bound packet sockets run after the kernel has discarded a
 * VID-0 tag; a classic BPF filter ({@link HomaFilter}) passes only Homa (IPv4 protocol 146, or TCP hijacked by Homa)
 * for the driver's ports, so other traffic never costs ring space. {@code PACKET_VNET_HDR} is asked for where the
 * checksum is offloaded (and the driver falls back to software where the kernel refuses it),
 * {@code PACKET_QDISC_BYPASS} sends straight to the device, {@code PACKET_IGNORE_OUTGOING} keeps our own frames out
 * of the ring, and a {@code PACKET_FANOUT} group lets one driver per receive thread share a NIC. The socket keeps the
 * network namespace of the thread that opened it.
 */
final class PacketSocket
{
    private static final int SEND_BUFFER_BYTES = 4 * 1024 * 1024;
    private static final int SOCKADDR_LL_LENGTH = 20;
    private static final int TPACKET_STATS_LENGTH = 12;
    private static final int TP_DROPS_OFFSET = 4;
    private static final int JUMBO_FRAME_LENGTH = 9000;
    private static final int MIN_PACKET_LENGTH = 64;
    private static final String VETH_DRIVER = "veth";

    private final MemorySegment errno;
    private final int fd;
    private final int ifIndex;
    private final long localMac;
    private final int localIp;
    private final int broadcastIp;
    private final int maxPacketLength;
    private final int maxReceiveLength;
    private final boolean deviceSegments;
    private final boolean checksumOffload;
    private final ReceiveRing ring;
    private final MemorySegment statistics;
    private final MemorySegment statisticsLength;

    private PacketSocket(
        final Arena arena, final MemorySegment errno, final int fd, final RawEthernetDriverContext context,
        final RawEthernetCounters counters)
    {
        this.errno = errno;
        this.fd = fd;
        final InterfaceRequest request = new InterfaceRequest(arena, errno, context.interfaceName);
        this.ifIndex = request.index(fd);
        this.localMac = request.mac(fd);
        final int mtu = request.mtu(fd);
        this.localIp = 0 != context.localAddress ? HostAddress.ipv4Of(context.localAddress) : request.ipv4();
        this.broadcastIp = request.broadcastIpv4();
        final int fromMtu = mtu - FrameLayout.IPV4_HEADER_LENGTH;
        this.maxPacketLength = 0 != context.maxPacketLength ? Math.min(context.maxPacketLength, fromMtu) :
            Math.min(fromMtu, JUMBO_FRAME_LENGTH - FrameLayout.IPV4_HEADER_LENGTH);
        if (maxPacketLength < MIN_PACKET_LENGTH)
        {
            throw new RawEthernetException("MTU " + mtu + " of " + context.interfaceName + " is too small");
        }

        // A veth device passes a segmentation-offload frame to its peer whole, as one frame of up to 64 KiB; a NIC
        // puts wire packets no longer than its MTU on the wire, and its receive offloads never merge hijacked ones.
        this.maxReceiveLength = VETH_DRIVER.equals(request.driverName(fd)) ? HomaFrameWriter.MAX_HOMA_LENGTH :
            maxPacketLength;
        this.deviceSegments = request.segmentsTcp(fd);

        // Before the ring: the kernel refuses the option on a socket that has one.
        this.checksumOffload = RawEthernetDriverContext.ChecksumMode.OFFLOAD == context.checksum &&
            SocketOptions.trySetInt(arena, errno, fd, LibC.SOL_PACKET, LibC.PACKET_VNET_HDR, 1);
        this.ring = ReceiveRing.open(arena, errno, fd, context.rxRing, context.rxBlockSize, context.rxBlockCount,
            context.rxBlockTimeoutMs, maxReceiveLength, counters);
        try
        {
            configure(arena, context);
        }
        catch (final RuntimeException ex)
        {
            ring.close(errno);
            throw ex;
        }
        this.statistics = arena.allocate(TPACKET_STATS_LENGTH, 8);
        this.statisticsLength = arena.allocate(4, 4);
    }

    private void configure(final Arena arena, final RawEthernetDriverContext context)
    {
        attachFilter(arena, errno, fd, HomaFilter.ALL_PORTS, "Homa receive filter");
        if (context.qdiscBypass)
        {
            setInt(arena, fd, LibC.SOL_PACKET, LibC.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
        }
        SocketOptions.trySetInt(arena, errno, fd, LibC.SOL_PACKET, LibC.PACKET_IGNORE_OUTGOING, 1);
        SocketOptions.trySetBuffer(arena, errno, fd, LibC.SO_SNDBUFFORCE, LibC.SO_SNDBUF, SEND_BUFFER_BYTES);

        final MemorySegment sll = arena.allocate(SOCKADDR_LL_LENGTH, 8);
        sll.set(JAVA_SHORT, 0, (short)LibC.AF_PACKET);
        sll.set(JAVA_SHORT, 2, (short)LibC.htons(LibC.ETH_P_ALL));
        sll.set(JAVA_INT, 4, ifIndex);
        if (0 != LibC.bind(errno, fd, sll, SOCKADDR_LL_LENGTH))
        {
            throw new RawEthernetException("bind of the packet socket to " + context.interfaceName +
                " failed: " + LibC.describe(LibC.errno(errno)));
        }
        if (context.fanoutGroup >= 0)
        {
            setInt(arena, fd, LibC.SOL_PACKET, LibC.PACKET_FANOUT,
                (context.fanoutGroup & 0xFFFF) | (context.fanoutMode << 16), "PACKET_FANOUT");
        }
    }

    /**
     * Open and set up the socket in the calling thread's network namespace.
     *
     * @param arena    owns the ring's bookkeeping and the socket's buffers (the driver's).
     * @param errno    errno capture state.
     * @param context  concluded configuration.
     * @param counters where the ring counts what it drops.
     * @return the socket, bound to {@link RawEthernetDriverContext#interfaceName()}.
     * @throws RawEthernetException if a call fails; the message names a missing capability.
     */
    static PacketSocket open(
        final Arena arena, final MemorySegment errno, final RawEthernetDriverContext context,
        final RawEthernetCounters counters)
    {
        final int fd = LibC.socket(errno, LibC.AF_PACKET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new RawEthernetException(socketFailure(LibC.errno(errno), context.interfaceName));
        }
        try
        {
            return new PacketSocket(arena, errno, fd, context, counters);
        }
        catch (final RuntimeException ex)
        {
            LibC.close(fd);
            throw ex;
        }
    }

    static String socketFailure(final int error, final String interfaceName)
    {
        if (LibC.EPERM == error || LibC.EACCES == error)
        {
            return "raw Ethernet driver on " + interfaceName + " needs the CAP_NET_RAW capability to open an " +
                "AF_PACKET socket, and this process does not have it (socket(AF_PACKET, SOCK_RAW) failed: " +
                LibC.describe(error) + "). Run as root, grant it to the JVM " +
                "(setcap cap_net_raw,cap_net_admin+ep $JAVA_HOME/bin/java), or use the udp:// driver, which " +
                "needs no privileges.";
        }
        return "socket(AF_PACKET, SOCK_RAW) failed: " + LibC.describe(error);
    }

    /**
     * Attach a classic BPF program to a socket of the driver.
     *
     * @throws RawEthernetException naming the program if the kernel refuses it.
     */
    static void attachFilter(
        final Arena arena, final MemorySegment errno, final int socket, final int[][] program, final String name)
    {
        final int error = ClassicBpf.attach(arena, errno, socket, program);
        if (0 != error)
        {
            throw new RawEthernetException("attaching the " + name + " (SO_ATTACH_FILTER) failed: " +
                LibC.describe(error));
        }
    }

    private void setInt(
        final Arena arena, final int socket, final int level, final int option, final int value, final String name)
    {
        if (!SocketOptions.trySetInt(arena, errno, socket, level, option, value))
        {
            throw new RawEthernetException("setsockopt(" + name + ", " + value + ") failed: " +
                LibC.describe(LibC.errno(errno)));
        }
    }

    /**
     * Replace the receive filter (the kernel swaps it atomically; any thread).
     *
     * @param program a {@link HomaFilter} program.
     */
    void filter(final int[][] program)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            attachFilter(scratch, LibC.newErrnoState(scratch), fd, program, "Homa receive filter");
        }
    }

    int fd()
    {
        return fd;
    }

    int interfaceIndex()
    {
        return ifIndex;
    }

    long localMac()
    {
        return localMac;
    }

    /**
     * @return this host's IPv4 address, network order: the configured one, else the interface's.
     */
    int localIp()
    {
        return localIp;
    }

    /**
     * @return the interface's directed broadcast address, 0 if unknown.
     */
    int broadcastIp()
    {
        return broadcastIp;
    }

    /**
     * @return the longest Homa packet: the MTU less the IPv4 header, capped by the configuration.
     */
    int maxPacketLength()
    {
        return maxPacketLength;
    }

    /**
     * @return the longest Homa packet the receive ring holds: {@link #maxPacketLength()}, or on a veth device, which
     *         passes a segmentation-offload frame on whole, the longest an IPv4 packet can carry.
     */
    int maxReceiveLength()
    {
        return maxReceiveLength;
    }

    /**
     * @return true if the device cut TCP into segments itself when the driver opened ({@code tcp-segmentation-offload}
     *         on); where it does not, the kernel segments in software, which a socket that bypasses the qdisc cannot
     *         have ({@code __dev_direct_xmit} drops what validation turned into a list).
     */
    boolean deviceSegments()
    {
        return deviceSegments;
    }

    /**
     * @return true if every frame starts with a {@code virtio_net_hdr} ({@code PACKET_VNET_HDR} is on).
     */
    boolean checksumOffload()
    {
        return checksumOffload;
    }

    ReceiveRing ring()
    {
        return ring;
    }

    /**
     * Frames the ring dropped since the last call: the kernel resets its count when read.
     *
     * @return drops since the last call, 0 if the kernel does not say.
     */
    long takeRingDrops()
    {
        statisticsLength.set(JAVA_INT, 0, TPACKET_STATS_LENGTH);
        if (0 == LibC.getsockoptNoErrno(
            fd, LibC.SOL_PACKET, LibC.PACKET_STATISTICS, statistics.address(), statisticsLength.address()))
        {
            return statistics.get(JAVA_INT, TP_DROPS_OFFSET) & 0xFFFF_FFFFL;
        }
        return 0;
    }

    void close()
    {
        ring.close(errno);
        LibC.close(fd);
    }
}
