package dev.homa.nic.loopback;

/**
 * The shape and timing of a timed {@link Fabric}: racks of hosts, each rack behind a top-of-rack (ToR) switch, the
 * ToRs joined by spine switches, every switch store-and-forward with output-queued egress ports.
 * <pre>
 *  host --host link--> ToR --fabric link--> spine --fabric link--> ToR --host link--> host
 *                       \______________ same rack: ToR --host link--> host _____________/
 * </pre>
 * A frame between racks goes up to a spine picked at random per packet (packet spraying, seeded), so the spines
 * share the load evenly without per-flow hashing. Each hop costs the serialization of the frame at the egress
 * port's link rate, the link's propagation delay, and the fixed latency of the switch it enters.
 * <p>
 * Every egress port holds {@link #priorityLevels()} strict-priority FIFO queues sharing one buffer with tail drop
 * ({@link QueueDiscipline#STRICT_PRIORITY}), or one queue served by rank, lowest first, that drops the highest rank
 * when full ({@link QueueDiscipline#RANK}, pFabric's switch). Buffers are in wire bytes; 0 means unlimited.
 * <p>
 * With one rack and no spines this is the single output-queued switch every fabric had before topologies:
 * {@link #singleSwitch(int, long, long, long)}.
 */
public final class Topology
{
    /**
     * How an egress port orders and drops frames.
     */
    public enum QueueDiscipline
    {
        /**
         * Priority levels served strictly highest first, FIFO within a level; tail drop at the buffer limit.
         */
        STRICT_PRIORITY,

        /**
         * One queue served by rank, lowest first, and within the flow of that frame the earliest arrival first (so
         * a flow's packets stay in order); a full buffer drops the frame of highest rank, the arriving one
         * included. pFabric's switch.
         */
        RANK
    }

    private final int racks;
    private final int hostsPerRack;
    private final int spines;
    private final long hostLinkBitsPerSecond;
    private final long fabricLinkBitsPerSecond;
    private final long hostLinkDelayNs;
    private final long fabricLinkDelayNs;
    private final long switchLatencyNs;
    private final long hostPortBufferBytes;
    private final long fabricPortBufferBytes;
    private final int priorityLevels;
    private final QueueDiscipline discipline;
    private final long sprayingSeed;

    private Topology(final Builder builder)
    {
        racks = builder.racks;
        hostsPerRack = builder.hostsPerRack;
        spines = builder.spines;
        hostLinkBitsPerSecond = builder.hostLinkBitsPerSecond;
        fabricLinkBitsPerSecond = builder.fabricLinkBitsPerSecond;
        hostLinkDelayNs = builder.hostLinkDelayNs;
        fabricLinkDelayNs = builder.fabricLinkDelayNs;
        switchLatencyNs = builder.switchLatencyNs;
        hostPortBufferBytes = builder.hostPortBufferBytes;
        fabricPortBufferBytes = builder.fabricPortBufferBytes;
        priorityLevels = builder.priorityLevels;
        discipline = builder.discipline;
        sprayingSeed = builder.sprayingSeed;
    }

    /**
     * @return a builder: one rack of one host, no spines, 10 Gb/s links without delay, 8 levels, unlimited buffers.
     */
    public static Builder builder()
    {
        return new Builder();
    }

    /**
     * The single switch of a fabric without a topology: every host one hop from every other.
     *
     * @param hosts              number of hosts.
     * @param linkBitsPerSecond  rate of every link.
     * @param propagationDelayNs delay of each hop (host to switch, switch to host), switch latency included.
     * @param portBufferBytes    buffer of each egress port, 0 for unlimited.
     * @return the topology.
     */
    public static Topology singleSwitch(
        final int hosts, final long linkBitsPerSecond, final long propagationDelayNs, final long portBufferBytes)
    {
        return builder().racks(1).hostsPerRack(hosts).spines(0).hostLinkBitsPerSecond(linkBitsPerSecond)
            .hostLinkDelayNs(propagationDelayNs).switchLatencyNs(0).hostPortBufferBytes(portBufferBytes).build();
    }

    /**
     * @return racks.
     */
    public int racks()
    {
        return racks;
    }

    /**
     * @return hosts in each rack.
     */
    public int hostsPerRack()
    {
        return hostsPerRack;
    }

    /**
     * @return hosts in all.
     */
    public int hosts()
    {
        return racks * hostsPerRack;
    }

    /**
     * @return spine switches (0 with a single rack).
     */
    public int spines()
    {
        return spines;
    }

    /**
     * @return rate of the links between hosts and their ToR.
     */
    public long hostLinkBitsPerSecond()
    {
        return hostLinkBitsPerSecond;
    }

