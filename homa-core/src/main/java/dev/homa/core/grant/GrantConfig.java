package dev.homa.core.grant;

/**
 * Knobs of the {@link GrantScheduler}; defaults are HomaModule's (protocol.md section 14). Fluent setters record
 * values; {@link #validate()} (called by the scheduler's constructor) checks them all and names the first bad one.
 * The scheduler copies the values, so changing a config after construction has no effect on it.
 */
public final class GrantConfig
{
    /**
     * Hard cap on active (granted) messages: HOMA_MAX_GRANTS.
     */
    public static final int MAX_OVERCOMMIT = 8;

    /**
     * Highest priority level on the wire (HOMA_MAX_PRIORITIES - 1).
     */
    public static final int MAX_PRIORITY = 7;

    /**
     * Kernel max_overcommit.
     */
    public static final int OVERCOMMIT_DEFAULT = 8;

    /**
     * Kernel max_incoming.
     */
    public static final int MAX_INCOMING_BYTES_DEFAULT = 400_000;

    /**
     * Kernel window: 0 selects the dynamic window max_incoming / (active + 1).
     */
    public static final int WINDOW_BYTES_DEFAULT = 0;

    /**
     * Payload of a full DATA packet on a 1500-byte MTU (1500 - 20 IP - 56 DATA header = 1424, kept round).
     */
    public static final int MAX_PACKET_PAYLOAD_DEFAULT = 1400;

    /**
     * Kernel max_sched_prio.
     */
    public static final int MAX_SCHEDULED_PRIORITY_DEFAULT = 3;

    /**
     * Kernel max_rpcs_per_peer.
     */
    public static final int MAX_ACTIVE_PER_PEER_DEFAULT = 1;

    /**
     * Kernel grant_fifo_fraction (per mille of link bandwidth).
     */
    public static final int FIFO_GRANT_FRACTION_PER_MILLE_DEFAULT = 50;

    /**
     * Kernel fifo_grant_increment.
     */
    public static final int FIFO_GRANT_INCREMENT_DEFAULT = 50_000;

    /**
     * Kernel link_mbps (25 Gbit/s).
     */
    public static final long LINK_BITS_PER_SECOND_DEFAULT = 25_000_000_000L;

    /**
     * Peers with grantable messages the scheduler preallocates queues for; more are created on demand.
     */
    public static final int INITIAL_PEER_CAPACITY_DEFAULT = 64;

    private int overcommit = OVERCOMMIT_DEFAULT;
    private int maxIncomingBytes = MAX_INCOMING_BYTES_DEFAULT;
    private int windowBytes = WINDOW_BYTES_DEFAULT;
    private int maxPacketPayload = MAX_PACKET_PAYLOAD_DEFAULT;
    private int maxScheduledPriority = MAX_SCHEDULED_PRIORITY_DEFAULT;
    private int maxActivePerPeer = MAX_ACTIVE_PER_PEER_DEFAULT;
    private int maxIncomingBytesPerPeer;
    private int fifoGrantFractionPerMille = FIFO_GRANT_FRACTION_PER_MILLE_DEFAULT;
    private int fifoGrantIncrement = FIFO_GRANT_INCREMENT_DEFAULT;
    private long linkBitsPerSecond = LINK_BITS_PER_SECOND_DEFAULT;
    private int initialPeerCapacity = INITIAL_PEER_CAPACITY_DEFAULT;
    private boolean strictOvercommit = false;
    private boolean fifoOrder = false;

    /**
     * @param overcommit most messages granted at the same time (K), 1 to {@link #MAX_OVERCOMMIT}.
     * @return this for a fluent API.
     */
    public GrantConfig overcommit(final int overcommit)
    {
        this.overcommit = overcommit;
        return this;
    }

    /**
     * @return most messages granted at the same time (K).
     */
    public int overcommit()
    {
        return overcommit;
    }

    /**
     * @param maxIncomingBytes cap on the sum over messages of bytes granted (or unscheduled) but not yet received.
     * @return this for a fluent API.
     */
    public GrantConfig maxIncomingBytes(final int maxIncomingBytes)
    {
        this.maxIncomingBytes = maxIncomingBytes;
        return this;
    }

    /**
     * @return cap on the sum over messages of bytes granted (or unscheduled) but not yet received.
     */
    public int maxIncomingBytes()
    {
        return maxIncomingBytes;
    }

    /**
     * Fair share of the incoming budget: the incoming bytes of one sending peer's messages (those that carry an
     * {@link IncomingAccount}) count toward {@link #maxIncomingBytes()} only up to this cap, and that peer is granted
     * no further bytes beyond it. So one peer, honest or not (a forged first packet may claim a megabyte of
     * unscheduled bytes that never come), cannot take the whole budget from the others.
     *
     * @param maxIncomingBytesPerPeer the cap; 0 (default) = {@link #maxIncomingBytes()}, no separate cap.
     * @return this for a fluent API.
     */
    public GrantConfig maxIncomingBytesPerPeer(final int maxIncomingBytesPerPeer)
    {
        this.maxIncomingBytesPerPeer = maxIncomingBytesPerPeer;
        return this;
    }

