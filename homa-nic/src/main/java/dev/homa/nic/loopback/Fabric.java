package dev.homa.nic.loopback;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.time.VirtualClock;
import dev.homa.nic.time.VirtualTimeScheduler;
import org.agrona.collections.Long2LongHashMap;

import java.util.List;

/**
 * An in-memory network of hosts in one JVM: each host gets a {@link FabricDriver} ({@link #driver(long)}). By
 * default all hosts hang off one output-queued switch; a {@link Topology} puts them in racks behind ToR switches
 * joined by spines, with their own link rates, delays, switch latency, buffers and queue discipline.
 * <h2>Modes</h2>
 * {@link FabricMode#INSTANT}: a flushed packet is in the destination's receive queue at once.
 * {@link FabricMode#TIMED}, in the virtual time of the {@link VirtualTimeScheduler}:
 * <pre>
 *  host NIC FIFO --serialize at link rate--> propagation --> switch egress port of the destination
 *  (8 strict-priority queues, shared buffer, tail drop) --serialize at link rate--> propagation --> receive queue
 * </pre>
 * Switches are store-and-forward: a frame enters an egress queue once its last bit has arrived. With a topology a
 * frame crosses one to three switches (ToR, spine, ToR), each adding its latency and one egress port.
 * <h2>Frame size model</h2>
 * A Homa packet of {@code L} bytes (what {@link dev.homa.nic.Packet#length()} says) occupies {@code L +
 * wireOverheadBytes} bytes of link time. The default overhead, {@value #DEFAULT_WIRE_OVERHEAD_BYTES}, is the IPv4
 * header (20) plus the Ethernet overhead the kernel module calls {@code HOMA_ETH_OVERHEAD} (42: 14 MAC header,
 * 4 802.1Q tag, 4 FCS, 8 preamble and start delimiter, 12 inter-frame gap). So a 1438-byte Homa packet is a
 * 1500-byte frame: exactly 1,200 ns at 10 Gb/s. The largest Homa packet defaults to 1480 bytes (a 1500-byte IP MTU
 * less the IPv4 header) and so takes 1542 bytes, 1233.6 ns, at 10 Gb/s. Switch buffer figures use the same unit.
 * Padding to the 64-byte Ethernet minimum is not modelled: no Homa packet (at least 26 bytes,
 * {@code HOMA_MIN_PKT_LENGTH}) needs it with the default overhead.
 * <h2>Time</h2>
 * Link occupancy is computed in integer picoseconds without drift ({@code LinkSerializer}); events fire at the
 * first nanosecond at or after their picosecond time, and each stage starts from the exact picosecond time of the
 * previous one, so rounding never accumulates along a path or across back-to-back frames.
 * <h2>Faults</h2>
 * A {@link FaultInjector} per directed host pair (or one for all links) decides loss, corruption, duplication and
 * reordering of each frame as it reaches the switch (timed) or on flush (instant), in that order.
 * <h2>Threads</h2>
 * None. Everything runs on the caller's thread: flush moves packets, the scheduler's events move them on. A fabric
 * is therefore confined to the thread driving its scheduler, like the protocol agents on it.
 */
public final class Fabric implements AutoCloseable
{
    /** Default link rate: 10 Gb/s. */
    public static final long DEFAULT_LINK_BITS_PER_SECOND = 10_000_000_000L;
    /** Default one-way propagation delay per hop (host to switch, switch to host), including switch latency. */
    public static final long DEFAULT_PROPAGATION_DELAY_NS = 250;
    /** Default wire overhead per packet: IPv4 header 20 + HOMA_ETH_OVERHEAD 42. */
    public static final int DEFAULT_WIRE_OVERHEAD_BYTES = 20 + 42;
    /** Default largest Homa packet: 1500-byte IP MTU less the 20-byte IPv4 header. */
    public static final int DEFAULT_MAX_PACKET_LENGTH = 1500 - 20;
    /** Default packet slots per host. */
    public static final int DEFAULT_PACKET_POOL_SIZE = 1024;
    /** Default sends a driver accepts between flushes. */
    public static final int DEFAULT_TX_BATCH_CAPACITY = 256;
    /** Default limit of frames in flight across the whole timed fabric. */
    public static final int DEFAULT_MAX_FRAMES_IN_FLIGHT = 1 << 16;
    /** First host address: 198.18.0.1, in the 198.18.0.0/15 benchmarking range. */
    public static final int FIRST_HOST_IPV4 = (198 << 24) | (18 << 16) | 1;
    /** Hosts that fit in 198.18.0.0/15 after {@link #FIRST_HOST_IPV4}. */
    public static final int MAX_HOSTS = (1 << 17) - 2;

