package dev.homa.nic.loopback;

import dev.homa.nic.HostAddress;
import dev.homa.nic.time.VirtualTimeScheduler;

import java.util.ArrayList;
import java.util.List;

/**
 * Configuration of a {@link Fabric} ({@link Fabric#builder()}), fluent, validated by {@link #build()}.
 */
public final class FabricBuilder
{
    final List<Long> addresses = new ArrayList<>();
    FabricMode mode = FabricMode.INSTANT;
    VirtualTimeScheduler scheduler;
    long linkBitsPerSecond = Fabric.DEFAULT_LINK_BITS_PER_SECOND;
    long propagationDelayNs = Fabric.DEFAULT_PROPAGATION_DELAY_NS;
    long portBufferBytes;
    int wireOverheadBytes = Fabric.DEFAULT_WIRE_OVERHEAD_BYTES;
    int maxPacketLength = Fabric.DEFAULT_MAX_PACKET_LENGTH;
    int packetPoolSize = Fabric.DEFAULT_PACKET_POOL_SIZE;
    int txBatchCapacity = Fabric.DEFAULT_TX_BATCH_CAPACITY;
    int maxFramesInFlight = Fabric.DEFAULT_MAX_FRAMES_IN_FLIGHT;
    int carriedBytes = Integer.MAX_VALUE;
    boolean placing;
    FaultInjector faultInjector = FaultInjector.NONE;
    Topology topology;

    FabricBuilder()
    {
    }

    /**
     * Racks, spines and their timing instead of one switch. It replaces {@link #linkBitsPerSecond(long)},
     * {@link #propagationDelayNs(long)} and {@link #portBufferBytes(long)}, and adds its hosts (198.18.0.1 on)
     * unless hosts were added already, in which case there must be exactly as many.
     *
     * @param topology the topology.
     * @return this.
     */
    public FabricBuilder topology(final Topology topology)
    {
        this.topology = topology;
        return this;
    }

    Topology topology()
    {
        return null != topology ? topology :
            Topology.singleSwitch(addresses.size(), linkBitsPerSecond, propagationDelayNs, portBufferBytes);
    }

    /**
     * @param mode instant or timed.
     * @return this.
     */
    public FabricBuilder mode(final FabricMode mode)
    {
        this.mode = mode;
        return this;
    }

