package dev.homa.core.grant;

import dev.homa.nic.frame.PriorityMapping;

/**
 * Knobs of the {@link GrantScheduler}. The values come from the transport's context, which holds their defaults
 * (HomaModule's, protocol.md section 14) and system properties; a new config holds zeros. {@link #validate()} is the
 * one rule set for them: the context's {@code conclude()} calls it, as does the scheduler's constructor, and it names
 * the first bad knob, its value and the rule. The scheduler copies the values, so changing a config after
 * construction has no effect on it.
 */
public final class GrantConfig
{
    /**
     * Hard cap on active (granted) messages: HOMA_MAX_GRANTS.
     */
    public static final int MAX_OVERCOMMIT = 8;

    /**
     * Peers with grantable messages the scheduler preallocates queues for; more are created on demand.
     */
    public static final int INITIAL_PEER_CAPACITY_DEFAULT = 64;

    /**
     * How long after the last message too short to need grants the budget stays narrow
     * ({@link #bulkIncomingBytes(int)}): long enough that a stream of short RPCs between long messages
     * keeps it narrow throughout, not only while one of them is in the receive queue.
     */
    public static final long SHORT_MESSAGE_HOLD_NS = 10_000_000L;

    private int overcommit;
    private int maxIncomingBytes;
    private int bulkIncomingBytes;
    private int windowBytes;
    private int maxPacketPayload;
    private int maxScheduledPriority;
    private int maxActivePerPeer;
    private int maxIncomingBytesPerPeer;
    private int fifoGrantFractionPerMille;
    private int fifoGrantIncrement;
    private long linkBitsPerSecond;
    private int initialPeerCapacity = INITIAL_PEER_CAPACITY_DEFAULT;
    private boolean strictOvercommit;
    private boolean fifoOrder;

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
     * A wider incoming budget for while no short message comes: the budget bounds the granted bytes a newly arrived
     * message waits behind at the receiver, which matters to a message too short to need grants and to nothing else,
     * so while none has arrived for {@link #SHORT_MESSAGE_HOLD_NS} the scheduler grants up to this
     * (each peer's cap widened in proportion), and it narrows back to {@link #maxIncomingBytes()} as soon as one
     * arrives. Bytes granted before then cannot be taken back: the first short message after a quiet spell may wait
     * behind the wider budget.
     *
     * @param bulkIncomingBytes at least {@link #maxIncomingBytes()}; 0 (default) = the same, one budget always.
     * @return this for a fluent API.
     */
    public GrantConfig bulkIncomingBytes(final int bulkIncomingBytes)
    {
        this.bulkIncomingBytes = bulkIncomingBytes;
        return this;
    }

    /**
     * @return the budget while no short message comes; 0 = {@link #maxIncomingBytes()}.
     */
    public int bulkIncomingBytes()
    {
        return bulkIncomingBytes;
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
     * @param maxScheduledPriority highest level used for scheduled data, 0 to {@code PriorityMapping.LEVELS - 1}.
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
        check(overcommit >= 1 && overcommit <= MAX_OVERCOMMIT, "overcommit", overcommit,
            "1.." + MAX_OVERCOMMIT + " (HOMA_MAX_GRANTS)");
        check(maxPacketPayload >= 1, "maxPacketPayload", maxPacketPayload, ">= 1");
        check((long)maxIncomingBytes >= (long)maxPacketPayload * (overcommit + 1), "maxIncomingBytes",
            maxIncomingBytes, ">= maxPacketPayload * (overcommit + 1) = " + (long)maxPacketPayload * (overcommit + 1) +
            ", so every window holds a packet");
        check(0 == bulkIncomingBytes || bulkIncomingBytes >= maxIncomingBytes, "bulkIncomingBytes", bulkIncomingBytes,
            "0 (one budget) or >= maxIncomingBytes " + maxIncomingBytes);
        check(0 == maxIncomingBytesPerPeer ||
            (maxIncomingBytesPerPeer >= maxPacketPayload && maxIncomingBytesPerPeer <= maxIncomingBytes),
            "maxIncomingBytesPerPeer", maxIncomingBytesPerPeer,
            "0 (the whole budget) or maxPacketPayload " + maxPacketPayload + " .. maxIncomingBytes " +
            maxIncomingBytes);
        check(0 == windowBytes || windowBytes >= maxPacketPayload, "windowBytes", windowBytes,
            "0 (dynamic) or >= maxPacketPayload " + maxPacketPayload);
        check(maxScheduledPriority >= 0 && maxScheduledPriority < PriorityMapping.LEVELS, "maxScheduledPriority",
            maxScheduledPriority, "0.." + (PriorityMapping.LEVELS - 1));
        check(maxActivePerPeer >= 1, "maxActivePerPeer", maxActivePerPeer, ">= 1");
        check(fifoGrantFractionPerMille >= 0 && fifoGrantFractionPerMille <= 1000, "fifoGrantFractionPerMille",
            fifoGrantFractionPerMille, "0..1000");
        check(fifoGrantIncrement >= (fifoGrantFractionPerMille > 0 ? 1 : 0), "fifoGrantIncrement", fifoGrantIncrement,
            fifoGrantFractionPerMille > 0 ? "> 0 when fifoGrantFractionPerMille > 0" : ">= 0");
        check(linkBitsPerSecond >= 1, "linkBitsPerSecond", linkBitsPerSecond, "> 0");
        check(initialPeerCapacity >= 1, "initialPeerCapacity", initialPeerCapacity, ">= 1");
        return this;
    }

    private static void check(final boolean ok, final String name, final long value, final String rule)
    {
        if (!ok)
        {
            throw new IllegalArgumentException(name + " = " + value + " is invalid: must be " + rule);
        }
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String toString()
    {
        return "GrantConfig{" +
            "overcommit=" + overcommit +
            ", maxIncomingBytes=" + maxIncomingBytes +
            ", bulkIncomingBytes=" + bulkIncomingBytes +
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