    /**
     * @return rate of the links between ToRs and spines.
     */
    public long fabricLinkBitsPerSecond()
    {
        return fabricLinkBitsPerSecond;
    }

    /**
     * @return propagation delay of a host link.
     */
    public long hostLinkDelayNs()
    {
        return hostLinkDelayNs;
    }

    /**
     * @return propagation delay of a ToR-spine link.
     */
    public long fabricLinkDelayNs()
    {
        return fabricLinkDelayNs;
    }

    /**
     * @return fixed latency of every switch a frame enters.
     */
    public long switchLatencyNs()
    {
        return switchLatencyNs;
    }

    /**
     * @return buffer of each ToR port towards a host, in wire bytes; 0 for unlimited.
     */
    public long hostPortBufferBytes()
    {
        return hostPortBufferBytes;
    }

    /**
     * @return buffer of each port between a ToR and a spine, in wire bytes; 0 for unlimited.
     */
    public long fabricPortBufferBytes()
    {
        return fabricPortBufferBytes;
    }

    /**
     * @return priority queues per egress port (1 to {@link SwitchPort#LEVELS}); levels above the highest share it.
     */
    public int priorityLevels()
    {
        return priorityLevels;
    }

    /**
     * @return how egress ports order and drop frames.
     */
    public QueueDiscipline discipline()
    {
        return discipline;
    }

    /**
     * @return seed of the per-packet choice of spine.
     */
    public long sprayingSeed()
    {
        return sprayingSeed;
    }

    /**
     * @param hostIndex a host.
     * @return its rack.
     */
    public int rackOf(final int hostIndex)
    {
        return hostIndex / hostsPerRack;
    }

    /**
     * The time a frame takes from the first bit leaving the sender's NIC to its last bit reaching the receiver on an
     * idle network: serialization at each hop (store and forward) plus every link delay and switch latency.
     *
     * @param wireBytes  bytes of the frame on the wire.
     * @param sameRack   true if sender and receiver share a ToR.
     * @return picoseconds.
     */
    public long idleFrameLatencyPs(final int wireBytes, final boolean sameRack)
    {
        final long hostPs = serializationPs(wireBytes, hostLinkBitsPerSecond);
        long ps = 2 * (hostPs + hostLinkDelayNs * 1000L) + switchLatencyNs * 1000L;
        if (!sameRack)
        {
            ps += 2 * (serializationPs(wireBytes, fabricLinkBitsPerSecond) + (fabricLinkDelayNs + switchLatencyNs) *
                1000L);
        }
        return ps;
    }

