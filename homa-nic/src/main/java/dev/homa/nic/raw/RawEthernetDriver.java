package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicQueueEstimator;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.NetDevice;
import dev.homa.nic.linux.NetworkNamespace;
import dev.homa.nic.linux.PacketPool;
import dev.homa.nic.linux.ReadableWait;
import org.agrona.concurrent.NanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Homa over raw Ethernet on Linux: an {@code AF_PACKET} socket driven through the FFM API (no JNI, no native
 * build). Every Homa packet leaves as Ethernet + 802.1Q tag + IPv4 (protocol 146) + Homa bytes (the tag can be left
 * out, see below); the tag's PCP carries the Homa priority in 802.1p order (level 0 -> PCP 1, level 1 -> PCP 0,
 * n -> n) with VLAN id 0, so switches put it in the right strict-priority queue without any VLAN configuration.
 * <p>
 * The driver joins a few parts, each in its own class: the {@link PacketSocket} (socket options, BPF filter, the
 * receive ring), the {@link FrameTransmitter} (the send batch), the {@link FrameReceiver} with its
 * {@link ReceiveValidator} (which frames are ours), the {@link NeighbourResolver} (next-hop MACs) and, for ICMP, the
 * {@link IcmpGuard} and {@link IcmpChannel}.
 * <p>
 * <b>Receive</b>: a memory-mapped {@code AF_PACKET} ring ({@link ReceiveRing}), polled without system calls by the
 * {@link FrameReceiver}. Two layouts ({@link RawEthernetDriverContext#rxRing}): {@code TPACKET_V2} (default) makes
 * every frame visible the moment it is written; {@code TPACKET_V3} packs frames into blocks that reach user space
 * when full or when the block's retire timer fires (at least 1 ms, jiffy-granular), so on a quiet link a V3 frame can
 * wait a millisecond: V3 is for throughput-bound receivers only.
 * <p>
 * <b>Transmit</b>: {@link #send} queues the frame in the {@link FrameTransmitter}, which writes its headers into the
 * headroom in front of the packet's pool slot; {@link #flush()} hands the batch to the kernel with one system call.
 * <p>
 * <b>Checksum</b>: by default ({@link RawEthernetDriverContext.ChecksumMode#OFFLOAD}) every frame asks for a partial
 * checksum, completed by the NIC or by the kernel where the device cannot, so the protocol neither sums nor copies
 * the payload ({@link #completesChecksum()}, {@link #gathersPayload()}). A veth pair passes the partial checksum on
 * as it is, for the kernel's packets too.
 * <p>
 * <b>Untagged frames</b>: with {@link RawEthernetDriverContext#tagged} false the frames carry no 802.1Q tag and the
 * level travels only as DSCP, as a kernel host sends Homa; for networks that strip or refuse tags.
 * <p>
 * <b>ICMP</b>: the {@link IcmpGuard} keeps the kernel from answering our frames with "protocol unreachable". A Homa
 * packet for a port without a socket is answered, as a kernel host answers it, with ICMP port unreachable, and the
 * ICMP unreachable messages that quote our own packets reach the protocol as
 * {@link dev.homa.nic.UnreachableNotice}s ({@link IcmpChannel}, one raw ICMP socket, read once every
 * {@value #ICMP_POLL_INTERVAL} empty polls).
 * <p>
 * <b>Permissions</b>: needs CAP_NET_RAW (packet and raw sockets) and, for ARP requests and a large send buffer,
 * CAP_NET_ADMIN. Without CAP_NET_RAW {@link #open} fails with a message naming it.
 * <p>
 * One thread uses a driver (the {@link NicDriver} contract). For several receive threads on one NIC open one
 * driver per thread with the same {@link RawEthernetDriverContext#fanoutGroup}: the kernel spreads flows over their
 * rings. Several processes, or transports, can each have a driver on one interface: they share its Homa ports as
 * sockets share a kernel host's ({@link #claimPort}, {@link PortTable}), and each receives only its own ports' packets
 * (the driver that answers for the interface also those of ports nobody claimed, to answer them; a fanout group's
 * drivers every port).
 * A driver opened on a thread that entered a network namespace keeps that namespace for all its sockets.
 */
public final class RawEthernetDriver implements NicDriver
{
    /**
     * Bytes each pool slot keeps in front of the Homa bytes: the virtio header and the 38-byte Ethernet + 802.1Q +
     * IPv4 header are written there, so a frame leaves in one piece and its Homa bytes start 64-byte aligned.
     */
    static final int FRAME_HEADROOM = 64;
    /** Link rate when the interface reports none: the kernel's {@code link_mbps} default, 25 Gb/s. */
    public static final long LINK_BITS_PER_SECOND_FALLBACK = NetDevice.DEFAULT_LINK_BITS_PER_SECOND;
    private static final int ICMP_POLL_INTERVAL = 256;
    private static final int ICMP_BURST = 8;

    private static final Logger LOG = LoggerFactory.getLogger(RawEthernetDriver.class);

    private final RawEthernetDriverContext context;
    private final Arena arena;
    private final MemorySegment errno;
    private final PacketSocket socket;
    private final PortTable ports;
    private final IcmpGuard icmpGuard;
    private final IcmpChannel icmp;
    private final ReadableWait readable;
    private final FrameReceiver receiver;
    private final FrameTransmitter transmitter;
    private final NeighbourResolver neighbours;
    private final PacketPool pool;
    private final RawEthernetCounters counters = new RawEthernetCounters();
    private final NanoClock clock;
    private final NicQueueEstimator estimator;
    private final long linkBitsPerSecond;
    private final boolean transmitQueue;
    private final boolean checksumOffload;
    private final long localMac;
    private final int localIp;
    private final int broadcastIp;
    private final long localAddress;
    private final int maxPacketLength;
    private int emptyPolls;
    private boolean closed;

    private RawEthernetDriver(final RawEthernetDriverContext context)
    {
        this.context = context;
        this.clock = context.clock;
        this.arena = Arena.ofShared();
        this.errno = LibC.newErrnoState(arena);
        PacketSocket packetSocket = null;
        PortTable portTable = null;
        IcmpGuard guard = null;
        IcmpChannel icmpChannel = null;
        NeighbourTable table = null;
        ReadableWait wait = null;
        try
        {
            packetSocket = PacketSocket.open(arena, errno, context, counters);
            // A fanout group spreads the interface's Homa traffic over its sockets, each keeping the filter on every
            // port: the kernel applies only the chosen socket's filter.
            final PacketSocket filtered = packetSocket;
            portTable = PortTable.open(context.portTable, packetSocket.interfaceIndex(),
                context.fanoutGroup < 0 ? filtered::filter : (program) -> { });
            if (context.suppressIcmp)
            {
                guard = IcmpGuard.open(arena, errno);
            }
            icmpChannel = IcmpChannel.open(arena, errno, packetSocket.localIp(),
                (fd, program, name) -> PacketSocket.attachFilter(arena, errno, fd, program, name));
            table = new NeighbourTable(arena, packetSocket.interfaceIndex());
            table.refresh();
            wait = ReadableWait.on(packetSocket.fd(), icmpChannel.fd());
        }
        catch (final RuntimeException ex)
        {
            if (null != icmpChannel)
            {
                icmpChannel.close();
            }
            if (null != table)
            {
                table.close();
            }
            if (null != guard)
            {
                guard.close();
            }
            if (null != portTable)
            {
                portTable.close();
            }
            if (null != packetSocket)
            {
                packetSocket.close();
            }
            arena.close();
            throw ex;
        }
        this.socket = packetSocket;
        this.ports = portTable;
        this.icmpGuard = guard;
        this.icmp = icmpChannel;
        this.readable = wait;
        this.localMac = packetSocket.localMac();
        this.localIp = packetSocket.localIp();
        this.localAddress = HostAddress.ipv4(localIp);
        this.broadcastIp = packetSocket.broadcastIp();
        this.maxPacketLength = packetSocket.maxPacketLength();
        this.checksumOffload = packetSocket.checksumOffload();
        final NetDevice device = 0 != context.linkBitsPerSecond ? NetDevice.UNKNOWN :
            NetDevice.named(context.interfaceName);
        this.transmitQueue = 0 != context.linkBitsPerSecond || !device.software();
        this.linkBitsPerSecond = 0 != context.linkBitsPerSecond ? context.linkBitsPerSecond :
            device.linkBitsPerSecond();
        this.estimator = new NicQueueEstimator(clock, linkBitsPerSecond);
        this.pool = new PacketPool(arena, context.poolPackets, maxPacketLength, FRAME_HEADROOM);
        final KnownPeers knownPeers = new KnownPeers(counters);
        this.receiver = new FrameReceiver(packetSocket.ring(),
            new ReceiveValidator(packetSocket, context.vlanId, counters), pool, knownPeers, clock, counters);
        this.transmitter = new FrameTransmitter(arena, errno, packetSocket, pool, knownPeers, context, counters);
        this.neighbours = new NeighbourResolver(table, pool, transmitter, context, counters);

        LOG.info("raw Ethernet driver on {} (ifindex {}, {} {}): max packet {} bytes (received up to {}), " +
            "{} ring {}x{} bytes, pool {}, segmentation offload {}",
            context.interfaceName, packetSocket.interfaceIndex(), EthernetFlyweight.macToString(localMac),
            HostAddress.toString(localAddress), maxPacketLength, packetSocket.maxReceiveLength(), context.rxRing,
            packetSocket.ring().blockCount(), context.rxBlockSize, context.poolPackets,
            transmitter.offloads() ? "on" : "off");
    }

    /**
     * Open the driver; with {@link RawEthernetDriverContext#networkNamespace} set, its sockets are opened from a
     * thread inside that namespace and keep it, so the driver then works from any thread while the rest of the JVM
     * stays where it is.
     *
     * @param context configuration; {@link RawEthernetDriverContext#interfaceName} is required.
     * @return the running driver.
     * @throws RawEthernetException if a system call fails; the message names a missing capability.
     */
    public static RawEthernetDriver open(final RawEthernetDriverContext context)
    {
        context.conclude();
        if (null == context.networkNamespace)
        {
            return new RawEthernetDriver(context);
        }
        return NetworkNamespace.callIn(
            context.networkNamespace, () -> new RawEthernetDriver(context), RawEthernetException::new);
    }

    /**
     * Open a driver from a URI: {@code raw://IFNAME?option=value&...}, read by {@link dev.homa.nic.DriverUri} (sizes
     * take k/m/g in powers of 1024, rates in powers of 1000). Options: {@code ip} (local IPv4, default the
     * interface's), {@code rate} (link rate, e.g. {@code 10g}, {@code 25g}, {@code 100m}), {@code pool} (packets),
     * {@code txbatch} (sends per flush), {@code blockSize} (e.g. {@code 256k}), {@code blocks}, {@code blockTimeoutMs},
     * {@code maxPacket}, {@code fanout} (group id), {@code fanoutMode} (hash, lb, cpu, rollover, random, qm),
     * {@code vlan} (VLAN id, default 0 = priority tag only), {@code tag} (false: untagged frames, level as DSCP only),
     * {@code qdiscBypass} (true/false), {@code checksum} (offload, software), {@code tso} (true/false: segmentation
     * offload through TCP hijacking), {@code icmpGuard} (true/false), {@code neighbourRefreshMs}, {@code ring} (v2,
     * v3), {@code netns} (network namespace name or path to open the sockets in), {@code portTable} (the directory of
     * the interface's shared port table).
     *
     * @param uri such as {@code raw://veth0?rate=10g&fanout=7}.
     * @return the running driver.
     */
    public static RawEthernetDriver fromUri(final String uri)
    {
        return open(RawEthernetDriverContext.fromUri(uri));
    }

    /**
     * @return the concluded configuration.
     */
    public RawEthernetDriverContext context()
    {
        return context;
    }

    @Override
    public int counterCount()
    {
        return RawEthernetCounters.NAMES.length;
    }

    @Override
    public String counterName(final int index)
    {
        return RawEthernetCounters.NAMES[index];
    }

    @Override
    public long counterValue(final int index)
    {
        // The ring's drop count lives in the kernel until asked for.
        return (RawEthernetCounters.NAMES.length - 1 == index ? counters() : counters).value(index);
    }

    /**
     * {@inheritDoc}
     * <p>
     * The frames the receive ring dropped ({@link RawEthernetCounters#ringDrops()}).
     */
    @Override
    public long receiveDrops()
    {
        return counters().ringDrops();
    }

    /**
     * @return counters, with {@link RawEthernetCounters#ringDrops()} refreshed from the kernel.
     */
    public RawEthernetCounters counters()
    {
        if (!closed)
        {
            // Reading resets the kernel's counts, so accumulate.
            counters.ringDrops += socket.takeRingDrops();
        }
        return counters;
    }

    /**
     * @return this host's MAC address (48 bits).
     */
    public long localMac()
    {
        return localMac;
    }

    /**
     * @return the interface index.
     */
    public int interfaceIndex()
    {
        return socket.interfaceIndex();
    }

    /**
     * Wait until the kernel knows the MAC of {@code destination}, asking it to ARP; for start-up, not the data path.
     *
     * @param destination {@link HostAddress} of the peer (on-link).
     * @param timeoutNs   longest wait.
     * @return true if resolved.
     */
    public boolean awaitNeighbour(final long destination, final long timeoutNs)
    {
        return neighbours.await(destination, timeoutNs);
    }

    /**
     * @param destination {@link HostAddress} of a peer.
     * @return its MAC as known now, or -1.
     */
    public long neighbourMac(final long destination)
    {
        return neighbours.lookup(HostAddress.ipv4Of(destination));
    }

    @Override
    public int maxPacketLength()
    {
        return maxPacketLength;
    }

    @Override
    public int priorityLevels()
    {
        return 8;
    }

    @Override
    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    @Override
    public int wireOverheadBytes()
    {
        return FrameLayout.WIRE_OVERHEAD_BYTES;
    }

    /**
     * {@inheritDoc}
     * <p>
     * A raw Ethernet destination is a host, with no port, that is not a martian, broadcast or multicast address
     * (see {@link ReceiveValidator#isMartianSource}) and not this host.
     */
    @Override
    public String destinationError(final long destination)
    {
        if (!HostAddress.isIpv4(destination))
        {
            return "not an IPv4 host address: " + HostAddress.toString(destination);
        }
        if (0 != HostAddress.portOf(destination))
        {
            return HostAddress.toString(destination) + " has a port: raw:// peers are addressed by IP alone";
        }
        if (ReceiveValidator.isMartianSource(HostAddress.ipv4Of(destination), localIp, broadcastIp))
        {
            return HostAddress.toString(destination) + " is not a unicast address of another host";
        }
        return null;
    }

    @Override
    public long localAddress()
    {
        return localAddress;
    }

    @Override
    public long queuedBytes()
    {
        return transmitQueue ? estimator.queuedBytes() : 0;
    }

    @Override
    public boolean hasTransmitQueue()
    {
        return transmitQueue;
    }

    @Override
    public Packet acquire()
    {
        checkOpen();
        return pool.acquire();
    }

    @Override
    public void release(final Packet packet)
    {
        if (!receiver.returnView(packet))
        {
            pool.release(packet);
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * True: frames are Ethernet + IPv4 protocol 146.
     */
    @Override
    public boolean carriesIpProtocol146()
    {
        return true;
    }

    /**
     * {@inheritDoc}
     * <p>
     * True unless {@link RawEthernetDriverContext#checksum} asks for software or the kernel refused
     * {@code PACKET_VNET_HDR}: each frame then carries a {@code virtio_net_hdr} asking for a partial checksum from the
     * Homa header on, and the driver stores the pseudo-header seed ({@link dev.homa.nic.frame.HomaChecksum#seed}).
     */
    @Override
    public boolean completesChecksum()
    {
        return checksumOffload;
    }

    /**
     * {@inheritDoc}
     * <p>
     * True where the checksum is completed below the driver ({@link #completesChecksum()}): the payload's pieces
     * then follow the frame's own bytes as further iovecs of the same message.
     */
    @Override
    public boolean gathersPayload()
    {
        return checksumOffload;
    }

    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        if (priority < 0 || priority > 7)
        {
            throw new IllegalArgumentException("priority outside 0..7: " + priority);
        }
        if (!HostAddress.isIpv4(destination))
        {
            throw new IllegalArgumentException("raw Ethernet sends to IPv4 hosts only: " + destination);
        }
        checkOpen();
        final int slot = pool.slotOf(packet);
        if (0 == transmitter.room())
        {
            return false;
        }
        final int destinationIp = HostAddress.ipv4Of(destination);
        final long destinationMac = neighbours.macOf(destinationIp);
        if (NeighbourTable.NO_MAC == destinationMac)
        {
            neighbours.holdUnresolved(packet, destinationIp, priority);
            return true;
        }
        transmitter.queue(packet, slot, destinationIp, destinationMac, priority);
        return true;
    }

    @Override
    public int flush()
    {
        checkOpen();
        neighbours.releaseHeldIfDue();
        if (0 == transmitter.count())
        {
            neighbours.refreshIfDue(clock.nanoTime());
            return 0;
        }
        final int sent = transmitter.flush();
        // The clock is read once, after the frames left: nothing stands between the caller and send(2).
        final long nowNs = clock.nanoTime();
        estimator.onTransmit(transmitter.flushedWireBytes(), nowNs);
        neighbours.refreshIfDue(nowNs);
        return sent;
    }

    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        checkOpen();
        if (neighbours.releaseHeldIfDue() > 0)
        {
            flush();
        }
        int delivered = receiver.poll(sink, limit);
        if (0 == delivered && receiver.drained() && ++emptyPolls >= ICMP_POLL_INTERVAL)
        {
            // ICMP errors are rare and not urgent to the microsecond: one look per so many idle polls.
            emptyPolls = 0;
            delivered += pollIcmp(sink);
            ports.look();
        }
        return delivered;
    }

    /**
     * {@inheritDoc}
     * <p>
     * True: the packet socket is readable while a frame waits in its ring.
     */
    @Override
    public boolean canAwaitReadable()
    {
        return true;
    }

    /**
     * {@inheritDoc}
     * <p>
     * Returns at once while a frame waits in the ring; otherwise sleeps in {@code ppoll} on the packet socket, the
     * ICMP socket and the wake-up's eventfd.
     */
    @Override
    public int awaitReadable(final long maxWaitNs)
    {
        checkOpen();
        if (!receiver.drained() || socket.ring().nextFrame() >= 0)
        {
            return 1;
        }
        return readable.await(Math.max(1L, maxWaitNs));
    }

    @Override
    public void wakeup()
    {
        readable.wakeup();
    }

    /**
     * {@inheritDoc}
     * <p>
     * Claimed in the interface's {@link PortTable}; the receive filter then passes the port's packets.
     */
    @Override
    public boolean claimPort(final int port)
    {
        return ports.claim(port);
    }

    @Override
    public void releasePort(final int port)
    {
        ports.release(port);
    }

    /**
     * @return the ports this driver claimed, sorted.
     */
    public int[] claimedPorts()
    {
        return ports.ownPorts();
    }

    /**
     * @return true if this driver answers for its interface: it receives every port no other driver claimed.
     */
    public boolean answersForInterface()
    {
        return ports.answering();
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        readable.close();
        ports.close();
        neighbours.close();
        icmp.close();
        socket.close();
        if (null != icmpGuard)
        {
            icmpGuard.close();
        }
        arena.close();
    }

    /**
     * {@inheritDoc}
     * <p>
     * ICMP port unreachable quoting the packet, as a kernel host answers (see {@link IcmpChannel}).
     */
    @Override
    public boolean sendPortUnreachable(final Packet received)
    {
        checkOpen();
        if (received.length() >= HomaFilter.DESTINATION_PORT_OFFSET + 2 && ports.claimedElsewhere(
            received.buffer().getShort(HomaFilter.DESTINATION_PORT_OFFSET, ByteOrder.BIG_ENDIAN) & 0xFFFF))
        {
            counters.rxOtherDriverPort++;
            return true;
        }
        if (!HostAddress.isIpv4(received.source()) || !icmp.sendPortUnreachable(received))
        {
            return false;
        }
        counters.txPortUnreachable++;
        return true;
    }

    /**
     * Deliver the ICMP unreachable messages waiting, as {@link dev.homa.nic.UnreachableNotice}s.
     *
     * @return notices delivered.
     */
    private int pollIcmp(final PacketSink sink)
    {
        int delivered = 0;
        for (int i = 0; i < ICMP_BURST; i++)
        {
            final Packet packet = pool.acquire();
            if (null == packet)
            {
                break;
            }
            final int result = icmp.receive(packet);
            if (result <= 0)
            {
                pool.release(packet);
                if (result < 0)
                {
                    break;
                }
                continue;
            }
            counters.rxUnreachable++;
            delivered++;
            sink.onPacket(packet);
        }
        return delivered;
    }

    private void checkOpen()
    {
        if (closed)
        {
            // The pool and the ring are unmapped: touching them would crash the JVM, so fail loudly instead.
            throw new IllegalStateException("raw Ethernet driver on " + context.interfaceName + " is closed");
        }
    }
}
