package dev.homa.nic.loopback;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.time.VirtualClock;
import dev.homa.nic.time.VirtualTimeScheduler;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayList;
import java.util.Arrays;
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
    private final Long2ObjectHashMap<FaultInjector> linkFaults = new Long2ObjectHashMap<>();
    private FaultInjector defaultFaults;
    private FabricTraceListener[] listeners = new FabricTraceListener[0];
    private final long[] drops = new long[DropReason.COUNT];
    private long lossDrops;
    private long duplicates;
    private long reorders;
    private long corruptions;
    private long deliveries;

    private Fabric(final Builder builder)
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
                linkBitsPerSecond, propagationPs + switchLatencyPs);
            ports[i] = new SwitchPort(this, scheduler, address, linkBitsPerSecond, portBufferBytes, propagationPs,
                levels, rankOrder, null);
            tors[topology.rackOf(i)].hostPorts[i % topology.hostsPerRack()] = ports[i];
        }
        framePool = new FramePool(this, maxPacketLength, builder.maxFramesInFlight);
        defaultFaults = builder.faultInjector;
    }

    /**
     * @return a builder with the defaults.
     */
    public static Builder builder()
    {
        return new Builder();
    }

    /**
     * @param index host number from 0.
     * @return the address the builder's {@link Builder#hosts(int)} gives that host: 198.18.0.1 + index.
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
     * @param address a host's address (a port, if any, is ignored).
     * @return its driver.
     * @throws IllegalArgumentException if no host has that address.
     */
    public FabricDriver driver(final long address)
    {
        return drivers[requireIndex(address)];
    }

    /**
     * @param index host index, 0-based in order of addition.
     * @return its driver.
     */
    public FabricDriver driverAt(final int index)
    {
        return drivers[index];
    }

    /**
     * @return number of hosts.
     */
    public int hostCount()
    {
        return drivers.length;
    }

    /**
     * @param address a host's address.
     * @return the switch egress port towards it.
     */
    public SwitchPort port(final long address)
    {
        return ports[requireIndex(address)];
    }

    /**
     * @return the topology: racks, spines, link rates, delays, buffers, queue discipline.
     */
    public Topology topology()
    {
        return topology;
    }

    /**
     * @return the ports from every ToR up to every spine (rack-major), none without spines.
     */
    public List<SwitchPort> torUplinks()
    {
        return List.of(torUplinks);
    }

    /**
     * @return the ports from every spine down to every ToR (spine-major), none without spines.
     */
    public List<SwitchPort> spineDownlinks()
    {
        return List.of(spineDownlinks);
    }

    /**
     * @return the mode.
     */
    public FabricMode mode()
    {
        return mode;
    }

    /**
     * @return the scheduler that moves packets in timed mode and whose clock stamps them.
     */
    public VirtualTimeScheduler scheduler()
    {
        return scheduler;
    }

    /**
     * @return the scheduler's clock, to inject into protocol code.
     */
    public VirtualClock clock()
    {
        return scheduler.clock();
    }

    /**
     * @return link rate of every link.
     */
    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    /**
     * @return one-way propagation delay per hop.
     */
    public long propagationDelayNs()
    {
        return propagationDelayNs;
    }

    /**
     * @return wire bytes per packet beyond its Homa bytes.
     */
    public int wireOverheadBytes()
    {
        return wireOverheadBytes;
    }

    /**
     * @return largest Homa packet.
     */
    public int maxPacketLength()
    {
        return maxPacketLength;
    }

    /**
     * @return switch port buffer limit, 0 for unlimited.
     */
    public long portBufferBytes()
    {
        return portBufferBytes;
    }

    /**
     * @param homaLength Homa bytes of a packet.
     * @return the bytes it occupies on a link.
     */
    public int wireBytes(final int homaLength)
    {
        return homaLength + wireOverheadBytes;
    }

    /**
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
        defaultFaults = requireInjector(injector);
        linkFaults.clear();
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
        linkFaults.put(linkKey(requireIndex(source), requireIndex(destination)), requireInjector(injector));
        return this;
    }

    /**
     * @param source      sending host.
     * @param destination receiving host.
     * @return the injector of that directed link.
     */
    public FaultInjector faultInjector(final long source, final long destination)
    {
        return faults(requireIndex(source), requireIndex(destination));
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
     * @param listener to call on every packet event; not for the hot path of a benchmark.
     * @return this.
     */
    public Fabric addTraceListener(final FabricTraceListener listener)
    {
        final FabricTraceListener[] grown = Arrays.copyOf(listeners, listeners.length + 1);
        grown[listeners.length] = listener;
        listeners = grown;
        return this;
    }

    /**
     * @param listener to stop calling.
     * @return this.
     */
    public Fabric removeTraceListener(final FabricTraceListener listener)
    {
        final List<FabricTraceListener> kept = new ArrayList<>(Arrays.asList(listeners));
        kept.remove(listener);
        listeners = kept.toArray(new FabricTraceListener[0]);
        return this;
    }

    /**
     * @param reason a {@link DropReason}.
     * @return frames dropped for that reason.
     */
    public long drops(final int reason)
    {
        return drops[reason];
    }

    /**
     * @return frames dropped for any reason.
     */
    public long drops()
    {
        long sum = 0;
        for (final long value : drops)
        {
            sum += value;
        }
        return sum;
    }

    /**
     * @return frames lost by the fault injectors.
     */
    public long lossDrops()
    {
        return lossDrops;
    }

    /**
     * @return extra copies made by the fault injectors.
     */
    public long duplicates()
    {
        return duplicates;
    }

    /**
     * @return frames held back by the fault injectors.
     */
    public long reorders()
    {
        return reorders;
    }

    /**
     * @return frames corrupted by the fault injectors.
     */
    public long corruptions()
    {
        return corruptions;
    }

    /**
     * @return packets put into a receive queue.
     */
    public long deliveries()
    {
        return deliveries;
    }

    /**
     * @return frames in flight (NIC queues, wires, switch) in timed mode.
     */
    public int framesInFlight()
    {
        return framePool.inUse();
    }

    /**
     * @return true if no frame is in flight: the network is quiet (receive queues may still hold packets, hosts
     * may hold unflushed sends).
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
        if (FabricMode.INSTANT == mode)
        {
            deliverInstant(sender, packet, destination, priority);
            return;
        }
        final Frame frame = framePool.acquire();
        final int length = packet.length();
        if (null == frame)
        {
            drop(DropReason.FRAME_POOL_EMPTY, sender.localAddress(), destination, priority, packet.buffer(), length);
            return;
        }
        frame.buffer.putBytes(0, packet.buffer(), 0, length);
        frame.length = length;
        frame.wireBytes = length + wireOverheadBytes;
        frame.source = sender.localAddress();
        frame.sourceIndex = sender.hostIndex();
        final int destinationIndex = indexOf(destination);
        frame.destinationIndex = destinationIndex;
        frame.destination = destinationIndex < 0 ? destination : drivers[destinationIndex].localAddress();
        frame.priority = priority;
        frame.rank = rank;
        frame.flowKey = flowKey;
        frame.flags = 0;
        sender.transmit(frame);
    }

    void onNicStart(final Frame frame)
    {
        trace(FabricTraceListener.SENT, 0, frame);
    }

    void onFrameEvent(final Frame frame, final long nowNs)
    {
        switch (frame.stage)
        {
            case Frame.STAGE_UPLINK -> onSwitchIngress(frame);
            case Frame.STAGE_REORDER -> enqueue(frame);
            case Frame.STAGE_HOP -> enqueue(frame.nextSwitch.route(frame), frame);
            case Frame.STAGE_DOWNLINK -> onHostArrival(frame, nowNs);
            default -> throw new IllegalStateException("frame event in stage " + frame.stage);
        }
    }

    private void deliverInstant(
        final FabricDriver sender, final Packet packet, final long destination, final int priority)
    {
        final long source = sender.localAddress();
        final int length = packet.length();
        final DirectBuffer bytes = packet.buffer();
        trace(FabricTraceListener.SENT, 0, source, destination, priority, bytes, length);
        final int destinationIndex = indexOf(destination);
        if (destinationIndex < 0)
        {
            drop(DropReason.NO_ROUTE, source, destination, priority, bytes, length);
            return;
        }
        final FabricDriver receiver = drivers[destinationIndex];
        final long to = receiver.localAddress();
        if (down[sender.hostIndex()] || down[destinationIndex] || receiver.isClosed())
        {
            drop(DropReason.HOST_DOWN, source, to, priority, bytes, length);
            return;
        }
        final FaultInjector injector = faults(sender.hostIndex(), destinationIndex);
        if (injector.shouldDrop(source, to, bytes, length))
        {
            lossDrops++;
            drop(DropReason.LOSS, source, to, priority, bytes, length);
            return;
        }
        final Packet copy = receiver.take();
        if (null == copy)
        {
            receiver.onReceivePoolEmpty();
            drop(DropReason.RX_POOL_EMPTY, source, to, priority, bytes, length);
            return;
        }
        copy.buffer().putBytes(0, bytes, 0, length);
        copy.length(length).source(source).priority(priority).timestampNs(scheduler.nowNs());
        int flags = 0;
        if (injector.corrupt(source, to, copy.buffer(), length))
        {
            corruptions++;
            flags |= FabricTraceListener.FLAG_CORRUPTED;
        }
        Packet duplicate = null;
        if (injector.shouldDuplicate(source, to, copy.buffer(), length))
        {
            duplicate = receiver.take();
            if (null == duplicate)
            {
                receiver.onReceivePoolEmpty();
                drop(DropReason.RX_POOL_EMPTY, source, to, priority, copy.buffer(), length);
            }
            else
            {
                duplicates++;
                duplicate.buffer().putBytes(0, copy.buffer(), 0, length);
                duplicate.length(length).source(source).priority(priority).timestampNs(scheduler.nowNs());
            }
        }
        final boolean holdBack = injector.reorderDelayNs(source, to, copy.buffer(), length) > 0;
        if (holdBack)
        {
            reorders++;
            flags |= FabricTraceListener.FLAG_REORDERED;
        }
        final SwitchPort port = ports[destinationIndex];
        port.countInstant(priority, length + wireOverheadBytes);
        trace(FabricTraceListener.ENQUEUED, flags, source, to, priority, copy.buffer(), length);
        deliveries++;
        receiver.onReceive(copy, holdBack);
        trace(FabricTraceListener.DELIVERED, flags, source, to, priority, copy.buffer(), length);
        if (null != duplicate)
        {
            final int duplicateFlags =
                (flags & FabricTraceListener.FLAG_CORRUPTED) | FabricTraceListener.FLAG_DUPLICATE;
            port.countInstant(priority, length + wireOverheadBytes);
            trace(FabricTraceListener.ENQUEUED, duplicateFlags, source, to, priority, duplicate.buffer(), length);
            deliveries++;
            receiver.onReceive(duplicate, false);
            trace(FabricTraceListener.DELIVERED, duplicateFlags, source, to, priority, duplicate.buffer(), length);
        }
    }

    private void onSwitchIngress(final Frame frame)
    {
        final int destinationIndex = frame.destinationIndex;
        if (destinationIndex < 0)
        {
            dropFrame(DropReason.NO_ROUTE, frame);
            return;
        }
        if (down[frame.sourceIndex] || down[destinationIndex])
        {
            dropFrame(DropReason.HOST_DOWN, frame);
            return;
        }
        final FaultInjector injector = faults(frame.sourceIndex, destinationIndex);
        final long source = frame.source;
        final long destination = frame.destination;
        final int length = frame.length;
        if (injector.shouldDrop(source, destination, frame.buffer, length))
        {
            lossDrops++;
            dropFrame(DropReason.LOSS, frame);
            return;
        }
        if (injector.corrupt(source, destination, frame.buffer, length))
        {
            corruptions++;
            frame.flags |= FabricTraceListener.FLAG_CORRUPTED;
        }
        Frame duplicate = null;
        if (injector.shouldDuplicate(source, destination, frame.buffer, length))
        {
            duplicate = framePool.acquire();
            if (null == duplicate)
            {
                drop(DropReason.FRAME_POOL_EMPTY, source, destination, frame.priority, frame.buffer, length);
            }
            else
            {
                duplicates++;
                duplicate.buffer.putBytes(0, frame.buffer, 0, length);
                duplicate.length = length;
                duplicate.wireBytes = frame.wireBytes;
                duplicate.source = source;
                duplicate.sourceIndex = frame.sourceIndex;
                duplicate.destination = destination;
                duplicate.destinationIndex = destinationIndex;
                duplicate.priority = frame.priority;
                duplicate.rank = frame.rank;
                duplicate.flowKey = frame.flowKey;
                duplicate.flags = (frame.flags & FabricTraceListener.FLAG_CORRUPTED) |
                    FabricTraceListener.FLAG_DUPLICATE;
                duplicate.timePs = frame.timePs;
            }
        }
        final long delayNs = injector.reorderDelayNs(source, destination, frame.buffer, length);
        if (delayNs > 0)
        {
            reorders++;
            frame.flags |= FabricTraceListener.FLAG_REORDERED;
            frame.stage = Frame.STAGE_REORDER;
            frame.timePs += delayNs * 1000L;
            scheduler.schedule(LinkSerializer.ceilNs(frame.timePs), frame);
        }
        else
        {
            enqueue(frame);
        }
        if (null != duplicate)
        {
            enqueue(duplicate);
        }
    }

    /**
     * A port pushed a waiting frame out to make room for one of lower rank (pFabric).
     *
     * @param frame the frame dropped.
     */
    void onEvicted(final Frame frame)
    {
        dropFrame(DropReason.PORT_FULL, frame);
    }

    private void enqueue(final Frame frame)
    {
        enqueue(tors[topology.rackOf(frame.sourceIndex)].route(frame), frame);
    }

    private void enqueue(final SwitchPort port, final Frame frame)
    {
        frame.stage = Frame.STAGE_NONE;
        if (port.enqueue(frame))
        {
            trace(FabricTraceListener.ENQUEUED, frame.flags, frame);
        }
        else
        {
            dropFrame(DropReason.PORT_FULL, frame);
        }
    }

    private void onHostArrival(final Frame frame, final long nowNs)
    {
        frame.stage = Frame.STAGE_NONE;
        final FabricDriver receiver = drivers[frame.destinationIndex];
        if (down[frame.destinationIndex] || receiver.isClosed())
        {
            dropFrame(DropReason.HOST_DOWN, frame);
            return;
        }
        final Packet packet = receiver.take();
        if (null == packet)
        {
            receiver.onReceivePoolEmpty();
            dropFrame(DropReason.RX_POOL_EMPTY, frame);
            return;
        }
        final int length = frame.length;
        packet.buffer().putBytes(0, frame.buffer, 0, length);
        packet.length(length).source(frame.source).priority(frame.priority).timestampNs(nowNs);
        deliveries++;
        receiver.onReceive(packet, false);
        trace(FabricTraceListener.DELIVERED, frame.flags, frame);
        framePool.release(frame);
    }

    private void dropFrame(final int reason, final Frame frame)
    {
        drop(reason, frame.source, frame.destination, frame.priority, frame.buffer, frame.length);
        framePool.release(frame);
    }

    private void drop(
        final int reason,
        final long source,
        final long destination,
        final int priority,
        final DirectBuffer buffer,
        final int length)
    {
        drops[reason]++;
        trace(FabricTraceListener.DROPPED, reason, source, destination, priority, buffer, length);
    }

    private void trace(final int event, final int detail, final Frame frame)
    {
        trace(event, detail, frame.source, frame.destination, frame.priority, frame.buffer, frame.length);
    }

    private void trace(
        final int event,
        final int detail,
        final long source,
        final long destination,
        final int priority,
        final DirectBuffer buffer,
        final int length)
    {
        final FabricTraceListener[] listeners = this.listeners;
        if (0 != listeners.length)
        {
            final long nowNs = scheduler.nowNs();
            for (final FabricTraceListener listener : listeners)
            {
                listener.onPacketEvent(event, detail, nowNs, source, destination, priority, buffer, length);
            }
        }
    }

    private FaultInjector faults(final int sourceIndex, final int destinationIndex)
    {
        if (linkFaults.isEmpty())
        {
            return defaultFaults;
        }
        final FaultInjector injector = linkFaults.get(linkKey(sourceIndex, destinationIndex));
        return null == injector ? defaultFaults : injector;
    }

    private static long linkKey(final int sourceIndex, final int destinationIndex)
    {
        return ((long)sourceIndex << 32) | destinationIndex;
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

    private static FaultInjector requireInjector(final FaultInjector injector)
    {
        if (null == injector)
        {
            throw new NullPointerException("fault injector; use FaultInjector.NONE for none");
        }
        return injector;
    }

    /**
     * Configuration of a {@link Fabric}, fluent, validated by {@link #build()}.
     */
    public static final class Builder
    {
        private final List<Long> addresses = new ArrayList<>();
        private FabricMode mode = FabricMode.INSTANT;
        private VirtualTimeScheduler scheduler;
        private long linkBitsPerSecond = DEFAULT_LINK_BITS_PER_SECOND;
        private long propagationDelayNs = DEFAULT_PROPAGATION_DELAY_NS;
        private long portBufferBytes;
        private int wireOverheadBytes = DEFAULT_WIRE_OVERHEAD_BYTES;
        private int maxPacketLength = DEFAULT_MAX_PACKET_LENGTH;
        private int packetPoolSize = DEFAULT_PACKET_POOL_SIZE;
        private int txBatchCapacity = DEFAULT_TX_BATCH_CAPACITY;
        private int maxFramesInFlight = DEFAULT_MAX_FRAMES_IN_FLIGHT;
        private FaultInjector faultInjector = FaultInjector.NONE;
        private Topology topology;

        private Builder()
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
        public Builder topology(final Topology topology)
        {
            this.topology = topology;
            return this;
        }

        private Topology topology()
        {
            return null != topology ? topology :
                Topology.singleSwitch(addresses.size(), linkBitsPerSecond, propagationDelayNs, portBufferBytes);
        }

        /**
         * @param mode instant or timed.
         * @return this.
         */
        public Builder mode(final FabricMode mode)
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
        public Builder hosts(final int count)
        {
            for (int i = 0; i < count; i++)
            {
                addresses.add(hostAddress(addresses.size()));
            }
            return this;
        }

        /**
         * @param address a host's IPv4 {@link HostAddress}, port 0; use 198.18.0.0/15.
         * @return this.
         */
        public Builder addHost(final long address)
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
        public Builder scheduler(final VirtualTimeScheduler scheduler)
        {
            this.scheduler = scheduler;
            return this;
        }

        /**
         * @param bitsPerSecond rate of every link.
         * @return this.
         */
        public Builder linkBitsPerSecond(final long bitsPerSecond)
        {
            this.linkBitsPerSecond = bitsPerSecond;
            return this;
        }

        /**
         * @param delayNs one-way delay per hop.
         * @return this.
         */
        public Builder propagationDelayNs(final long delayNs)
        {
            this.propagationDelayNs = delayNs;
            return this;
        }

        /**
         * @param bytes buffer of each switch egress port in wire bytes; 0 for unlimited.
         * @return this.
         */
        public Builder portBufferBytes(final long bytes)
        {
            this.portBufferBytes = bytes;
            return this;
        }

        /**
         * @param bytes wire bytes per packet beyond the Homa bytes.
         * @return this.
         */
        public Builder wireOverheadBytes(final int bytes)
        {
            this.wireOverheadBytes = bytes;
            return this;
        }

        /**
         * @param length largest Homa packet.
         * @return this.
         */
        public Builder maxPacketLength(final int length)
        {
            this.maxPacketLength = length;
            return this;
        }

        /**
         * @param size packet slots per host.
         * @return this.
         */
        public Builder packetPoolSize(final int size)
        {
            this.packetPoolSize = size;
            return this;
        }

        /**
         * @param capacity sends a driver accepts between flushes.
         * @return this.
         */
        public Builder txBatchCapacity(final int capacity)
        {
            this.txBatchCapacity = capacity;
            return this;
        }

        /**
         * @param frames limit of frames in flight in a timed fabric (their memory is allocated on first need).
         * @return this.
         */
        public Builder maxFramesInFlight(final int frames)
        {
            this.maxFramesInFlight = frames;
            return this;
        }

        /**
         * @param injector faults for every link at start.
         * @return this.
         */
        public Builder faultInjector(final FaultInjector injector)
        {
            this.faultInjector = requireInjector(injector);
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
            require(addresses.size() <= MAX_HOSTS, "too many hosts: " + addresses.size());
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
}
