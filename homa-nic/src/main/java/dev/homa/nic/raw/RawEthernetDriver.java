package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;

import dev.homa.nic.DriverUri;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicQueueEstimator;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.FrameRejectReason;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.frame.HomaFrameReader;
import dev.homa.nic.frame.HomaFrameWriter;
import dev.homa.nic.frame.Ipv4Flyweight;
import dev.homa.nic.linux.NetDevice;
import dev.homa.nic.linux.PacketPool;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static dev.homa.nic.frame.EthernetFlyweight.ETHER_TYPE_IPV4;
import static dev.homa.nic.frame.EthernetFlyweight.ETHER_TYPE_VLAN;
import static dev.homa.nic.frame.FrameLayout.IPPROTO_HOMA;
import static dev.homa.nic.frame.FrameLayout.TAGGED_HEADER_LENGTH;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Homa over raw Ethernet on Linux: an {@code AF_PACKET} socket driven through the FFM API (no JNI, no native
 * build). Every Homa packet leaves as Ethernet + 802.1Q tag + IPv4 (protocol 146) + Homa bytes (the tag can be left
 * out, see below); the tag's PCP
 * carries the Homa priority in 802.1p order (level 0 -> PCP 1, level 1 -> PCP 0, n -> n) with VLAN id 0, so
 * switches put it in the right strict-priority queue without any VLAN configuration.
 * <p>
 * <b>Receive</b>: a memory-mapped {@code AF_PACKET} ring, polled without system calls. {@link #poll} walks the
 * frames the kernel has handed to user space, copies each accepted Homa packet into a pool slot, hands the burst to
 * the sink and returns each frame (or block) to the kernel with a release store. Two layouts
 * ({@link Context#rxRing}): {@code TPACKET_V2} (default) makes every frame visible the moment it is written;
 * {@code TPACKET_V3} packs frames into blocks that reach user space when full or when the block's retire timer
 * fires (at least 1 ms, jiffy-granular), so on a quiet link a V3 frame can wait a millisecond: V3 is for
 * throughput-bound receivers only. The kernel strips a received 802.1Q tag into
 * metadata before taps see the frame; the PCP is read back from the ring header's {@code tp_vlan_tci} when
 * {@code TP_STATUS_VLAN_VALID} is set (and from the frame itself if a tag is still inline). The socket is a
 * {@code ETH_P_ALL} tap because protocol-bound packet sockets run after the kernel has discarded a VID-0 tag. A
 * classic BPF filter passes only IPv4 protocol 146, so other traffic never costs ring space; what passes is checked
 * again (destination MAC and IP, header checksum, lengths, fragments, stacked VLAN tags, and the source: the
 * martian, broadcast, multicast and own-address sources that the kernel's IP layer drops before any protocol sees
 * them, see {@link #isMartianSource}) and every drop is counted in
 * {@link RawEthernetCounters}.
 * <p>
 * <b>Transmit</b>: {@link #send} writes the 38-byte frame header into the headroom in front of the packet's pool
 * slot and queues one {@code mmsghdr} whose first iovec covers header and the packet's own bytes, followed by one
 * iovec per piece of gathered payload; {@link #flush()} hands the batch to the kernel with one {@code sendmmsg}
 * (non-blocking), or with a plain {@code send} when the batch is a single contiguous frame (no message vector for
 * the kernel to copy in). {@code PACKET_QDISC_BYPASS} sends
 * straight to the device. Why not a {@code TPACKET_V2} TX ring: with a ring every packet is copied once more in user
 * space, frames need a status hand-shake before reuse, and an error in one frame stalls the ring; {@code sendmmsg} is
 * one syscall per batch like the ring's doorbell, reports errors per message, and points the kernel at the pool and
 * the message's bytes directly. If the same packet is queued twice in one batch (to two hosts) the second header goes
 * to a staging buffer, so neither header overwrites the other.
 * <p>
 * <b>Checksum</b>: by default ({@link ChecksumMode#OFFLOAD}) the socket has {@code PACKET_VNET_HDR} on and every
 * frame starts with a {@code virtio_net_hdr} asking for a partial checksum from the Homa header to the end, stored in
 * the common header's checksum field, which the driver seeds with the pseudo-header sum: the kernel's Homa hands its
 * packets down the same way ({@code CHECKSUM_PARTIAL}), and the NIC, or {@code skb_checksum_help} where the device
 * cannot, completes it. The protocol then neither sums nor copies the payload
 * ({@link #completesChecksum()}, {@link #gathersPayload()}). A veth pair passes the partial checksum on as it is, for
 * the kernel's packets too.
 * <p>
 * <b>Neighbours</b>: next-hop MACs come from the kernel's table over rtnetlink ({@link NeighbourTable}), refreshed
 * every {@link Context#neighbourRefreshNs}; a miss asks the kernel to ARP for the address and holds a copy of the
 * packet until the MAC is known, as the kernel's neighbour layer does ({@link NeighbourHold}: up to 64 packets, for
 * up to 3 s; beyond that a packet is dropped and counted in {@link RawEthernetCounters#txUnresolved()}).
 * {@link #awaitNeighbour} waits for an address at start-up.
 * <p>
 * <b>Untagged frames</b>: with {@link Context#tagged} false the frames carry no 802.1Q tag and the level travels only
 * as DSCP, as a kernel host sends Homa; for networks that strip or refuse tags.
 * <p>
 * <b>ICMP</b>: the kernel also sees every frame (taps do not consume) and, having no protocol 146, would answer each
 * with ICMP "protocol unreachable". The driver opens an {@code AF_INET}/{@code SOCK_RAW} socket for protocol 146
 * with a drop-everything BPF filter: the kernel then counts the packet as delivered to a raw socket and sends no
 * ICMP ({@code ip_protocol_deliver_rcu}), the filter frees the clone at once. No firewall rule is needed and
 * nothing global changes. A Homa packet for a port without a socket is answered, as a
 * kernel host answers it, with ICMP port unreachable, and the ICMP unreachable messages that quote our own packets
 * reach the protocol as {@link dev.homa.nic.UnreachableNotice}s ({@link IcmpChannel}, one raw ICMP socket, read
 * once every {@value #ICMP_POLL_INTERVAL} empty polls).
 * <p>
 * <b>Permissions</b>: needs CAP_NET_RAW (packet and raw sockets) and, for ARP requests and a large send buffer,
 * CAP_NET_ADMIN. Without CAP_NET_RAW {@link #open} fails with a message naming it.
 * <p>
 * One thread uses a driver (the {@link NicDriver} contract). For several receive threads on one NIC open one
 * driver per thread with the same {@link Context#fanoutGroup}: the kernel spreads flows over their rings. (Two
 * drivers on one interface without a common fanout group each receive a copy of every frame.)
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
    public static final long LINK_BITS_PER_SECOND_FALLBACK = 25_000_000_000L;
    private static final long RING_VIEW_HANDLE = -2;

    private static final Logger LOG = LoggerFactory.getLogger(RawEthernetDriver.class);

    // struct mmsghdr (msghdr 56 + msg_len 4 + pad) and struct iovec.
    private static final int MMSGHDR_LENGTH = 64;
    private static final int MSG_IOV_OFFSET = 16;
    private static final int MSG_IOVLEN_OFFSET = 24;
    private static final int IOVEC_LENGTH = 16;
    // Per message: the frame's own bytes (or staged headers and the rest of them) and the gathered payload.
    private static final int MESSAGE_IOVECS = 2 + Packet.MAX_PAYLOAD_SEGMENTS;
    private static final int MESSAGE_IOVEC_BYTES = MESSAGE_IOVECS * IOVEC_LENGTH;
    // struct virtio_net_hdr in front of every frame once PACKET_VNET_HDR is on: flags, gso_type, hdr_len, gso_size,
    // csum_start, csum_offset (little-endian on the hosts this runs on).
    static final int VNET_HDR_LENGTH = 10;
    private static final int VNET_FLAG_NEEDS_CSUM = 1;
    private static final int VNET_CSUM_START_OFFSET = 6;
    private static final int VNET_CSUM_OFFSET_OFFSET = 8;
    // Homa bytes a staged header carries along: up to and including the checksum, whose seed names the destination.
    private static final int STAGED_HOMA_BYTES = HomaChecksum.CHECKSUM_OFFSET + 2;
    private static final int STAGING_LENGTH = 128;
    private static final int TX_RETRIES = 64;
    private static final int SEND_BUFFER_BYTES = 4 * 1024 * 1024;
    // The group bit: the least significant bit of a MAC's first octet (bit 40 of the low 48).
    private static final long MULTICAST_MAC_BIT = 1L << 40;
    private static final int ICMP_POLL_INTERVAL = 256;
    private static final int ICMP_BURST = 8;

    private final Context context;
    private final Arena arena;
    private final MemorySegment errno;
    private final int fd;
    private final int icmpGuardFd;
    private final IcmpChannel icmp;
    private final int headerLength;
    private final boolean checksumOffload;
    private final int prefixLength;
    private final UnsafeBuffer payloadView = new UnsafeBuffer(0, 0);
    private final NeighbourHold hold = new NeighbourHold();
    private final NeighbourHold.Release holdRelease = new HeldPacketRelease();
    private final Packet[] ownedInBatch;
    private int ownedInBatchCount;
    private int emptyPolls;
    private final int ifIndex;
    private final long localMac;
    private final int localIp;
    private final int broadcastIp;
    private final long localAddress;
    private final int maxPacketLength;
    private final NanoClock clock;
    private final NicQueueEstimator estimator;
    private final long linkBitsPerSecond;
    private final boolean transmitQueue;
    private final PacketPool pool;
    private final NeighbourTable neighbours;
    private final RawEthernetCounters counters = new RawEthernetCounters();
    private final HomaFrameWriter frameWriter;
    private final HomaFrameReader frameReader = new HomaFrameReader();
    private final MemorySegment statistics;
    private final MemorySegment statisticsLength;

    private final ReceiveRing ring;

    private final MemorySegment txMessages;
    private final UnsafeBuffer txMessagesBuffer;
    private final UnsafeBuffer txIovecs;
    private final long txIovecsAddress;
    private final UnsafeBuffer txStaging;
    private final long txStagingAddress;
    private final int[] txFrameLength;
    private final int[] slotBatch;
    private final int txCapacity;
    private int txCount;
    private int batch = 1;
    private int ipId;
    private long nextRefreshNs;
    private long nextMissRefreshNs;
    private int lastDestinationIp;
    private long lastDestinationMac = NeighbourTable.NO_MAC;
    private int lastGeneration = -1;
    private boolean frameIsDeliverable;
    // Lent to sinks that release before they return: the Homa bytes of the current ring frame, in place.
    private final Packet ringView = new Packet(new UnsafeBuffer(0, 0), RING_VIEW_HANDLE);
    private boolean ringViewLent;
    private int framePriority;
    private boolean closed;

    private RawEthernetDriver(final Context context)
    {
        this.context = context;
        this.clock = context.clock;
        this.frameWriter = new HomaFrameWriter(context.vlanId, Ipv4Flyweight.DEFAULT_TTL, true);
        this.headerLength = context.tagged ? TAGGED_HEADER_LENGTH : FrameLayout.UNTAGGED_HEADER_LENGTH;
        this.arena = Arena.ofShared();
        this.errno = LibC.newErrnoState(arena);
        int packetFd = -1;
        int guardFd = -1;
        IcmpChannel icmpChannel = null;
        ReceiveRing receiveRing = null;
        NeighbourTable table = null;
        try
        {
            packetFd = LibC.socket(errno, LibC.AF_PACKET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
            if (packetFd < 0)
            {
                throw new RawEthernetException(socketFailure(LibC.errno(errno), context.interfaceName));
            }
            final MemorySegment ifreq = arena.allocate(LibC.IFREQ_SIZE, 8);
            this.ifIndex = ifreqInt(packetFd, ifreq, LibC.SIOCGIFINDEX, "SIOCGIFINDEX");
            ifreqCall(packetFd, ifreq, LibC.SIOCGIFHWADDR, "SIOCGIFHWADDR");
            this.localMac = EthernetFlyweight.macOf(new UnsafeBuffer(ifreq.address(), LibC.IFREQ_SIZE), 18);
            final int mtu = ifreqInt(packetFd, ifreq, LibC.SIOCGIFMTU, "SIOCGIFMTU");
            this.localIp = 0 != context.localAddress ? HostAddress.ipv4Of(context.localAddress) :
                interfaceIpv4(ifreq, context.interfaceName);
            this.localAddress = HostAddress.ipv4(localIp);
            this.broadcastIp = interfaceBroadcast(ifreq, context.interfaceName);
            final int fromMtu = mtu - FrameLayout.IPV4_HEADER_LENGTH;
            this.maxPacketLength = 0 != context.maxPacketLength ? Math.min(context.maxPacketLength, fromMtu) :
                Math.min(fromMtu, 9000 - FrameLayout.IPV4_HEADER_LENGTH);
            if (maxPacketLength < 64)
            {
                throw new RawEthernetException("MTU " + mtu + " of " + context.interfaceName + " is too small");
            }

            // Before the ring: the kernel refuses the option on a socket that has one.
            this.checksumOffload = ChecksumMode.OFFLOAD == context.checksum &&
                trySetInt(packetFd, LibC.SOL_PACKET, LibC.PACKET_VNET_HDR, 1);
            receiveRing = ReceiveRing.open(arena, errno, packetFd, context.rxRing, context.rxBlockSize,
                context.rxBlockCount, context.rxBlockTimeoutMs, maxPacketLength, counters);
            attachFilter(packetFd, HOMA_FILTER, "Homa receive filter");
            if (context.qdiscBypass)
            {
                setInt(packetFd, LibC.SOL_PACKET, LibC.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
            }
            trySetInt(packetFd, LibC.SOL_PACKET, LibC.PACKET_IGNORE_OUTGOING, 1);
            if (!trySetInt(packetFd, LibC.SOL_SOCKET, LibC.SO_SNDBUFFORCE, SEND_BUFFER_BYTES))
            {
                trySetInt(packetFd, LibC.SOL_SOCKET, LibC.SO_SNDBUF, SEND_BUFFER_BYTES);
            }

            final MemorySegment sll = arena.allocate(20, 8);
            sll.set(JAVA_SHORT, 0, (short)LibC.AF_PACKET);
            sll.set(JAVA_SHORT, 2, (short)LibC.htons(LibC.ETH_P_ALL));
            sll.set(JAVA_INT, 4, ifIndex);
            if (0 != LibC.bind(errno, packetFd, sll, 20))
            {
                throw new RawEthernetException("bind of the packet socket to " + context.interfaceName +
                    " failed: " + LibC.describe(LibC.errno(errno)));
            }
            if (context.fanoutGroup >= 0)
            {
                setInt(packetFd, LibC.SOL_PACKET, LibC.PACKET_FANOUT,
                    (context.fanoutGroup & 0xFFFF) | (context.fanoutMode << 16), "PACKET_FANOUT");
            }

            if (context.suppressIcmp)
            {
                guardFd = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, IPPROTO_HOMA);
                if (guardFd < 0)
                {
                    throw new RawEthernetException("cannot open the raw IPv4 protocol-146 socket that keeps the " +
                        "kernel from answering Homa with ICMP protocol-unreachable: " +
                        LibC.describe(LibC.errno(errno)));
                }
                attachFilter(guardFd, DROP_ALL_FILTER, "ICMP guard filter");
                trySetInt(guardFd, LibC.SOL_SOCKET, LibC.SO_RCVBUF, 0);
            }

            icmpChannel = IcmpChannel.open(arena, errno, localIp, this::attachFilter);
            table = new NeighbourTable(arena, ifIndex);
            table.refresh();
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
            if (null != receiveRing)
            {
                receiveRing.close(errno);
            }
            LibC.close(guardFd);
            LibC.close(packetFd);
            arena.close();
            throw ex;
        }
        this.fd = packetFd;
        this.icmpGuardFd = guardFd;
        this.icmp = icmpChannel;
        this.neighbours = table;
        this.ring = receiveRing;
        final NetDevice device = 0 != context.linkBitsPerSecond ? NetDevice.UNKNOWN :
            NetDevice.named(context.interfaceName);
        this.transmitQueue = 0 != context.linkBitsPerSecond || !device.software();
        this.linkBitsPerSecond = 0 != context.linkBitsPerSecond ? context.linkBitsPerSecond :
            0 != device.speedBitsPerSecond() ? device.speedBitsPerSecond() : LINK_BITS_PER_SECOND_FALLBACK;
        this.estimator = new NicQueueEstimator(clock, linkBitsPerSecond);
        this.pool = new PacketPool(arena, context.poolPackets, maxPacketLength, FRAME_HEADROOM);
        this.slotBatch = new int[context.poolPackets];

        this.prefixLength = (checksumOffload ? VNET_HDR_LENGTH : 0) + headerLength;
        this.txCapacity = context.txBatch;
        this.txMessages = arena.allocate((long)MMSGHDR_LENGTH * txCapacity, 64);
        this.txMessagesBuffer = new UnsafeBuffer(txMessages.address(), (int)txMessages.byteSize());
        final MemorySegment iovecs = arena.allocate((long)MESSAGE_IOVEC_BYTES * txCapacity, 64);
        this.txIovecs = new UnsafeBuffer(iovecs.address(), (int)iovecs.byteSize());
        this.txIovecsAddress = iovecs.address();
        final MemorySegment staging = arena.allocate((long)STAGING_LENGTH * txCapacity, 64);
        this.txStaging = new UnsafeBuffer(staging.address(), (int)staging.byteSize());
        this.txStagingAddress = staging.address();
        this.txFrameLength = new int[txCapacity];
        this.ownedInBatch = new Packet[txCapacity];
        for (int i = 0; i < txCapacity; i++)
        {
            txMessagesBuffer.putLong(i * MMSGHDR_LENGTH + MSG_IOV_OFFSET,
                txIovecsAddress + (long)i * MESSAGE_IOVEC_BYTES, LITTLE_ENDIAN);
        }
        this.statistics = arena.allocate(12, 8);
        this.statisticsLength = arena.allocate(4, 4);

        final long nowNs = clock.nanoTime();
        this.nextRefreshNs = nowNs + context.neighbourRefreshNs;
        LOG.info("raw Ethernet driver on {} (ifindex {}, {} {}): max packet {} bytes, {} ring {}x{} bytes, pool {}",
            context.interfaceName, ifIndex, EthernetFlyweight.macToString(localMac), HostAddress.toString(localAddress),
            maxPacketLength, context.rxRing, ring.blockCount(), context.rxBlockSize, context.poolPackets);
    }

    /**
     * Open the driver on the calling thread's network namespace.
     *
     * @param context configuration; {@link Context#interfaceName} is required.
     * @return the running driver.
     * @throws RawEthernetException if a system call fails; the message names a missing capability.
     */
    public static RawEthernetDriver open(final Context context)
    {
        context.conclude();
        if (null == context.networkNamespace)
        {
            return new RawEthernetDriver(context);
        }
        return openInNamespace(context);
    }

    /**
     * Open the sockets from a short-lived thread that has entered the named network namespace with
     * {@code setns(2)}: only that thread moves, and every socket keeps the namespace it was created in, so the
     * driver then works from any thread while the rest of the JVM stays where it is.
     */
    private static RawEthernetDriver openInNamespace(final Context context)
    {
        final RawEthernetDriver[] result = new RawEthernetDriver[1];
        final RuntimeException[] failure = new RuntimeException[1];
        final Thread opener = new Thread(() ->
        {
            try
            {
                enterNamespace(context.networkNamespace);
                result[0] = new RawEthernetDriver(context);
            }
            catch (final RuntimeException ex)
            {
                failure[0] = ex;
            }
        }, "homa-raw-open-" + context.networkNamespace);
        opener.start();
        try
        {
            opener.join();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new RawEthernetException("interrupted while opening the driver in " + context.networkNamespace);
        }
        if (null != failure[0])
        {
            throw failure[0];
        }
        return result[0];
    }

    private static void enterNamespace(final String name)
    {
        final String path = name.startsWith("/") ? name : "/var/run/netns/" + name;
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment state = LibC.newErrnoState(local);
            final int nsFd = LibC.open(state, local.allocateFrom(path), LibC.O_RDONLY | LibC.O_CLOEXEC);
            if (nsFd < 0)
            {
                throw new RawEthernetException("cannot open network namespace " + path + ": " +
                    LibC.describe(LibC.errno(state)));
            }
            try
            {
                if (0 != LibC.setns(state, nsFd, LibC.CLONE_NEWNET))
                {
                    final int error = LibC.errno(state);
                    throw new RawEthernetException("setns(" + path + ") failed: " + LibC.describe(error) +
                        (LibC.EPERM == error ? " (entering a network namespace needs CAP_SYS_ADMIN)" : ""));
                }
            }
            finally
            {
                LibC.close(nsFd);
            }
        }
    }

    /**
     * Open a driver from a URI: {@code raw://IFNAME?option=value&...}, read by {@link DriverUri} (sizes take k/m/g
     * in powers of 1024, rates in powers of 1000). Options: {@code ip} (local IPv4, default the interface's),
     * {@code rate} (link rate, e.g. {@code 10g}, {@code 25g}, {@code 100m}), {@code pool} (packets),
     * {@code txbatch} (sends per flush), {@code blockSize} (e.g. {@code 256k}), {@code blocks}, {@code blockTimeoutMs},
     * {@code maxPacket}, {@code fanout} (group id), {@code fanoutMode} (hash, lb, cpu, rollover, random, qm),
     * {@code vlan} (VLAN id, default 0 = priority tag only), {@code tag} (false: untagged frames, level as DSCP only),
     * {@code qdiscBypass} (true/false), {@code checksum} (offload, software),
     * {@code icmpGuard} (true/false), {@code neighbourRefreshMs}, {@code ring} (v2, v3), {@code netns} (network
     * namespace name or path to open the sockets in).
     *
     * @param uri such as {@code raw://veth0?rate=10g&fanout=7}.
     * @return the running driver.
     */
    public static RawEthernetDriver fromUri(final String uri)
    {
        return open(Context.fromUri(uri));
    }

    /**
     * @return the concluded configuration.
     */
    public Context context()
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
     * @return counters, with {@link RawEthernetCounters#ringDrops()} refreshed from the kernel.
     */
    public RawEthernetCounters counters()
    {
        statisticsLength.set(JAVA_INT, 0, 12);
        if (!closed && 0 == LibC.getsockopt(errno, fd, LibC.SOL_PACKET, LibC.PACKET_STATISTICS, statistics,
            statisticsLength))
        {
            // Reading resets the kernel's counts, so accumulate.
            counters.ringDrops += statistics.get(JAVA_INT, 4) & 0xFFFF_FFFFL;
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
        return ifIndex;
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
        final int ip = HostAddress.ipv4Of(destination);
        final long deadline = System.nanoTime() + timeoutNs;
        neighbours.refresh();
        if (NeighbourTable.NO_MAC != neighbours.lookup(ip))
        {
            return true;
        }
        final int error = neighbours.requestResolution(ip);
        if (0 != error)
        {
            throw new RawEthernetException("asking the kernel to resolve " + HostAddress.toString(destination) +
                " failed: " + LibC.describe(error) + (LibC.EPERM == error ? " (needs CAP_NET_ADMIN)" : ""));
        }
        while (System.nanoTime() - deadline < 0)
        {
            neighbours.refresh();
            if (NeighbourTable.NO_MAC != neighbours.lookup(ip))
            {
                return true;
            }
            LockSupport.parkNanos(200_000);
        }
        return false;
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
     * (see {@link #isMartianSource}) and not this host.
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
        if (isMartianSource(HostAddress.ipv4Of(destination), localIp, broadcastIp))
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
        if (packet == ringView)
        {
            if (!ringViewLent)
            {
                throw new IllegalStateException("ring frame view released twice");
            }
            ringViewLent = false;
            return;
        }
        pool.release(packet);
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
     * True unless {@link Context#checksum} asks for software or the kernel refused {@code PACKET_VNET_HDR}: each frame
     * then carries a {@code virtio_net_hdr} asking for a partial checksum from the Homa header on, and the driver
     * stores the pseudo-header seed ({@link HomaChecksum#seed}).
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
        if (txCount == txCapacity)
        {
            return false;
        }
        final int destinationIp = HostAddress.ipv4Of(destination);
        final long destinationMac;
        if (destinationIp == lastDestinationIp && neighbours.generation() == lastGeneration &&
            NeighbourTable.NO_MAC != lastDestinationMac)
        {
            // Consecutive packets mostly go to the same host: skip the hash lookup.
            destinationMac = lastDestinationMac;
        }
        else
        {
            destinationMac = neighbours.lookup(destinationIp);
            lastDestinationIp = destinationIp;
            lastDestinationMac = destinationMac;
            lastGeneration = neighbours.generation();
        }
        if (NeighbourTable.NO_MAC == destinationMac)
        {
            onUnresolved(destinationIp);
            holdUnresolved(packet, destinationIp, priority);
            return true;
        }
        queue(packet, slot, destinationIp, destinationMac, priority);
        return true;
    }

    /**
     * Queue one frame of a pool packet for the next flush: the prefix (virtio header where the checksum is
     * offloaded, then Ethernet and IPv4) in the slot's headroom, or in a staging buffer if the packet is already in
     * this batch, and one iovec per contiguous piece after it.
     */
    private void queue(
        final Packet packet, final int slot, final int destinationIp, final long destinationMac, final int priority)
    {
        final int entry = txCount++;
        final int ownLength = packet.length();
        final int homaLength = packet.wireLength();
        final int homaOffset = pool.packetOffset(slot);
        final long homaAddress = pool.regionAddress() + homaOffset;
        final int firstIovec = entry * MESSAGE_IOVEC_BYTES;
        int iov = firstIovec;
        if (batch != slotBatch[slot])
        {
            // Usual case: prefix in the slot's headroom, contiguous with the packet's own bytes.
            slotBatch[slot] = batch;
            final int prefixOffset = homaOffset - prefixLength;
            writePrefix(pool.regionBuffer(), prefixOffset, destinationMac, destinationIp, homaLength, priority);
            if (checksumOffload)
            {
                writeSeed(pool.regionBuffer(), homaOffset, homaLength, destinationIp);
            }
            iov = putIovec(iov, pool.regionAddress() + prefixOffset, prefixLength + ownLength);
        }
        else
        {
            // Same packet already queued in this batch (to another host): its headroom is taken, and the checksum
            // seed names the other destination, so the first Homa bytes travel with the staged prefix.
            counters.txStagedHeaders++;
            final int stagingOffset = entry * STAGING_LENGTH;
            writePrefix(txStaging, stagingOffset, destinationMac, destinationIp, homaLength, priority);
            final int staged = checksumOffload ? Math.min(ownLength, STAGED_HOMA_BYTES) : 0;
            if (0 != staged)
            {
                pool.regionBuffer().getBytes(homaOffset, txStaging, stagingOffset + prefixLength, staged);
                writeSeed(txStaging, stagingOffset + prefixLength, homaLength, destinationIp);
            }
            iov = putIovec(iov, txStagingAddress + stagingOffset, prefixLength + staged);
            if (ownLength > staged)
            {
                iov = putIovec(iov, homaAddress + staged, ownLength - staged);
            }
        }
        for (int i = 0, segments = packet.payloadSegments(); i < segments; i++)
        {
            iov = putIovec(iov, packet.payloadAddress(i), packet.payloadLength(i));
        }
        txMessagesBuffer.putLong(entry * MMSGHDR_LENGTH + MSG_IOVLEN_OFFSET, (iov - firstIovec) / IOVEC_LENGTH,
            LITTLE_ENDIAN);
        txFrameLength[entry] = headerLength + homaLength;
    }

    private int putIovec(final int iov, final long address, final int length)
    {
        txIovecs.putLong(iov, address, LITTLE_ENDIAN);
        txIovecs.putLong(iov + 8, length, LITTLE_ENDIAN);
        return iov + IOVEC_LENGTH;
    }

    /**
     * The virtio header (where the checksum is offloaded) and the frame's Ethernet and IPv4 headers.
     */
    private void writePrefix(
        final UnsafeBuffer frame, final int offset, final long destinationMac, final int destinationIp,
        final int homaLength, final int priority)
    {
        int headerOffset = offset;
        if (checksumOffload)
        {
            // Checksum from the Homa header to the end of the frame, stored at the common header's checksum field.
            frame.setMemory(offset, VNET_HDR_LENGTH, (byte)0);
            frame.putByte(offset, (byte)VNET_FLAG_NEEDS_CSUM);
            frame.putShort(offset + VNET_CSUM_START_OFFSET, (short)headerLength, LITTLE_ENDIAN);
            frame.putShort(offset + VNET_CSUM_OFFSET_OFFSET, (short)HomaChecksum.CHECKSUM_OFFSET, LITTLE_ENDIAN);
            headerOffset += VNET_HDR_LENGTH;
        }
        writeHeaders(frame, headerOffset, destinationMac, destinationIp, homaLength, priority);
    }

    private void writeSeed(final UnsafeBuffer buffer, final int homaOffset, final int homaLength, final int dstIp)
    {
        buffer.putShort(homaOffset + HomaChecksum.CHECKSUM_OFFSET,
            (short)HomaChecksum.seed(homaLength, localIp, dstIp), BIG_ENDIAN);
    }

    private void writeHeaders(
        final UnsafeBuffer frame, final int offset, final long destinationMac, final int destinationIp,
        final int homaLength, final int priority)
    {
        if (context.tagged)
        {
            frameWriter.writeHeaders(frame, offset, destinationMac, localMac, localIp, destinationIp, homaLength,
                priority, ipId++);
        }
        else
        {
            frameWriter.writeUntaggedHeaders(frame, offset, destinationMac, localMac, localIp, destinationIp,
                homaLength, priority, ipId++);
        }
    }

    /**
     * A packet for a host not resolved yet: keep a copy until the kernel knows its MAC, if there is room.
     */
    private void holdUnresolved(final Packet packet, final int destinationIp, final int priority)
    {
        final Packet copy = hold.hasRoom() ? pool.acquire() : null;
        if (null == copy)
        {
            counters.txUnresolved++;
            return;
        }
        // The copy outlives the caller's payload: its gathered pieces are flattened into it.
        int length = packet.length();
        packet.buffer().getBytes(0, copy.buffer(), 0, length);
        for (int i = 0, segments = packet.payloadSegments(); i < segments; i++)
        {
            payloadView.wrap(packet.payloadAddress(i), packet.payloadLength(i));
            copy.buffer().putBytes(length, payloadView, 0, packet.payloadLength(i));
            length += packet.payloadLength(i);
        }
        copy.length(length);
        counters.txHeld++;
        hold.hold(copy, destinationIp, priority, clock.nanoTime());
    }

    /**
     * Look the hosts of held packets up again and queue those resolved now.
     *
     * @return packets queued.
     */
    private int releaseHeld(final long nowNs)
    {
        neighbours.refresh();
        final int room = txCapacity - txCount;
        if (room < hold.count())
        {
            // Never more than the batch holds: the rest wait for the next look-up.
            return 0;
        }
        return hold.release(nowNs, neighbours, holdRelease);
    }

    /**
     * Sends a held packet once its host is resolved (the pool slot goes back after the flush) or drops it.
     */
    private final class HeldPacketRelease implements NeighbourHold.Release
    {
        @Override
        public void send(final Packet packet, final int destinationIp, final int priority, final long mac)
        {
            queue(packet, pool.slotOf(packet), destinationIp, mac, priority);
            ownedInBatch[ownedInBatchCount++] = packet;
        }

        @Override
        public void drop(final Packet packet)
        {
            counters.txUnresolved++;
            pool.release(packet);
        }
    }

    @Override
    public int flush()
    {
        checkOpen();
        if (0 != hold.count())
        {
            final long nowNs = clock.nanoTime();
            if (hold.due(nowNs))
            {
                releaseHeld(nowNs);
            }
        }
        final int count = txCount;
        if (0 == count)
        {
            refreshNeighboursIfDue(clock.nanoTime());
            return 0;
        }
        int index = 0;
        int sent = 0;
        int retries = 0;
        long wireBytes = 0;
        while (index < count)
        {
            final int result = transmit(index, count - index);
            if (result > 0)
            {
                for (int i = index, end = index + result; i < end; i++)
                {
                    final int frameLength = txFrameLength[i];
                    counters.txBytes += frameLength;
                    wireBytes += frameLength - headerLength + FrameLayout.WIRE_OVERHEAD_BYTES;
                }
                counters.txPackets += result;
                sent += result;
                index += result;
                continue;
            }
            final int error = LibC.errno(errno);
            if (LibC.EAGAIN == error || LibC.EINTR == error)
            {
                // Send buffer full (non-blocking socket): nothing was taken, the device drains it shortly.
                if (++retries > TX_RETRIES)
                {
                    counters.txDropped += count - index;
                    break;
                }
                Thread.onSpinWait();
            }
            else if (LibC.ENOBUFS == error)
            {
                // The device (or the peer's backlog, for veth) dropped this frame: like loss on the wire.
                counters.txDropped++;
                index++;
            }
            else
            {
                // This message is refused for good (e.g. EMSGSIZE, ENETDOWN): drop it, send the rest.
                counters.txErrors++;
                counters.lastTxErrno = error;
                index++;
            }
        }
        txCount = 0;
        batch++;
        for (int i = 0; i < ownedInBatchCount; i++)
        {
            pool.release(ownedInBatch[i]);
            ownedInBatch[i] = null;
        }
        ownedInBatchCount = 0;
        // The clock is read once, after the frames left: nothing stands between the caller and send(2).
        final long nowNs = clock.nanoTime();
        estimator.onTransmit(wireBytes, nowNs);
        refreshNeighboursIfDue(nowNs);
        return sent;
    }

    private void refreshNeighboursIfDue(final long nowNs)
    {
        if (nowNs - nextRefreshNs >= 0)
        {
            nextRefreshNs = nowNs + context.neighbourRefreshNs;
            neighbours.refresh();
        }
    }

    /**
     * One system call for the queued messages from {@code index}: send(2) when a single contiguous frame is left
     * (the latency-bound case: no message vector to copy in), sendmmsg otherwise. Both first go through a downcall
     * with primitive arguments only; a failure, which means nothing was taken, is repeated through the errno
     * capturing variant to learn why (and may simply succeed then).
     *
     * @return messages taken, or -1 with the reason in {@link #errno}.
     */
    private int transmit(final int index, final int remaining)
    {
        counters.txSyscalls++;
        final int entry = index * MMSGHDR_LENGTH;
        if (1 == remaining && 1 == txMessagesBuffer.getLong(entry + MSG_IOVLEN_OFFSET, LITTLE_ENDIAN))
        {
            final int iov = index * MESSAGE_IOVEC_BYTES;
            final long address = txIovecs.getLong(iov, LITTLE_ENDIAN);
            final long length = txIovecs.getLong(iov + 8, LITTLE_ENDIAN);
            if (LibC.sendFrameNoErrno(fd, address, length, LibC.MSG_DONTWAIT) >= 0)
            {
                return 1;
            }
            counters.txSyscalls++;
            return LibC.sendFrame(errno, fd, address, length, LibC.MSG_DONTWAIT) >= 0 ? 1 : -1;
        }
        final long messages = txMessages.address() + entry;
        final int result = LibC.sendmmsgNoErrno(fd, messages, remaining, LibC.MSG_DONTWAIT);
        if (result >= 0)
        {
            return result;
        }
        counters.txSyscalls++;
        return LibC.sendmmsg(errno, fd, messages, remaining, LibC.MSG_DONTWAIT);
    }

    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        checkOpen();
        if (0 != hold.count())
        {
            final long nowNs = clock.nanoTime();
            if (hold.due(nowNs) && releaseHeld(nowNs) > 0)
            {
                flush();
            }
        }
        final ReceiveRing ring = this.ring;
        final boolean lend = sink.releasesBeforeReturn();
        // Frames found by this poll carry one receive time: read once, and only if there is a frame and the sink
        // wants it.
        boolean stampPending = sink.needsTimestamps();
        long nowNs = 0;
        int delivered = 0;
        while (delivered < limit)
        {
            final int frame = ring.nextFrame();
            if (frame < 0)
            {
                if (0 == delivered && ++emptyPolls >= ICMP_POLL_INTERVAL)
                {
                    // ICMP errors are rare and not urgent to the microsecond: one look per so many idle polls.
                    emptyPolls = 0;
                    delivered += pollIcmp(sink);
                }
                break;
            }
            if (stampPending)
            {
                // Read the clock only when there is something to stamp: an empty poll is two memory reads.
                stampPending = false;
                nowNs = clock.nanoTime();
            }
            if (lend)
            {
                delivered += lendFrame(sink, frame, nowNs);
                continue;
            }
            final Packet packet = accept(frame, nowNs);
            if (null == packet && frameIsDeliverable)
            {
                // Pool empty: leave the frame in the ring until the sink releases packets.
                break;
            }
            ring.consume();
            if (null != packet)
            {
                delivered++;
                sink.onPacket(packet);
            }
        }
        return delivered;
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        hold.clear(holdRelease);
        icmp.close();
        neighbours.close();
        ring.close(errno);
        LibC.close(icmpGuardFd);
        LibC.close(fd);
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

    /**
     * Validate one ring frame; on success copy its Homa bytes into a pool packet.
     *
     * @return the packet, or null if dropped (counted) or if the pool is empty ({@link #frameIsDeliverable} set).
     */
    private Packet accept(final int frame, final long nowNs)
    {
        frameIsDeliverable = false;
        if (!validate(frame))
        {
            return null;
        }
        final Packet packet = pool.acquire();
        if (null == packet)
        {
            frameIsDeliverable = true;
            return null;
        }
        final int homaLength = frameReader.homaLength();
        ring.buffer().getBytes(frameReader.homaOffset(), packet.buffer(), 0, homaLength);
        return stamp(packet, homaLength, nowNs);
    }

    /**
     * Deliver one ring frame to a sink that releases before it returns: in place, without a pool packet or a
     * copy, and consumed only once the sink is done with it.
     *
     * @return 1 if delivered, 0 if dropped (counted).
     */
    private int lendFrame(final PacketSink sink, final int frame, final long nowNs)
    {
        try
        {
            if (!validate(frame))
            {
                return 0;
            }
            final int homaLength = frameReader.homaLength();
            final Packet packet = ringView;
            packet.buffer().wrap(ring.buffer().addressOffset() + frameReader.homaOffset(), homaLength);
            stamp(packet, homaLength, nowNs);
            ringViewLent = true;
            sink.onPacket(packet);
            if (ringViewLent)
            {
                throw new IllegalStateException("a sink that releases before it returns kept a packet");
            }
            return 1;
        }
        finally
        {
            // The frame goes back to the kernel even if the sink failed: redelivering it would fail again.
            ringViewLent = false;
            ring.consume();
        }
    }

    private Packet stamp(final Packet packet, final int homaLength, final long nowNs)
    {
        packet.length(homaLength)
            .source(HostAddress.ipv4(frameReader.sourceIpv4()))
            .priority(framePriority)
            .timestampNs(nowNs);
        counters.rxPackets++;
        counters.rxBytes += homaLength;
        return packet;
    }

    /**
     * Validate one ring frame (counting a drop), leaving its addresses in the frame reader and its level in
     * {@link #framePriority}.
     *
     * @return true if it is a Homa packet for us.
     */
    private boolean validate(final int frame)
    {
        final ReceiveRing ring = this.ring;
        final UnsafeBuffer buffer = ring.buffer();
        if (LibC.PACKET_OUTGOING == ring.packetType(frame))
        {
            counters.rxOutgoing++;
            return false;
        }
        final int snapLength = ring.snapLength(frame);
        if (snapLength != ring.wireLength(frame) ||
            snapLength < FrameLayout.ETHERNET_HEADER_LENGTH)
        {
            counters.rxMalformed++;
            return false;
        }
        final int mac = ring.macOffset(frame);
        if (localMac != EthernetFlyweight.macOf(buffer, mac))
        {
            counters.rxNotForUs++;
            return false;
        }
        final FrameRejectReason reason = frameReader.read(buffer, mac, snapLength);
        if (FrameRejectReason.NONE != reason)
        {
            switch (reason)
            {
                case NOT_IPV4 -> counters.rxWrongEtherType++;
                case NOT_HOMA -> counters.rxWrongProtocol++;
                case BAD_CHECKSUM -> counters.rxBadChecksum++;
                case STACKED_TAGS -> counters.rxStackedTags++;
                default -> counters.rxMalformed++;
            }
            return false;
        }
        if (localIp != frameReader.destinationIpv4())
        {
            counters.rxWrongAddress++;
            return false;
        }
        if (isMartianSource(frameReader.sourceIpv4(), localIp, broadcastIp) ||
            0 != (frameReader.sourceMac() & MULTICAST_MAC_BIT))
        {
            counters.rxMartianSource++;
            return false;
        }
        final int homaLength = frameReader.homaLength();
        if (homaLength > maxPacketLength)
        {
            counters.rxTooLong++;
            return false;
        }
        final int priority;
        final int vlanId;
        final int strippedTci = ring.strippedTci(frame);
        if (strippedTci >= 0 && frameReader.tagged())
        {
            // A second tag inside the one the kernel stripped (802.1ad / QinQ): not a frame of ours.
            counters.rxStackedTags++;
            return false;
        }
        if (strippedTci >= 0)
        {
            // The usual case: the kernel moved the tag into the ring header before the tap saw the frame.
            priority = HomaFrameReader.pcpToPriority(strippedTci >>> 13);
            vlanId = strippedTci & 0xFFF;
        }
        else if (frameReader.tagged())
        {
            priority = frameReader.priority();
            vlanId = frameReader.vlanId();
        }
        else
        {
            // No tag anywhere (a hop stripped it): the writer's DSCP class selector still says the level.
            priority = frameReader.priority();
            vlanId = 0;
        }
        if (vlanId != context.vlanId)
        {
            // Another VLAN on a trunk port: not ours even if the addresses match.
            counters.rxNotForUs++;
            return false;
        }
        if (strippedTci < 0 && !frameReader.tagged())
        {
            counters.rxUntagged++;
        }
        framePriority = priority;
        return true;
    }

    private void checkOpen()
    {
        if (closed)
        {
            // The pool and the ring are unmapped: touching them would crash the JVM, so fail loudly instead.
            throw new IllegalStateException("raw Ethernet driver on " + context.interfaceName + " is closed");
        }
    }

    private void onUnresolved(final int destinationIp)
    {
        final long nowNs = clock.nanoTime();
        if (nowNs - nextMissRefreshNs >= 0)
        {
            // Bounded: at most one kernel round trip per retry interval however many packets miss.
            nextMissRefreshNs = nowNs + context.neighbourRetryNs;
            final int error = neighbours.requestResolution(destinationIp);
            if (0 != error)
            {
                // E.g. EPERM without CAP_NET_ADMIN: the kernel will not ARP for us; visible, not thrown per packet.
                counters.resolutionErrors++;
                counters.lastResolutionErrno = error;
            }
            neighbours.refresh();
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

    private int interfaceIpv4(final MemorySegment ifreq, final String interfaceName)
    {
        final int udp = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (udp < 0)
        {
            throw new RawEthernetException("socket(AF_INET) failed: " + LibC.describe(LibC.errno(errno)));
        }
        try
        {
            putName(ifreq, interfaceName);
            if (0 != LibC.ioctl(errno, udp, LibC.SIOCGIFADDR, ifreq))
            {
                throw new RawEthernetException(interfaceName + " has no IPv4 address (SIOCGIFADDR: " +
                    LibC.describe(LibC.errno(errno)) + "); assign one or pass ?ip=");
            }
            return new UnsafeBuffer(ifreq.address(), LibC.IFREQ_SIZE).getInt(20, BIG_ENDIAN);
        }
        finally
        {
            LibC.close(udp);
        }
    }

    /**
     * @return the interface's IPv4 broadcast address, or 0 if it has none or the kernel does not say.
     */
    private int interfaceBroadcast(final MemorySegment ifreq, final String interfaceName)
    {
        final int udp = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (udp < 0)
        {
            return 0;
        }
        try
        {
            putName(ifreq, interfaceName);
            return 0 != LibC.ioctl(errno, udp, LibC.SIOCGIFBRDADDR, ifreq) ? 0 :
                new UnsafeBuffer(ifreq.address(), LibC.IFREQ_SIZE).getInt(20, BIG_ENDIAN);
        }
        finally
        {
            LibC.close(udp);
        }
    }

    /**
     * Sources the kernel's IP layer would drop as martians before any protocol saw them (and which an answer would
     * turn into a broadcast, a multicast or a packet to ourselves): "this network" 0.0.0.0/8, loopback 127.0.0.0/8
     * on a device that is not itself on it, multicast 224.0.0.0/4, reserved 240.0.0.0/4 with the limited broadcast
     * 255.255.255.255, the interface's directed broadcast, and this host's own address.
     *
     * @param source  source IPv4 address, network order.
     * @param localIp this host's address.
     * @param broadcastIp the interface's directed broadcast address, 0 if unknown.
     * @return true if a frame from that source must be dropped.
     */
    static boolean isMartianSource(final int source, final int localIp, final int broadcastIp)
    {
        final int firstOctet = source >>> 24;
        return 0 == firstOctet ||
            (127 == firstOctet && 127 != localIp >>> 24) ||
            (source >>> 28) >= 0xE ||
            source == localIp ||
            (0 != broadcastIp && source == broadcastIp);
    }

    private int ifreqInt(final int socket, final MemorySegment ifreq, final long request, final String name)
    {
        ifreqCall(socket, ifreq, request, name);
        return ifreq.get(JAVA_INT, 16);
    }

    private void ifreqCall(final int socket, final MemorySegment ifreq, final long request, final String name)
    {
        putName(ifreq, context.interfaceName);
        if (0 != LibC.ioctl(errno, socket, request, ifreq))
        {
            final int error = LibC.errno(errno);
            if (LibC.ENODEV == error)
            {
                throw new RawEthernetException("no network interface named " + context.interfaceName +
                    " in this network namespace (" + name + ": " + LibC.describe(error) + ")");
            }
            throw new RawEthernetException(name + " on " + context.interfaceName + " failed: " +
                LibC.describe(error));
        }
    }

    private static void putName(final MemorySegment ifreq, final String interfaceName)
    {
        ifreq.fill((byte)0);
        final byte[] name = interfaceName.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(name, 0, ifreq, JAVA_BYTE, 0, name.length);
    }

    private void setInt(final int socket, final int level, final int option, final int value, final String name)
    {
        if (!trySetInt(socket, level, option, value))
        {
            throw new RawEthernetException("setsockopt(" + name + ", " + value + ") failed: " +
                LibC.describe(LibC.errno(errno)));
        }
    }

    private boolean trySetInt(final int socket, final int level, final int option, final int value)
    {
        final MemorySegment intValue = arena.allocate(4, 4);
        intValue.set(JAVA_INT, 0, value);
        return 0 == LibC.setsockopt(errno, socket, level, option, intValue, 4);
    }

    private void attachFilter(final int socket, final int[][] program, final String name)
    {
        final MemorySegment instructions = arena.allocate(8L * program.length, 8);
        for (int i = 0; i < program.length; i++)
        {
            final int[] insn = program[i];
            instructions.set(JAVA_SHORT, i * 8L, (short)insn[0]);
            instructions.set(JAVA_BYTE, i * 8L + 2, (byte)insn[1]);
            instructions.set(JAVA_BYTE, i * 8L + 3, (byte)insn[2]);
            instructions.set(JAVA_INT, i * 8L + 4, insn[3]);
        }
        final MemorySegment fprog = arena.allocate(16, 8);
        fprog.set(JAVA_SHORT, 0, (short)program.length);
        fprog.set(ADDRESS, 8, instructions);
        if (0 != LibC.setsockopt(errno, socket, LibC.SOL_SOCKET, LibC.SO_ATTACH_FILTER, fprog, 16))
        {
            throw new RawEthernetException("attaching the " + name + " (SO_ATTACH_FILTER) failed: " +
                LibC.describe(LibC.errno(errno)));
        }
    }

    // Classic BPF, {code, jt, jf, k}. Offsets are from the MAC header; the kernel has usually moved the 802.1Q tag
    // into metadata already, but a tag left inline is accepted too.
    private static final int BPF_LDH_ABS = 0x28;
    private static final int BPF_LDB_ABS = 0x30;
    private static final int BPF_JEQ_K = 0x15;
    private static final int BPF_RET_K = 0x06;
    private static final int[][] HOMA_FILTER =
    {
        { BPF_LDH_ABS, 0, 0, 12 },                  // 0: A = EtherType
        { BPF_JEQ_K, 0, 2, ETHER_TYPE_IPV4 },       // 1: IPv4 ? 2 : 4
        { BPF_LDB_ABS, 0, 0, 14 + 9 },              // 2: A = IP protocol
        { BPF_JEQ_K, 5, 6, IPPROTO_HOMA },          // 3: Homa ? accept : drop
        { BPF_JEQ_K, 0, 5, ETHER_TYPE_VLAN },       // 4: inline tag ? 5 : drop
        { BPF_LDH_ABS, 0, 0, 16 },                  // 5: A = inner EtherType
        { BPF_JEQ_K, 0, 3, ETHER_TYPE_IPV4 },       // 6: IPv4 ? 7 : drop
        { BPF_LDB_ABS, 0, 0, 18 + 9 },              // 7: A = IP protocol
        { BPF_JEQ_K, 0, 1, IPPROTO_HOMA },          // 8: Homa ? accept : drop
        { BPF_RET_K, 0, 0, 0x4_0000 },              // 9: accept whole frame
        { BPF_RET_K, 0, 0, 0 },                     // 10: drop
    };
    private static final int[][] DROP_ALL_FILTER = { { BPF_RET_K, 0, 0, 0 } };

    /**
     * Configuration of a {@link RawEthernetDriver}: fluent setters, defaults that suit a 10 Gb/s NIC, validated
     * once by {@link #conclude()}.
     */
    public static final class Context
    {
        String interfaceName;
        long localAddress;
        long linkBitsPerSecond;
        int poolPackets = 2048;
        int txBatch = 256;
        int rxBlockSize = 256 * 1024;
        int rxBlockCount;
        int rxBlockTimeoutMs = 1;
        int maxPacketLength;
        int fanoutGroup = -1;
        int fanoutMode;
        String networkNamespace;
        RxRing rxRing = RxRing.V2;
        int vlanId;
        boolean tagged = true;
        boolean qdiscBypass = true;
        ChecksumMode checksum = ChecksumMode.OFFLOAD;
        boolean suppressIcmp = true;
        long neighbourRefreshNs = 1_000_000_000L;
        long neighbourRetryNs = 10_000_000L;
        NanoClock clock = SystemNanoClock.INSTANCE;

        /**
         * Parse {@code raw://IFNAME?options}; see {@link RawEthernetDriver#fromUri(String)}.
         *
         * @param text the URI.
         * @return a context.
         */
        public static Context fromUri(final String text)
        {
            return fromUri(DriverUri.parse(text));
        }

        /**
         * @param uri a parsed {@code raw://IFNAME?options} URI; see {@link RawEthernetDriver#fromUri(String)}.
         * @return a new context, not yet concluded.
         * @throws IllegalArgumentException if the URI names another scheme, no interface or an unknown option.
         */
        public static Context fromUri(final DriverUri uri)
        {
            uri.requireScheme("raw");
            final String name = null != uri.authority() ? uri.authority() : uri.host();
            if (null == name)
            {
                throw new IllegalArgumentException("expected raw://IFNAME?options, got " + uri);
            }
            final Context c = new Context().interfaceName(name);
            final String ip = uri.string("ip", null);
            if (null != ip)
            {
                c.localAddress(HostAddress.parseIpv4(ip));
            }
            c.linkBitsPerSecond(uri.rate("rate", c.linkBitsPerSecond))
                .poolPackets(uri.size("pool", c.poolPackets))
                .txBatch(uri.size("txbatch", c.txBatch))
                .networkNamespace(uri.string("netns", c.networkNamespace))
                .rxRing(uri.choice("ring", RxRing.class, c.rxRing))
                .rxBlockSize(uri.size("blockSize", c.rxBlockSize))
                .rxBlockCount(uri.size("blocks", c.rxBlockCount))
                .rxBlockTimeoutMs(uri.size("blockTimeoutMs", c.rxBlockTimeoutMs))
                .maxPacketLength(uri.size("maxPacket", c.maxPacketLength))
                .fanoutGroup(uri.size("fanout", c.fanoutGroup))
                .vlanId(uri.size("vlan", c.vlanId))
                .tagged(uri.bool("tag", c.tagged))
                .qdiscBypass(uri.bool("qdiscBypass", c.qdiscBypass))
                .checksum(uri.choice("checksum", ChecksumMode.class, c.checksum))
                .suppressIcmp(uri.bool("icmpGuard", c.suppressIcmp));
            if (uri.has("fanoutMode"))
            {
                c.fanoutMode(uri.choice("fanoutMode", FanoutMode.class, FanoutMode.HASH));
            }
            if (uri.has("neighbourRefreshMs"))
            {
                c.neighbourRefreshNs(uri.size("neighbourRefreshMs", 0) * 1_000_000L);
            }
            uri.requireAllRead();
            return c;
        }

        /**
         * @param name network interface, e.g. {@code eth0}; required.
         * @return this.
         */
        public Context interfaceName(final String name)
        {
            this.interfaceName = name;
            return this;
        }

        /**
         * @return the interface name.
         */
        public String interfaceName()
        {
            return interfaceName;
        }

        /**
         * @param address this host's IPv4 {@link HostAddress}; 0 (default) takes the interface's address.
         * @return this.
         */
        public Context localAddress(final long address)
        {
            this.localAddress = address;
            return this;
        }

        /**
         * @param bitsPerSecond link rate in bits per second. Set, the pacer holds the transmit queue to it. 0
         *                      (default) takes it from the interface: a NIC's reported speed (25 Gb/s if it reports
         *                      none), paced; a software device such as veth has no wire and no transmit queue, so
         *                      nothing is paced and its nominal speed only sizes the protocol's windows.
         * @return this.
         */
        public Context linkBitsPerSecond(final long bitsPerSecond)
        {
            this.linkBitsPerSecond = bitsPerSecond;
            return this;
        }

        /**
         * @return link rate in bits per second, 0 for the interface's.
         */
        public long linkBitsPerSecond()
        {
            return linkBitsPerSecond;
        }

        /**
         * @param packets pool slots shared by send and receive (default 2048).
         * @return this.
         */
        public Context poolPackets(final int packets)
        {
            this.poolPackets = packets;
            return this;
        }

        /**
         * @param packets most sends queued between flushes, one sendmmsg (default 256, at most 1024).
         * @return this.
         */
        public Context txBatch(final int packets)
        {
            this.txBatch = packets;
            return this;
        }

        /**
         * @param name network namespace to open the sockets in: a name under /var/run/netns (as made by
         *             {@code ip netns add}) or an absolute path such as /proc/PID/ns/net; null (default) = the
         *             calling thread's.
         * @return this.
         */
        public Context networkNamespace(final String name)
        {
            this.networkNamespace = name;
            return this;
        }

        /**
         * @param ring receive ring layout: {@link RxRing#V2} (default, lowest latency) or {@link RxRing#V3}.
         * @return this.
         */
        public Context rxRing(final RxRing ring)
        {
            this.rxRing = ring;
            return this;
        }

        /**
         * @param bytes size of one receive-ring block, a multiple of the page size (default 256 KiB).
         * @return this.
         */
        public Context rxBlockSize(final int bytes)
        {
            this.rxBlockSize = bytes;
            return this;
        }

        /**
         * @param blocks receive-ring blocks; 0 (default) for as many as hold {@value ReceiveRing#DEFAULT_RING_FRAMES}
         *               frames (4 blocks of 256 KiB at a 1500-byte MTU). The kernel writes frames round-robin through
         *               the whole ring, so every frame of a ring larger than the caches lands on a cold line and page,
         *               which lengthens every round trip.
         * @return this.
         */
        public Context rxBlockCount(final int blocks)
        {
            this.rxBlockCount = blocks;
            return this;
        }

        /**
         * @param ms how long the kernel keeps a partly filled block before handing it over (default 1, the least).
         * @return this.
         */
        public Context rxBlockTimeoutMs(final int ms)
        {
            this.rxBlockTimeoutMs = ms;
            return this;
        }

        /**
         * @param bytes cap on the Homa packet length; 0 (default) uses the interface MTU less the IPv4 header, at
         *              most 8980 (a 9000-byte jumbo frame) so that an interface such as lo does not size 64 KiB slots.
         * @return this.
         */
        public Context maxPacketLength(final int bytes)
        {
            this.maxPacketLength = bytes;
            return this;
        }

        /**
         * @param group PACKET_FANOUT group id 0..65535 shared by the drivers of several receive threads; -1 = none.
         * @return this.
         */
        public Context fanoutGroup(final int group)
        {
            this.fanoutGroup = group;
            return this;
        }

        /**
         * @param mode how the kernel spreads frames over the group's sockets.
         * @return this.
         */
        public Context fanoutMode(final FanoutMode mode)
        {
            this.fanoutMode = mode.value;
            return this;
        }

        /**
         * @param id VLAN id in the tag, 0 (default) = priority tag only, frame stays on the native VLAN.
         * @return this.
         */
        public Context vlanId(final int id)
        {
            this.vlanId = id;
            return this;
        }

        /**
         * @param tag put an 802.1Q tag on every frame with the level as PCP (default true); false sends untagged
         *            IPv4 with the level only as DSCP, as a kernel host does, for networks that strip or refuse tags.
         * @return this.
         */
        public Context tagged(final boolean tag)
        {
            this.tagged = tag;
            return this;
        }

        /**
         * @param bypass send straight to the device, skipping the qdisc (default true). Captures on the sending
         *               interface do not see bypassed frames; capture on the receiver.
         * @return this.
         */
        public Context qdiscBypass(final boolean bypass)
        {
            this.qdiscBypass = bypass;
            return this;
        }

        /**
         * @param mode who completes the Homa checksum (default {@link ChecksumMode#OFFLOAD}).
         * @return this.
         */
        public Context checksum(final ChecksumMode mode)
        {
            this.checksum = Objects.requireNonNull(mode, "checksum mode");
            return this;
        }

        /**
         * @param suppress open the protocol-146 raw socket that keeps the kernel from sending ICMP
         *                 protocol-unreachable for every Homa packet (default true).
         * @return this.
         */
        public Context suppressIcmp(final boolean suppress)
        {
            this.suppressIcmp = suppress;
            return this;
        }

        /**
         * @param ns period of neighbour-table reloads (default 1 s).
         * @return this.
         */
        public Context neighbourRefreshNs(final long ns)
        {
            this.neighbourRefreshNs = ns;
            return this;
        }

        /**
         * @param clock clock for timestamps, the queue estimate and refresh deadlines.
         * @return this.
         */
        public Context clock(final NanoClock clock)
        {
            this.clock = clock;
            return this;
        }

        /**
         * Validate.
         *
         * @return this.
         * @throws IllegalArgumentException naming the first bad value.
         */
        public Context conclude()
        {
            if (null == interfaceName || interfaceName.isEmpty() || interfaceName.length() >= LibC.IFNAMSIZ)
            {
                throw new IllegalArgumentException("interface name must be 1..15 characters: " + interfaceName);
            }
            if (0 != localAddress && !HostAddress.isIpv4(localAddress))
            {
                throw new IllegalArgumentException("local address must be IPv4");
            }
            require(linkBitsPerSecond >= 0, "link rate must not be negative: " + linkBitsPerSecond);
            require(poolPackets > 0, "pool must hold at least one packet: " + poolPackets);
            require(txBatch > 0 && txBatch <= 1024, "txBatch must be 1..1024: " + txBatch);
            require(rxBlockSize >= 4096 && 0 == (rxBlockSize & 4095) && Integer.bitCount(rxBlockSize) == 1,
                "rxBlockSize must be a power of two multiple of 4096: " + rxBlockSize);
            require(rxBlockCount >= 0 && (long)rxBlockCount * rxBlockSize <= Integer.MAX_VALUE,
                "ring of " + rxBlockCount + " x " + rxBlockSize + " bytes is out of range");
            require(rxBlockTimeoutMs >= 1, "rxBlockTimeoutMs must be at least 1: " + rxBlockTimeoutMs);
            require(maxPacketLength >= 0, "maxPacketLength must not be negative: " + maxPacketLength);
            require(fanoutGroup >= -1 && fanoutGroup <= 0xFFFF, "fanout group must be -1..65535: " + fanoutGroup);
            require(vlanId >= 0 && vlanId < 4095, "VLAN id must be 0..4094: " + vlanId);
            require(tagged || 0 == vlanId, "a VLAN id needs tagged frames: vlan=" + vlanId + " with tag=false");
            require(neighbourRefreshNs > 0, "neighbour refresh period must be positive");
            require(null != clock, "clock must be set");
            require(null != rxRing, "rxRing must be set");
            return this;
        }

        private static void require(final boolean condition, final String message)
        {
            if (!condition)
            {
                throw new IllegalArgumentException(message);
            }
        }
    }

    /**
     * Receive ring layouts.
     */
    public enum RxRing
    {
        /**
         * TPACKET_V2: fixed-size frames, each handed to user space the moment the kernel has written it. Lowest
         * latency; the default.
         */
        V2,
        /**
         * TPACKET_V3: variable-size packets packed into blocks, a block handed over when full or when its retire
         * timer (at least 1 ms, jiffy-granular) fires. Best memory use and fewest hand-overs at high rates, but a
         * lone packet waits for the timer: round trips of about 1 ms on an idle link.
         */
        V3
    }

    /**
     * Who completes the checksum in each packet's Homa common header.
     */
    public enum ChecksumMode
    {
        /**
         * The NIC, or the stack's software fallback where the device cannot: each frame goes out with a
         * {@code virtio_net_hdr} ({@code PACKET_VNET_HDR}) asking for a partial checksum, as the kernel's Homa marks
         * its packets {@code CHECKSUM_PARTIAL}, and the payload is gathered from where it waits rather than copied.
         * Between namespaces a veth pair passes the partial checksum on uncompleted, as it does the kernel's. Falls
         * back to {@link #SOFTWARE} where the kernel refuses the option.
         */
        OFFLOAD,
        /**
         * The protocol, in Java, before the frame is queued; every payload byte is copied into the packet.
         */
        SOFTWARE
    }

    /**
     * PACKET_FANOUT modes.
     */
    public enum FanoutMode
    {
        /** By flow hash: all packets of a peer pair reach the same socket. */
        HASH(0),
        /** Round robin. */
        LB(1),
        /** By the CPU that received the frame. */
        CPU(2),
        /** Fill one socket, then the next. */
        ROLLOVER(3),
        /** Random. */
        RANDOM(4),
        /** By the NIC's receive queue. */
        QM(5);

        final int value;

        FanoutMode(final int value)
        {
            this.value = value;
        }
    }
}