    /**
     * @param wireBytes     bytes on the wire.
     * @param bitsPerSecond link rate.
     * @return picoseconds to serialize them, rounded down.
     */
    public static long serializationPs(final int wireBytes, final long bitsPerSecond)
    {
        return wireBytes * 8L * LinkSerializer.PS_PER_SECOND / bitsPerSecond;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String toString()
    {
        return "Topology{racks=" + racks + ", hostsPerRack=" + hostsPerRack + ", spines=" + spines +
            ", hostLinkBitsPerSecond=" + hostLinkBitsPerSecond + ", fabricLinkBitsPerSecond=" +
            fabricLinkBitsPerSecond + ", hostLinkDelayNs=" + hostLinkDelayNs + ", fabricLinkDelayNs=" +
            fabricLinkDelayNs + ", switchLatencyNs=" + switchLatencyNs + ", hostPortBufferBytes=" +
            hostPortBufferBytes + ", fabricPortBufferBytes=" + fabricPortBufferBytes + ", priorityLevels=" +
            priorityLevels + ", discipline=" + discipline + ", sprayingSeed=" + sprayingSeed + '}';
    }

    /**
     * Fluent configuration of a {@link Topology}, validated by {@link #build()}.
     */
    public static final class Builder
    {
        private int racks = 1;
        private int hostsPerRack = 1;
        private int spines;
        private long hostLinkBitsPerSecond = Fabric.DEFAULT_LINK_BITS_PER_SECOND;
        private long fabricLinkBitsPerSecond = Fabric.DEFAULT_LINK_BITS_PER_SECOND;
        private long hostLinkDelayNs;
        private long fabricLinkDelayNs;
        private long switchLatencyNs;
        private long hostPortBufferBytes;
        private long fabricPortBufferBytes;
        private int priorityLevels = SwitchPort.LEVELS;
        private QueueDiscipline discipline = QueueDiscipline.STRICT_PRIORITY;
        private long sprayingSeed = 1;

        private Builder()
        {
        }

        /**
         * @param racks number of racks (ToR switches).
         * @return this.
         */
        public Builder racks(final int racks)
        {
            this.racks = racks;
            return this;
        }

        /**
         * @param hostsPerRack hosts behind each ToR.
         * @return this.
         */
        public Builder hostsPerRack(final int hostsPerRack)
        {
            this.hostsPerRack = hostsPerRack;
            return this;
        }

        /**
         * @param spines spine switches; at least 1 with more than one rack, 0 with one.
         * @return this.
         */
        public Builder spines(final int spines)
        {
            this.spines = spines;
            return this;
        }

        /**
         * @param bitsPerSecond rate of the host links.
         * @return this.
         */
        public Builder hostLinkBitsPerSecond(final long bitsPerSecond)
        {
            this.hostLinkBitsPerSecond = bitsPerSecond;
            return this;
        }

        /**
         * @param bitsPerSecond rate of the ToR-spine links.
         * @return this.
         */
        public Builder fabricLinkBitsPerSecond(final long bitsPerSecond)
        {
            this.fabricLinkBitsPerSecond = bitsPerSecond;
            return this;
        }

        /**
         * @param delayNs propagation delay of a host link (host NIC and software delays may be folded in).
         * @return this.
         */
        public Builder hostLinkDelayNs(final long delayNs)
        {
            this.hostLinkDelayNs = delayNs;
            return this;
        }

        /**
         * @param delayNs propagation delay of a ToR-spine link.
         * @return this.
         */
        public Builder fabricLinkDelayNs(final long delayNs)
        {
            this.fabricLinkDelayNs = delayNs;
            return this;
        }

        /**
         * @param latencyNs fixed latency of each switch a frame enters.
         * @return this.
         */
        public Builder switchLatencyNs(final long latencyNs)
        {
            this.switchLatencyNs = latencyNs;
            return this;
        }

        /**
         * @param bytes buffer of each ToR port towards a host; 0 for unlimited.
         * @return this.
         */
        public Builder hostPortBufferBytes(final long bytes)
        {
            this.hostPortBufferBytes = bytes;
            return this;
        }

        /**
         * @param bytes buffer of each ToR-spine port (both directions); 0 for unlimited.
         * @return this.
         */
        public Builder fabricPortBufferBytes(final long bytes)
        {
            this.fabricPortBufferBytes = bytes;
            return this;
        }

        /**
         * @param levels priority queues per port, 1 to {@link SwitchPort#LEVELS}.
         * @return this.
         */
        public Builder priorityLevels(final int levels)
        {
            this.priorityLevels = levels;
            return this;
        }

        /**
         * @param discipline how ports order and drop frames.
         * @return this.
         */
        public Builder discipline(final QueueDiscipline discipline)
        {
            this.discipline = discipline;
            return this;
        }

        /**
         * @param seed seed of the per-packet spine choice.
         * @return this.
         */
        public Builder sprayingSeed(final long seed)
        {
            this.sprayingSeed = seed;
            return this;
        }

        /**
         * @return the topology.
         * @throws IllegalArgumentException naming the first invalid setting.
         */
        public Topology build()
        {
            require(racks >= 1, "racks must be >= 1: " + racks);
            require(hostsPerRack >= 1, "hostsPerRack must be >= 1: " + hostsPerRack);
            require((long)racks * hostsPerRack <= Fabric.MAX_HOSTS, "too many hosts: " + (long)racks * hostsPerRack);
            require(1 == racks ? 0 == spines : spines >= 1,
                "spines must be 0 with one rack and >= 1 with more: " + spines);
            require(hostLinkBitsPerSecond > 0, "hostLinkBitsPerSecond must be positive: " + hostLinkBitsPerSecond);
            require(fabricLinkBitsPerSecond > 0,
                "fabricLinkBitsPerSecond must be positive: " + fabricLinkBitsPerSecond);
            require(hostLinkDelayNs >= 0, "hostLinkDelayNs must be >= 0: " + hostLinkDelayNs);
            require(fabricLinkDelayNs >= 0, "fabricLinkDelayNs must be >= 0: " + fabricLinkDelayNs);
            require(switchLatencyNs >= 0, "switchLatencyNs must be >= 0: " + switchLatencyNs);
            require(hostPortBufferBytes >= 0, "hostPortBufferBytes must be >= 0: " + hostPortBufferBytes);
            require(fabricPortBufferBytes >= 0, "fabricPortBufferBytes must be >= 0: " + fabricPortBufferBytes);
            require(priorityLevels >= 1 && priorityLevels <= SwitchPort.LEVELS,
                "priorityLevels must be in 1.." + SwitchPort.LEVELS + ": " + priorityLevels);
            require(null != discipline, "discipline must be set");
            return new Topology(this);
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