    private final FabricMode mode;
    private final VirtualTimeScheduler scheduler;
    private final long linkBitsPerSecond;
    private final long propagationDelayNs;
    private final long propagationPs;
    private final long portBufferBytes;
    private final int wireOverheadBytes;
    private final int maxPacketLength;
    private final Topology topology;
    private final FabricDriver[] drivers;
    private final SwitchPort[] ports;
    private final Switch[] tors;
    private final SwitchPort[] torUplinks;
    private final SwitchPort[] spineDownlinks;
    private final boolean[] down;
    private final Long2LongHashMap indexByAddress = new Long2LongHashMap(-1);
    private final FramePool framePool;
    private final FaultStage faults;
    private final FabricEvents events;
    private final Forwarding forwarding;

    Fabric(final FabricBuilder builder)
    {
        mode = builder.mode;
        scheduler = null != builder.scheduler ? builder.scheduler : new VirtualTimeScheduler(new VirtualClock());
        topology = builder.topology();
        linkBitsPerSecond = topology.hostLinkBitsPerSecond();
        propagationDelayNs = topology.hostLinkDelayNs();
        propagationPs = propagationDelayNs * 1000L;
        portBufferBytes = topology.hostPortBufferBytes();
        wireOverheadBytes = builder.wireOverheadBytes;
        maxPacketLength = builder.maxPacketLength;

        final int hostCount = builder.addresses.size();
        final boolean rankOrder = Topology.QueueDiscipline.RANK == topology.discipline();
        final int levels = topology.priorityLevels();
        final long switchLatencyPs = topology.switchLatencyNs() * 1000L;
        final long fabricHopPs = topology.fabricLinkDelayNs() * 1000L + switchLatencyPs;
        tors = new Switch[topology.racks()];
        final Switch[] spines = new Switch[topology.spines()];
        for (int r = 0; r < tors.length; r++)
        {
            tors[r] = Switch.tor(r, topology);
            tors[r].hostPorts = new SwitchPort[topology.hostsPerRack()];
            tors[r].upPorts = new SwitchPort[spines.length];
        }
        for (int s = 0; s < spines.length; s++)
        {
            spines[s] = Switch.spine(topology);
            spines[s].downPorts = new SwitchPort[tors.length];
        }
        torUplinks = new SwitchPort[tors.length * spines.length];
        spineDownlinks = new SwitchPort[tors.length * spines.length];
        for (int r = 0; r < tors.length; r++)
        {
            for (int s = 0; s < spines.length; s++)
            {
                final SwitchPort up = new SwitchPort(this, scheduler, HostAddress.NONE,
                    topology.fabricLinkBitsPerSecond(), topology.fabricPortBufferBytes(), fabricHopPs, levels,
                    rankOrder, spines[s]);
                final SwitchPort down = new SwitchPort(this, scheduler, HostAddress.NONE,
                    topology.fabricLinkBitsPerSecond(), topology.fabricPortBufferBytes(), fabricHopPs, levels,
                    rankOrder, tors[r]);
                tors[r].upPorts[s] = up;
                spines[s].downPorts[r] = down;
                torUplinks[r * spines.length + s] = up;
                spineDownlinks[s * tors.length + r] = down;
            }
        }

        drivers = new FabricDriver[hostCount];
        ports = new SwitchPort[hostCount];
        down = new boolean[hostCount];
        for (int i = 0; i < hostCount; i++)
        {
            final long address = builder.addresses.get(i);
            if (-1 != indexByAddress.put(address, i))
            {
                throw new IllegalArgumentException("duplicate host address " + HostAddress.toString(address));
            }
            drivers[i] = new FabricDriver(
                this, i, address, maxPacketLength, builder.packetPoolSize, builder.txBatchCapacity, scheduler,
                linkBitsPerSecond, propagationPs + switchLatencyPs, builder.placing);
            ports[i] = new SwitchPort(this, scheduler, address, linkBitsPerSecond, portBufferBytes, propagationPs,
                levels, rankOrder, null);
            tors[topology.rackOf(i)].hostPorts[i % topology.hostsPerRack()] = ports[i];
        }
        framePool = new FramePool(this, maxPacketLength, builder.maxFramesInFlight);
        faults = new FaultStage(builder.faultInjector);
        events = new FabricEvents(scheduler);
        forwarding = new Forwarding(this, drivers, ports, tors, down, framePool, faults, events, builder.carriedBytes);
    }