    /**
     * @return the per-peer cap on incoming bytes; 0 = the whole budget.
     */
    public int maxIncomingBytesPerPeer()
    {
        return maxIncomingBytesPerPeer;
    }

    /**
     * @param windowBytes granted-but-not-received bytes each active message is kept at; 0 = dynamic
     *                    {@code maxIncomingBytes / (active + 1)}.
     * @return this for a fluent API.
     */
    public GrantConfig windowBytes(final int windowBytes)
    {
        this.windowBytes = windowBytes;
        return this;
    }

    /**
     * @return fixed grant window, or 0 for the dynamic window.
     */
    public int windowBytes()
    {
        return windowBytes;
    }

    /**
     * @param maxPacketPayload payload bytes of a full DATA packet; grants are rounded up to whole packets.
     * @return this for a fluent API.
     */
    public GrantConfig maxPacketPayload(final int maxPacketPayload)
    {
        this.maxPacketPayload = maxPacketPayload;
        return this;
    }

    /**
     * @return payload bytes of a full DATA packet.
     */
    public int maxPacketPayload()
    {
        return maxPacketPayload;
    }

    /**
     * @param maxScheduledPriority highest level used for scheduled data, 0 to {@link #MAX_PRIORITY}.
     * @return this for a fluent API.
     */
    public GrantConfig maxScheduledPriority(final int maxScheduledPriority)
    {
        this.maxScheduledPriority = maxScheduledPriority;
        return this;
    }

    /**
     * @return highest level used for scheduled data.
     */
    public int maxScheduledPriority()
    {
        return maxScheduledPriority;
    }

    /**
     * @param maxActivePerPeer active messages one peer gets before messages of other peers are preferred.
     * @return this for a fluent API.
     */
    public GrantConfig maxActivePerPeer(final int maxActivePerPeer)
    {
        this.maxActivePerPeer = maxActivePerPeer;
        return this;
    }

    /**
     * @return active messages one peer gets before messages of other peers are preferred.
     */
    public int maxActivePerPeer()
    {
        return maxActivePerPeer;
    }

    /**
     * @param fifoGrantFractionPerMille share of link bandwidth granted to the oldest message, 0 (off) to 1000.
     * @return this for a fluent API.
     */
    public GrantConfig fifoGrantFractionPerMille(final int fifoGrantFractionPerMille)
    {
        this.fifoGrantFractionPerMille = fifoGrantFractionPerMille;
        return this;
    }

    /**
     * @return share of link bandwidth granted to the oldest message, per mille; 0 = FIFO grants off.
     */
    public int fifoGrantFractionPerMille()
    {
        return fifoGrantFractionPerMille;
    }

    /**
     * @param fifoGrantIncrement bytes added by one FIFO grant.
     * @return this for a fluent API.
     */
    public GrantConfig fifoGrantIncrement(final int fifoGrantIncrement)
    {
        this.fifoGrantIncrement = fifoGrantIncrement;
        return this;
    }

    /**
     * @return bytes added by one FIFO grant.
     */
    public int fifoGrantIncrement()
    {
        return fifoGrantIncrement;
    }

    /**
     * @param linkBitsPerSecond receiver's downlink speed; sets the FIFO grant interval.
     * @return this for a fluent API.
     */
    public GrantConfig linkBitsPerSecond(final long linkBitsPerSecond)
    {
        this.linkBitsPerSecond = linkBitsPerSecond;
        return this;
    }

    /**
     * @return receiver's downlink speed in bits per second.
     */
    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    /**
     * @param initialPeerCapacity peers with grantable messages preallocated for; beyond it queues are created on
     *                            demand (bounded by the engine's peer limit).
     * @return this for a fluent API.
     */
    public GrantConfig initialPeerCapacity(final int initialPeerCapacity)
    {
        this.initialPeerCapacity = initialPeerCapacity;
        return this;
    }

    /**
     * @return peers with grantable messages preallocated for.
     */
    public int initialPeerCapacity()
    {
        return initialPeerCapacity;
    }

    /**
     * Strict overcommitment: never let more than {@code overcommit} messages hold scheduled grants whose data has not
     * all arrived. The kernel (default, false) keeps a message in its K slots until it is fully received, so only a
     * message displaced by a shorter one, or given a FIFO grant, can hold grants outside them for a while. Strict
     * mode makes a message without data on the way wait for such a holder to drain too (FIFO grants stay exempt: they
     * are the starvation escape).
     *
     * @param strictOvercommit true for the strict limit.
     * @return this for a fluent API.
     */
    public GrantConfig strictOvercommit(final boolean strictOvercommit)
    {
        this.strictOvercommit = strictOvercommit;
        return this;
    }

    /**
     * @return true if at most {@code overcommit} messages may hold undelivered scheduled grants.
     */
    public boolean strictOvercommit()
    {
        return strictOvercommit;
    }

    /**
     * Rank grant candidates by age alone (first come, first granted) instead of SRPT, for experiments that measure
     * what SRPT buys (the simulator's FIFO-grant ablation); no kernel does this. Default false.
     *
     * @param fifoOrder true for first come, first granted.
     * @return this for a fluent API.
     */
    public GrantConfig fifoOrder(final boolean fifoOrder)
    {
        this.fifoOrder = fifoOrder;
        return this;
    }