    /**
     * Add hosts with the next addresses from 198.18.0.1 ({@link Fabric#hostAddress(int)}).
     *
     * @param count hosts to add.
     * @return this.
     */
    public FabricBuilder hosts(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            addresses.add(Fabric.hostAddress(addresses.size()));
        }
        return this;
    }

    /**
     * @param address a host's IPv4 {@link HostAddress}, port 0; use 198.18.0.0/15.
     * @return this.
     */
    public FabricBuilder addHost(final long address)
    {
        if (!HostAddress.isIpv4(address) || 0 != HostAddress.portOf(address))
        {
            throw new IllegalArgumentException("host must be an IPv4 address without port: " +
                HostAddress.toString(address));
        }
        addresses.add(address);
        return this;
    }

    /**
     * @param scheduler the virtual time to run in; a new one at time 0 by default.
     * @return this.
     */
    public FabricBuilder scheduler(final VirtualTimeScheduler scheduler)
    {
        this.scheduler = scheduler;
        return this;
    }

    /**
     * @param bitsPerSecond rate of every link.
     * @return this.
     */
    public FabricBuilder linkBitsPerSecond(final long bitsPerSecond)
    {
        this.linkBitsPerSecond = bitsPerSecond;
        return this;
    }

    /**
     * @param delayNs one-way delay per hop.
     * @return this.
     */
    public FabricBuilder propagationDelayNs(final long delayNs)
    {
        this.propagationDelayNs = delayNs;
        return this;
    }

    /**
     * @param bytes buffer of each switch egress port in wire bytes; 0 for unlimited.
     * @return this.
     */
    public FabricBuilder portBufferBytes(final long bytes)
    {
        this.portBufferBytes = bytes;
        return this;
    }

    /**
     * @param bytes wire bytes per packet beyond the Homa bytes.
     * @return this.
     */
    public FabricBuilder wireOverheadBytes(final int bytes)
    {
        this.wireOverheadBytes = bytes;
        return this;
    }

    /**
     * @param length largest Homa packet.
     * @return this.
     */
    public FabricBuilder maxPacketLength(final int length)
    {
        this.maxPacketLength = length;
        return this;
    }

    /**
     * @param size packet slots per host.
     * @return this.
     */
    public FabricBuilder packetPoolSize(final int size)
    {
        this.packetPoolSize = size;
        return this;
    }

    /**
     * @param capacity sends a driver accepts between flushes.
     * @return this.
     */
    public FabricBuilder txBatchCapacity(final int capacity)
    {
        this.txBatchCapacity = capacity;
        return this;
    }

    /**
     * @param frames limit of frames in flight in a timed fabric (their memory is allocated on first need).
     * @return this.
     */
    public FabricBuilder maxFramesInFlight(final int frames)
    {
        this.maxFramesInFlight = frames;
        return this;
    }

    /**
     * How much of each packet a timed fabric carries: the first {@code bytes} of a longer packet reach its receiver,
     * the rest of the receive buffer holds whatever it held before. For simulations whose payload no one reads, which
     * would otherwise spend much of their time copying it from host to frame to host; the headers (and every packet
     * no longer than {@code bytes}) arrive intact, and the frame's length, wire time and queueing are the packet's
     * own. Default: all of it.
     *
     * @param bytes bytes of each packet carried, at least 1.
     * @return this.
     */
    public FabricBuilder carriedBytes(final int bytes)
    {
        this.carriedBytes = bytes;
        return this;
    }

    /**
     * Have each host's driver read a packet's payload straight to where the receiving sink names
     * ({@link dev.homa.nic.PacketSink#placePayload}) before handing the packet over, as the UDP driver does with large
     * datagrams, so that a sink's placement runs under this fabric's loss, duplication and reordering. Needs whole
     * packets carried ({@link #carriedBytes(int)}). Default: off, every packet handed over whole.
     *
     * @param placing true to place payloads where the sink asks.
     * @return this.
     */
    public FabricBuilder placing(final boolean placing)
    {
        this.placing = placing;
        return this;
    }

    /**
     * @param injector faults for every link at start.
     * @return this.
     */
    public FabricBuilder faultInjector(final FaultInjector injector)
    {
        this.faultInjector = FaultStage.requireInjector(injector);
        return this;
    }

    /**
     * @return the fabric.
     * @throws IllegalArgumentException naming the first invalid setting.
     */
    public Fabric build()
    {
        require(null != mode, "mode must be set");
        if (null != topology && addresses.isEmpty())
        {
            hosts(topology.hosts());
        }
        require(null == topology || topology.hosts() == addresses.size(),
            "the topology has " + (null == topology ? 0 : topology.hosts()) + " hosts, " + addresses.size() +
            " were added");
        require(!addresses.isEmpty(), "a fabric needs at least one host");
        require(addresses.size() <= Fabric.MAX_HOSTS, "too many hosts: " + addresses.size());
        require(linkBitsPerSecond > 0, "linkBitsPerSecond must be positive: " + linkBitsPerSecond);
        require(propagationDelayNs >= 0, "propagationDelayNs must be >= 0: " + propagationDelayNs);
        require(portBufferBytes >= 0, "portBufferBytes must be >= 0: " + portBufferBytes);
        require(wireOverheadBytes >= 0, "wireOverheadBytes must be >= 0: " + wireOverheadBytes);
        require(maxPacketLength > 0 && maxPacketLength <= 65_535,
            "maxPacketLength must be in 1..65535: " + maxPacketLength);
        require(packetPoolSize > 0, "packetPoolSize must be positive: " + packetPoolSize);
        require((long)packetPoolSize * ((maxPacketLength + 63) & ~63) <= Integer.MAX_VALUE,
            "packet pool larger than 2 GiB: " + packetPoolSize + " x " + maxPacketLength);
        require(txBatchCapacity > 0, "txBatchCapacity must be positive: " + txBatchCapacity);
        require(maxFramesInFlight > 0, "maxFramesInFlight must be positive: " + maxFramesInFlight);
        require(carriedBytes > 0, "carriedBytes must be positive: " + carriedBytes);
        require(!placing || Integer.MAX_VALUE == carriedBytes, "placing needs whole packets carried: " + carriedBytes);
        return new Fabric(this);
    }

    private static void require(final boolean condition, final String message)
    {
        if (!condition)
        {
            throw new IllegalArgumentException(message);
        }
    }
}
