package dev.homa.nic.raw;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

import dev.homa.nic.DriverUri;
import dev.homa.nic.HostAddress;
import dev.homa.nic.linux.LibC;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

/**
 * Configuration of a {@link RawEthernetDriver}: fluent setters, defaults that suit a 10 Gb/s NIC, validated
 * once by {@link #conclude()}.
 */
public final class RawEthernetDriverContext
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
    boolean tso = true;
    Path portTable = defaultPortTable();
    long neighbourRefreshNs = 1_000_000_000L;
    long neighbourRetryNs = 10_000_000L;
    NanoClock clock = SystemNanoClock.INSTANCE;

    /**
     * Parse {@code raw://IFNAME?options}; see {@link RawEthernetDriver#fromUri(String)}.
     *
     * @param text the URI.
     * @return a context.
     */
    public static RawEthernetDriverContext fromUri(final String text)
    {
        return fromUri(DriverUri.parse(text));
    }

    /**
     * @param uri a parsed {@code raw://IFNAME?options} URI; see {@link RawEthernetDriver#fromUri(String)}.
     * @return a new context, not yet concluded.
     * @throws IllegalArgumentException if the URI names another scheme, no interface or an unknown option.
     */
    public static RawEthernetDriverContext fromUri(final DriverUri uri)
    {
        uri.requireScheme("raw");
        final String name = null != uri.authority() ? uri.authority() : uri.host();
        if (null == name)
        {
            throw new IllegalArgumentException("expected raw://IFNAME?options, got " + uri);
        }
        final RawEthernetDriverContext c = new RawEthernetDriverContext().interfaceName(name);
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
            .suppressIcmp(uri.bool("icmpGuard", c.suppressIcmp))
            .tso(uri.bool("tso", c.tso))
            .portTable(Path.of(uri.string("portTable", c.portTable.toString())));
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
    public RawEthernetDriverContext interfaceName(final String name)
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
    public RawEthernetDriverContext localAddress(final long address)
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
    public RawEthernetDriverContext linkBitsPerSecond(final long bitsPerSecond)
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
    public RawEthernetDriverContext poolPackets(final int packets)
    {
        this.poolPackets = packets;
        return this;
    }

    /**
     * @param packets most sends queued between flushes, one sendmmsg (default 256, at most 1024).
     * @return this.
     */
    public RawEthernetDriverContext txBatch(final int packets)
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
    public RawEthernetDriverContext networkNamespace(final String name)
    {
        this.networkNamespace = name;
        return this;
    }

    /**
     * @param ring receive ring layout: {@link RxRing#V2} (default, lowest latency) or {@link RxRing#V3}.
     * @return this.
     */
    public RawEthernetDriverContext rxRing(final RxRing ring)
    {
        this.rxRing = ring;
        return this;
    }

    /**
     * @param bytes size of one receive-ring block, a multiple of the page size (default 256 KiB).
     * @return this.
     */
    public RawEthernetDriverContext rxBlockSize(final int bytes)
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
    public RawEthernetDriverContext rxBlockCount(final int blocks)
    {
        this.rxBlockCount = blocks;
        return this;
    }

    /**
     * @param ms how long the kernel keeps a partly filled block before handing it over (default 1, the least).
     * @return this.
     */
    public RawEthernetDriverContext rxBlockTimeoutMs(final int ms)
    {
        this.rxBlockTimeoutMs = ms;
        return this;
    }

    /**
     * @param bytes cap on the Homa packet length; 0 (default) uses the interface MTU less the IPv4 header, at
     *              most 8980 (a 9000-byte jumbo frame) so that an interface such as lo does not size 64 KiB slots.
     * @return this.
     */
    public RawEthernetDriverContext maxPacketLength(final int bytes)
    {
        this.maxPacketLength = bytes;
        return this;
    }

    /**
     * @param group PACKET_FANOUT group id 0..65535 shared by the drivers of several receive threads; -1 = none.
     * @return this.
     */
    public RawEthernetDriverContext fanoutGroup(final int group)
    {
        this.fanoutGroup = group;
        return this;
    }

    /**
     * @param mode how the kernel spreads frames over the group's sockets.
     * @return this.
     */
    public RawEthernetDriverContext fanoutMode(final FanoutMode mode)
    {
        this.fanoutMode = mode.value;
        return this;
    }

    /**
     * @param id VLAN id in the tag, 0 (default) = priority tag only, frame stays on the native VLAN.
     * @return this.
     */
    public RawEthernetDriverContext vlanId(final int id)
    {
        this.vlanId = id;
        return this;
    }

    /**
     * @param tag put an 802.1Q tag on every frame with the level as PCP (default true); false sends untagged
     *            IPv4 with the level only as DSCP, as a kernel host does, for networks that strip or refuse tags.
     * @return this.
     */
    public RawEthernetDriverContext tagged(final boolean tag)
    {
        this.tagged = tag;
        return this;
    }

    /**
     * @param bypass send straight to the device, skipping the qdisc (default true). Captures on the sending
     *               interface do not see bypassed frames; capture on the receiver.
     * @return this.
     */
    public RawEthernetDriverContext qdiscBypass(final boolean bypass)
    {
        this.qdiscBypass = bypass;
        return this;
    }

    /**
     * @param mode who completes the Homa checksum (default {@link ChecksumMode#OFFLOAD}).
     * @return this.
     */
    public RawEthernetDriverContext checksum(final ChecksumMode mode)
    {
        this.checksum = Objects.requireNonNull(mode, "checksum mode");
        return this;
    }

    /**
     * @param offload send runs of a message's DATA packets to a host Homa has been received from as one frame that
     *                the device's TCP segmentation offload cuts into wire packets (default true): such a frame
     *                travels as TCP hijacked by Homa ({@link dev.homa.nic.frame.TcpHijack}), which a kernel Homa
     *                receiver accepts. Needs the checksum offloaded ({@link ChecksumMode#OFFLOAD}), and a device
     *                that segments TCP itself unless the qdisc is used ({@code qdiscBypass=false}, where the kernel
     *                can segment in software); false sends every packet as a protocol-146 frame of its own.
     * @return this.
     */
    public RawEthernetDriverContext tso(final boolean offload)
    {
        this.tso = offload;
        return this;
    }

    /**
     * @param directory where the table of an interface's Homa ports lives, which every raw driver on the interface
     *                  shares ({@link PortTable}); default {@code /dev/shm}, where it exists, else the JVM's temporary
     *                  directory. Drivers that share an interface must share this directory.
     * @return this.
     */
    public RawEthernetDriverContext portTable(final Path directory)
    {
        this.portTable = Objects.requireNonNull(directory, "port table directory");
        return this;
    }

    private static Path defaultPortTable()
    {
        final Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * @param suppress open the protocol-146 raw socket that keeps the kernel from sending ICMP
     *                 protocol-unreachable for every Homa packet (default true).
     * @return this.
     */
    public RawEthernetDriverContext suppressIcmp(final boolean suppress)
    {
        this.suppressIcmp = suppress;
        return this;
    }

    /**
     * @param ns period of neighbour-table reloads (default 1 s).
     * @return this.
     */
    public RawEthernetDriverContext neighbourRefreshNs(final long ns)
    {
        this.neighbourRefreshNs = ns;
        return this;
    }

    /**
     * @param clock clock for timestamps, the queue estimate and refresh deadlines.
     * @return this.
     */
    public RawEthernetDriverContext clock(final NanoClock clock)
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
    public RawEthernetDriverContext conclude()
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