    /**
     * @return true if candidates are ranked by age alone.
     */
    public boolean fifoOrder()
    {
        return fifoOrder;
    }

    /**
     * FIFO grant period: the link time of {@code fifoGrantIncrement * 1000 / fifoGrantFractionPerMille} bytes, so
     * FIFO grants use that fraction of the link.
     *
     * @return nanoseconds between FIFO grants, or 0 when FIFO grants are off.
     */
    public long fifoGrantIntervalNs()
    {
        if (0 == fifoGrantFractionPerMille)
        {
            return 0;
        }

        final double bytes = (double)fifoGrantIncrement * 1000.0 / fifoGrantFractionPerMille;
        return Math.max(1L, (long)Math.ceil(bytes * 8.0 * 1e9 / linkBitsPerSecond));
    }

    /**
     * Check every knob and their combinations.
     *
     * @return this for a fluent API.
     * @throws IllegalArgumentException naming the first bad knob and its value.
     */
    public GrantConfig validate()
    {
        if (overcommit < 1 || overcommit > MAX_OVERCOMMIT)
        {
            throw new IllegalArgumentException("overcommit must be in [1, " + MAX_OVERCOMMIT + "]: " + overcommit);
        }
        if (maxPacketPayload < 1)
        {
            throw new IllegalArgumentException("maxPacketPayload must be >= 1: " + maxPacketPayload);
        }
        if ((long)maxIncomingBytes < (long)maxPacketPayload * (overcommit + 1))
        {
            throw new IllegalArgumentException("maxIncomingBytes must be >= maxPacketPayload * (overcommit + 1) = " +
                ((long)maxPacketPayload * (overcommit + 1)) + " so every window holds a packet: " + maxIncomingBytes);
        }
        if (maxIncomingBytesPerPeer < 0 ||
            (0 != maxIncomingBytesPerPeer && maxIncomingBytesPerPeer < maxPacketPayload))
        {
            throw new IllegalArgumentException("maxIncomingBytesPerPeer must be 0 (the whole budget) or >= " +
                "maxPacketPayload " + maxPacketPayload + ": " + maxIncomingBytesPerPeer);
        }
        if (windowBytes < 0)
        {
            throw new IllegalArgumentException("windowBytes must be >= 0 (0 = dynamic): " + windowBytes);
        }
        if (windowBytes > 0 && windowBytes < maxPacketPayload)
        {
            throw new IllegalArgumentException(
                "windowBytes must be 0 (dynamic) or >= maxPacketPayload " + maxPacketPayload + ": " + windowBytes);
        }
        if (maxScheduledPriority < 0 || maxScheduledPriority > MAX_PRIORITY)
        {
            throw new IllegalArgumentException(
                "maxScheduledPriority must be in [0, " + MAX_PRIORITY + "]: " + maxScheduledPriority);
        }
        if (maxActivePerPeer < 1)
        {
            throw new IllegalArgumentException("maxActivePerPeer must be >= 1: " + maxActivePerPeer);
        }
        if (fifoGrantFractionPerMille < 0 || fifoGrantFractionPerMille > 1000)
        {
            throw new IllegalArgumentException(
                "fifoGrantFractionPerMille must be in [0, 1000]: " + fifoGrantFractionPerMille);
        }
        if (fifoGrantIncrement < 0)
        {
            throw new IllegalArgumentException("fifoGrantIncrement must be >= 0: " + fifoGrantIncrement);
        }
        if (fifoGrantFractionPerMille > 0 && fifoGrantIncrement < 1)
        {
            throw new IllegalArgumentException(
                "fifoGrantIncrement must be > 0 when fifoGrantFractionPerMille > 0: " + fifoGrantIncrement);
        }
        if (linkBitsPerSecond < 1)
        {
            throw new IllegalArgumentException("linkBitsPerSecond must be > 0: " + linkBitsPerSecond);
        }
        if (initialPeerCapacity < 1)
        {
            throw new IllegalArgumentException("initialPeerCapacity must be >= 1: " + initialPeerCapacity);
        }

        return this;
    }

    /**
     * {@inheritDoc}
     */
    public String toString()
    {
        return "GrantConfig{" +
            "overcommit=" + overcommit +
            ", maxIncomingBytes=" + maxIncomingBytes +
            ", maxIncomingBytesPerPeer=" + maxIncomingBytesPerPeer +
            ", windowBytes=" + windowBytes +
            ", maxPacketPayload=" + maxPacketPayload +
            ", maxScheduledPriority=" + maxScheduledPriority +
            ", maxActivePerPeer=" + maxActivePerPeer +
            ", fifoGrantFractionPerMille=" + fifoGrantFractionPerMille +
            ", fifoGrantIncrement=" + fifoGrantIncrement +
            ", linkBitsPerSecond=" + linkBitsPerSecond +
            ", initialPeerCapacity=" + initialPeerCapacity +
            ", strictOvercommit=" + strictOvercommit +
            ", fifoOrder=" + fifoOrder +
            '}';
    }
}
