package dev.homa.nic.loopback;

import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.time.VirtualTimeScheduler;

/**
 * A switch egress port: towards one host, or between a ToR and a spine ({@link Topology}). Its
 * {@link Topology#priorityLevels()} strict-priority FIFO queues (the highest non-empty level always goes next; levels
 * above the highest share it) share one buffer and drain at the link's rate; or, with
 * {@link Topology.QueueDiscipline#RANK}, one queue served by rank that drops the highest rank when full.
 * <p>
 * Byte figures are wire bytes (Homa bytes + {@link Fabric#wireOverheadBytes()}), the unit the link is timed in. A
 * frame counts towards the depth of its queue and of the port from arrival until its last bit has left (the switch
 * holds the buffer while it transmits); the per-level depths therefore always sum to the port depth. Enqueue
 * counters ({@link #packets(int)}, {@link #bytes(int)}) count frames accepted, drops count frames refused by the
 * buffer limit (tail drop) and, on a pFabric port, frames accepted and later pushed out by a lower rank. In instant
 * mode only the enqueue counters move.
 * <p>
 * Read methods are for the fabric's thread (tests, the simulation loop).
 */
public final class SwitchPort
{
    /** Priority levels per port. */
    public static final int LEVELS = PriorityMapping.LEVELS;

    private final Fabric fabric;
    private final VirtualTimeScheduler scheduler;
    private final long hostAddress;
    private final long bufferLimitBytes;
    private final long propagationPs;
    private final LinkSerializer link;
    private final int topLevel;
    private final Switch next;
    private final RankQueue ranked;
    private final FrameQueue[] queues = new FrameQueue[LEVELS];
    private final long[] depthBytes = new long[LEVELS];
    private final long[] peakDepthBytes = new long[LEVELS];
    private final long[] packets = new long[LEVELS];
    private final long[] bytes = new long[LEVELS];
    private final long[] drops = new long[LEVELS];
    private long portDepthBytes;
    private long portPeakDepthBytes;
    private long sentPackets;
    private Frame current;

    /**
     * @param fabric            the fabric (drops of queued frames go back to it).
     * @param scheduler         virtual time.
     * @param hostAddress       the host this port feeds, or {@link dev.homa.nic.HostAddress#NONE} for a port
     *                          between switches.
     * @param linkBitsPerSecond rate of its link.
     * @param bufferLimitBytes  buffer in wire bytes, 0 for unlimited.
     * @param propagationPs     from the last bit leaving to the frame's arrival: link delay, and the next switch's
     *                          latency if it leads to one.
     * @param levels            priority queues in use.
     * @param rankOrder         true for a pFabric port.
     * @param next              the switch the link leads to, or null for a host.
     */
    SwitchPort(
        final Fabric fabric,
        final VirtualTimeScheduler scheduler,
        final long hostAddress,
        final long linkBitsPerSecond,
        final long bufferLimitBytes,
        final long propagationPs,
        final int levels,
        final boolean rankOrder,
        final Switch next)
    {
        this.fabric = fabric;
        this.scheduler = scheduler;
        this.hostAddress = hostAddress;
        this.bufferLimitBytes = bufferLimitBytes;
        this.propagationPs = propagationPs;
        this.topLevel = levels - 1;
        this.next = next;
        this.ranked = rankOrder ? new RankQueue() : null;
        this.link = new LinkSerializer(linkBitsPerSecond);
        for (int i = 0; i < LEVELS; i++)
        {
            queues[i] = new FrameQueue();
        }
    }

    /**
     * @return address of the host this port feeds, {@link dev.homa.nic.HostAddress#NONE} between switches.
     */
    public long hostAddress()
    {
        return hostAddress;
    }

    /**
     * @return buffer limit in bytes, 0 for unlimited.
     */
    public long bufferLimitBytes()
    {
        return bufferLimitBytes;
    }

    /**
     * @param level priority level 0..7.
     * @return frames accepted into that queue.
     */
    public long packets(final int level)
    {
        return packets[level];
    }

    /**
     * @param level priority level 0..7.
     * @return wire bytes accepted into that queue.
     */
    public long bytes(final int level)
    {
        return bytes[level];
    }

    /**
     * @param level priority level 0..7.
     * @return frames of that level refused because the port buffer was full.
     */
    public long drops(final int level)
    {
        return drops[level];
    }

    /**
     * @param level priority level 0..7.
     * @return wire bytes of that level in the port now.
     */
    public long depthBytes(final int level)
    {
        return depthBytes[level];
    }

    /**
     * @param level priority level 0..7.
     * @return largest {@link #depthBytes(int)} seen.
     */
    public long peakDepthBytes(final int level)
    {
        return peakDepthBytes[level];
    }

    /**
     * @return frames accepted at all levels.
     */
    public long packets()
    {
        long sum = 0;
        for (final long value : packets)
        {
            sum += value;
        }
        return sum;
    }

    /**
     * @return wire bytes accepted at all levels.
     */
    public long bytes()
    {
        long sum = 0;
        for (final long value : bytes)
        {
            sum += value;
        }
        return sum;
    }