    /**
     * {@return a builder with the defaults}
     */
    public static FabricBuilder builder()
    {
        return new FabricBuilder();
    }

    /**
     * The address of a host by its number.
     *
     * @param index host number from 0.
     * @return the address the builder's {@link FabricBuilder#hosts(int)} gives that host: 198.18.0.1 + index.
     */
    public static long hostAddress(final int index)
    {
        if (index < 0 || index >= MAX_HOSTS)
        {
            throw new IllegalArgumentException("host index outside 0.." + (MAX_HOSTS - 1) + ": " + index);
        }
        return HostAddress.ipv4(FIRST_HOST_IPV4 + index);
    }

    /**
     * The driver of a host by its address.
     *
     * @param address a host's address (a port, if any, is ignored).
     * @return its driver.
     * @throws IllegalArgumentException if no host has that address.
     */
    public FabricDriver driver(final long address)
    {
        return drivers[requireIndex(address)];
    }

    /**
     * The driver of a host by its index.
     *
     * @param index host index, 0-based in order of addition.
     * @return its driver.
     */
    public FabricDriver driverAt(final int index)
    {
        return drivers[index];
    }

    /**
     * {@return number of hosts}
     */
    public int hostCount()
    {
        return drivers.length;
    }

    /**
     * The switch port that sends to a host.
     *
     * @param address a host's address.
     * @return the switch egress port towards it.
     */
    public SwitchPort port(final long address)
    {
        return ports[requireIndex(address)];
    }

    /**
     * {@return the topology: racks, spines, link rates, delays, buffers, queue discipline}
     */
    public Topology topology()
    {
        return topology;
    }

    /**
     * {@return the switch egress port towards each host, in host order (that of {@link #driverAt(int)})}
     */
    public List<SwitchPort> hostPorts()
    {
        return List.of(ports);
    }

    /**
     * {@return the ports from every ToR up to every spine (rack-major), none without spines}
     */
    public List<SwitchPort> torUplinks()
    {
        return List.of(torUplinks);
    }

    /**
     * {@return the ports from every spine down to every ToR (spine-major), none without spines}
     */
    public List<SwitchPort> spineDownlinks()
    {
        return List.of(spineDownlinks);
    }

    /**
     * {@return the mode}
     */
    public FabricMode mode()
    {
        return mode;
    }

    /**
     * {@return the scheduler that moves packets in timed mode and whose clock stamps them}
     */
    public VirtualTimeScheduler scheduler()
    {
        return scheduler;
    }

    /**
     * {@return the scheduler's clock, to inject into protocol code}
     */
    public VirtualClock clock()
    {
        return scheduler.clock();
    }

    /**
     * {@return link rate of every link}
     */
    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    /**
     * {@return one-way propagation delay per hop}
     */
    public long propagationDelayNs()
    {
        return propagationDelayNs;
    }

    /**
     * {@return wire bytes per packet beyond its Homa bytes}
     */
    public int wireOverheadBytes()
    {
        return wireOverheadBytes;
    }

    /**
     * {@return largest Homa packet}
     */
    public int maxPacketLength()
    {
        return maxPacketLength;
    }

    /**
     * {@return switch port buffer limit, 0 for unlimited}
     */
    public long portBufferBytes()
    {
        return portBufferBytes;
    }

    /**
     * Bytes a packet occupies on a link.
     *
     * @param homaLength Homa bytes of a packet.
     * @return the bytes it occupies on a link.
     */
    public int wireBytes(final int homaLength)
    {
        return homaLength + wireOverheadBytes;
    }

    /**
     * Time a packet occupies a link.
     *
     * @param homaLength Homa bytes of a packet.
     * @return picoseconds it occupies a link when sent alone (rounded down).
     */
    public long serializationPs(final int homaLength)
    {
        return wireBytes(homaLength) * 8L * LinkSerializer.PS_PER_SECOND / linkBitsPerSecond;
    }

    /**
     * Set the faults of every directed link, replacing per-link settings.
     *
     * @param injector the injector, {@link FaultInjector#NONE} for none.
     * @return this.
     */
    public Fabric faultInjector(final FaultInjector injector)
    {
        faults.injector(injector);
        return this;
    }

    /**
     * Set the faults of one directed link.
     *
     * @param source      sending host.
     * @param destination receiving host.
     * @param injector    the injector, {@link FaultInjector#NONE} for none.
     * @return this.
     */
    public Fabric faultInjector(final long source, final long destination, final FaultInjector injector)
    {
        faults.injector(requireIndex(source), requireIndex(destination), injector);
        return this;
    }

    /**
     * The fault injector of one directed link.
     *
     * @param source      sending host.
     * @param destination receiving host.
     * @return the injector of that directed link.
     */
    public FaultInjector faultInjector(final long source, final long destination)
    {
        return faults.injector(requireIndex(source), requireIndex(destination));
    }

    /**
     * Take a host off the network or put it back, as a crashed or partitioned machine: frames to or from it are
     * dropped ({@link DropReason#HOST_DOWN}); its driver keeps working locally.
     *
     * @param address the host.
     * @param isDown  true to take it down.
     * @return this.
     */
    public Fabric hostDown(final long address, final boolean isDown)
    {
        down[requireIndex(address)] = isDown;
        return this;
    }

    /**
     * Add a listener to the packet events.
     *
     * @param listener to call on every packet event; not for the hot path of a benchmark.
     * @return this.
     */
    public Fabric addTraceListener(final FabricTraceListener listener)
    {
        events.add(listener);
        return this;
    }

    /**
     * Remove a listener from the packet events.
     *
     * @param listener to stop calling.
     * @return this.
     */
    public Fabric removeTraceListener(final FabricTraceListener listener)
    {
        events.remove(listener);
        return this;
    }

    /**
     * How many frames were dropped for one reason.
     *
     * @param reason a {@link DropReason}.
     * @return frames dropped for that reason.
     */
    public long drops(final int reason)
    {
        return events.drops(reason);
    }

    /**
     * {@return frames dropped for any reason}
     */
    public long drops()
    {
        return events.drops();
    }

    /**
     * {@return frames lost by the fault injectors}
     */
    public long lossDrops()
    {
        return faults.lossDrops();
    }

    /**
     * {@return extra copies made by the fault injectors}
     */
    public long duplicates()
    {
        return faults.duplicates();
    }

    /**
     * {@return frames held back by the fault injectors}
     */
    public long reorders()
    {
        return faults.reorders();
    }

    /**
     * {@return frames corrupted by the fault injectors}
     */
    public long corruptions()
    {
        return faults.corruptions();
    }

    /**
     * {@return packets put into a receive queue}
     */
    public long deliveries()
    {
        return forwarding.deliveries();
    }

    /**
     * {@return frames in flight (NIC queues, wires, switch) in timed mode}
     */
    public int framesInFlight()
    {
        return framePool.inUse();
    }

    /**
     * {@return true if no frame is in flight: the network is quiet (receive queues may still hold packets, hosts may
     * hold unflushed sends)}
     */
    public boolean isQuiescent()
    {
        return 0 == framePool.inUse();
    }

    /**
     * Close every driver.
     */
    @Override
    public void close()
    {
        for (final FabricDriver driver : drivers)
        {
            driver.close();
        }
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String toString()
    {
        return "Fabric{mode=" + mode + ", hosts=" + drivers.length + ", linkBitsPerSecond=" + linkBitsPerSecond +
            ", propagationDelayNs=" + propagationDelayNs + ", portBufferBytes=" + portBufferBytes +
            ", wireOverheadBytes=" + wireOverheadBytes + ", maxPacketLength=" + maxPacketLength + ", " + topology +
            '}';
    }

    int indexOf(final long address)
    {
        return (int)indexByAddress.get(HostAddress.hostOf(address));
    }

    void onFlush(
        final FabricDriver sender,
        final Packet packet,
        final long destination,
        final int priority,
        final long rank,
        final long flowKey)
    {
        forwarding.onFlush(sender, packet, destination, priority, rank, flowKey);
    }

    void onNicStart(final Frame frame)
    {
        events.trace(FabricTraceListener.SENT, 0, frame);
    }

    void onFrameEvent(final Frame frame, final long nowNs)
    {
        forwarding.onFrameEvent(frame, nowNs);
    }

    /**
     * A port pushed a waiting frame out to make room for one of lower rank (pFabric).
     *
     * @param frame the frame dropped.
     */
    void onEvicted(final Frame frame)
    {
        forwarding.dropFrame(DropReason.PORT_FULL, frame);
    }

    private int requireIndex(final long address)
    {
        final int index = indexOf(address);
        if (index < 0)
        {
            throw new IllegalArgumentException("no host " + HostAddress.toString(address) + " on this fabric");
        }
        return index;
    }
}