    /**
     * @return frames refused at all levels.
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
     * @return frames whose last bit has left the port.
     */
    public long sentPackets()
    {
        return sentPackets;
    }

    /**
     * @return wire bytes in the port now, all levels.
     */
    public long depthBytes()
    {
        return portDepthBytes;
    }

    /**
     * @return largest {@link #depthBytes()} seen.
     */
    public long peakDepthBytes()
    {
        return portPeakDepthBytes;
    }

    /**
     * @return frames waiting or on the wire at this port.
     */
    public int depthPackets()
    {
        int sum = (null == current ? 0 : 1) + (null == ranked ? 0 : ranked.count());
        for (final FrameQueue queue : queues)
        {
            sum += queue.count();
        }
        return sum;
    }

    /**
     * Forget the peaks, to measure a phase of a run.
     */
    public void resetPeaks()
    {
        portPeakDepthBytes = portDepthBytes;
        for (int i = 0; i < LEVELS; i++)
        {
            peakDepthBytes[i] = depthBytes[i];
        }
    }

    /**
     * @return nanoseconds (rounded down) the link to the host has spent transmitting, up to the current virtual
     * time. With {@link #idleNs()} a test measures how much a receiver's downlink idled.
     */
    public long busyNs()
    {
        return link.busyPs(scheduler.nowNs() * 1000L) / 1000L;
    }

    /**
     * @return nanoseconds since time 0 that the link to the host was not transmitting.
     */
    public long idleNs()
    {
        return scheduler.nowNs() - busyNs();
    }

    /**
     * @return picoseconds the link to the host has spent transmitting, up to the current virtual time.
     */
    public long busyPs()
    {
        return link.busyPs(scheduler.nowNs() * 1000L);
    }

    void countInstant(final int level, final int wireBytes)
    {
        packets[level]++;
        bytes[level] += wireBytes;
    }

    /**
     * A frame has fully arrived at the switch (at {@code frame.timePs}).
     *
     * @return false if dropped (the buffer is full and this frame ranks lowest); the caller then owns the frame
     * again.
     */
    boolean enqueue(final Frame frame)
    {
        final int level = Math.min(frame.priority, topLevel);
        final int wireBytes = frame.wireBytes;
        if (0 != bufferLimitBytes && portDepthBytes + wireBytes > bufferLimitBytes && !makeRoom(frame))
        {
            drops[level]++;
            return false;
        }
        packets[level]++;
        bytes[level] += wireBytes;
        depthBytes[level] += wireBytes;
        peakDepthBytes[level] = Math.max(peakDepthBytes[level], depthBytes[level]);
        portDepthBytes += wireBytes;
        portPeakDepthBytes = Math.max(portPeakDepthBytes, portDepthBytes);
        if (null == ranked)
        {
            queues[level].add(frame);
        }
        else
        {
            ranked.add(frame);
        }
        if (null == current)
        {
            startNext(frame.timePs);
        }
        return true;
    }

    /**
     * A pFabric port makes room for a frame by dropping waiting frames of higher rank, highest first; a
     * strict-priority port drops the arriving frame (tail drop).
     *
     * @return true if the frame now fits.
     */
    private boolean makeRoom(final Frame frame)
    {
        if (null == ranked)
        {
            return false;
        }
        while (portDepthBytes + frame.wireBytes > bufferLimitBytes)
        {
            final Frame worst = ranked.worst();
            if (null == worst || worst.rank <= frame.rank)
            {
                return false;
            }
            ranked.remove(worst);
            final int level = Math.min(worst.priority, topLevel);
            depthBytes[level] -= worst.wireBytes;
            portDepthBytes -= worst.wireBytes;
            drops[level]++;
            fabric.onEvicted(worst);
        }
        return true;
    }

    private void startNext(final long readyPs)
    {
        final Frame frame = null == ranked ? pollHighest() : ranked.poll();
        if (null != frame)
        {
            current = frame;
            final long endPs = link.start(readyPs, frame.wireBytes);
            frame.stage = Frame.STAGE_PORT;
            frame.port = this;
            scheduler.schedule(LinkSerializer.ceilNs(endPs), frame);
        }
    }

    private Frame pollHighest()
    {
        for (int level = topLevel; level >= 0; level--)
        {
            final Frame frame = queues[level].poll();
            if (null != frame)
            {
                return frame;
            }
        }
        return null;
    }

    /**
     * The frame on this port's link has left the switch: it is on the wire, and the next one starts.
     *
     * @param frame the frame that was on the link.
     */
    void onTransmitComplete(final Frame frame)
    {
        current = null;
        frame.port = null;
        link.finish();
        final long endPs = link.endPs();
        sentPackets++;
        depthBytes[Math.min(frame.priority, topLevel)] -= frame.wireBytes;
        portDepthBytes -= frame.wireBytes;
        frame.stage = null == next ? Frame.STAGE_DOWNLINK : Frame.STAGE_HOP;
        frame.nextSwitch = next;
        frame.timePs = endPs + propagationPs;
        scheduler.schedule(LinkSerializer.ceilNs(frame.timePs), frame);
        startNext(endPs);
    }
}
