package dev.homa.core;

import dev.homa.core.grant.GrantConfig;
import dev.homa.nic.NicDriver;

/**
 * The grant settings of a transport's {@link HomaTransport.Context} (the kernel's {@code homa_grant} and incast
 * handling): unscheduled bytes, overcommitment, the incoming budget and its shares, FIFO grants. Each has its system
 * property and default; {@link #concludeGrants(int, NicDriver)} resolves the derived ones and builds the
 * {@link GrantConfig} the scheduler runs with, whose {@link GrantConfig#validate()} is the one rule set for them.
 *
 * @param <C> the concrete context, which every setter returns.
 */
abstract class GrantSettings<C extends GrantSettings<C>> extends TimerSettings<C>
{
    /**
     * How long the default incoming budget keeps the downlink busy: the kernel's {@code max_incoming} (400,000 bytes)
     * at its {@code link_mbps} default (25 Gb/s). The budget follows the link as the unscheduled bytes do: a fixed
     * 400,000 bytes on a 10 Gb/s link would let 35 round trips of granted data queue at the receiver's switch port,
     * where a message granted at the lowest levels waits behind all of it.
     */
    public static final long MAX_INCOMING_LINK_NS = 128_000L;

    /** System property of {@link #rttNs(long)}. */
    public static final String RTT_PROP_NAME = "homa.rtt";
    /** Default of {@link #rttNs(long)}. */
    public static final long RTT_DEFAULT_NS = 8_000L;

    /** System property of {@link #unscheduledBytes(int)}. */
    public static final String UNSCHEDULED_BYTES_PROP_NAME = "homa.unscheduled.bytes";
    /** Default of {@link #unscheduledBytes(int)}. */
    public static final int UNSCHEDULED_BYTES_DEFAULT = 0;

    /** System property of {@link #overcommit(int)}. */
    public static final String OVERCOMMIT_PROP_NAME = "homa.overcommit";
    /** Default of {@link #overcommit(int)}. */
    public static final int OVERCOMMIT_DEFAULT = 8;

    /** System property of {@link #maxIncomingBytes(int)}. */
    public static final String MAX_INCOMING_BYTES_PROP_NAME = "homa.max.incoming.bytes";
    /** Default of {@link #maxIncomingBytes(int)}. */
    public static final int MAX_INCOMING_BYTES_DEFAULT = 0;

    /** System property of {@link #bulkIncomingBytes(int)}. */
    public static final String BULK_INCOMING_BYTES_PROP_NAME = "homa.bulk.incoming.bytes";
    /** Default of {@link #bulkIncomingBytes(int)}. */
    public static final int BULK_INCOMING_BYTES_DEFAULT = 0;

    /** System property of {@link #maxIncomingBytesPerPeer(int)}. */
    public static final String MAX_INCOMING_BYTES_PER_PEER_PROP_NAME = "homa.max.incoming.bytes.per.peer";
    /** Default of {@link #maxIncomingBytesPerPeer(int)}. */
    public static final int MAX_INCOMING_BYTES_PER_PEER_DEFAULT = 0;

    /** System property of {@link #windowBytes(int)}. */
    public static final String WINDOW_BYTES_PROP_NAME = "homa.window.bytes";
    /** Default of {@link #windowBytes(int)}. */
    public static final int WINDOW_BYTES_DEFAULT = 0;

    /** System property of {@link #maxActivePerPeer(int)}. */
    public static final String MAX_ACTIVE_PER_PEER_PROP_NAME = "homa.max.active.per.peer";
    /** Default of {@link #maxActivePerPeer(int)}. */
    public static final int MAX_ACTIVE_PER_PEER_DEFAULT = 1;

    /** System property of {@link #maxUngrantedPerPeer(int)}. */
    public static final String MAX_UNGRANTED_PER_PEER_PROP_NAME = "homa.max.ungranted.per.peer";
    /** Default of {@link #maxUngrantedPerPeer(int)}: derived from the path at conclude. */
    public static final int MAX_UNGRANTED_PER_PEER_DEFAULT = -1;

    /** System property of {@link #fifoGrantFractionPerMille(int)}. */
    public static final String FIFO_GRANT_FRACTION_PER_MILLE_PROP_NAME = "homa.grant.fifo.fraction";
    /** Default of {@link #fifoGrantFractionPerMille(int)}. */
    public static final int FIFO_GRANT_FRACTION_PER_MILLE_DEFAULT = 50;

    /** System property of {@link #fifoGrantIncrement(int)}. */
    public static final String FIFO_GRANT_INCREMENT_PROP_NAME = "homa.grant.fifo.increment";
    /** Default of {@link #fifoGrantIncrement(int)}. */
    public static final int FIFO_GRANT_INCREMENT_DEFAULT = 50_000;

    /** System property of {@link #strictOvercommit(boolean)}. */
    public static final String STRICT_OVERCOMMIT_PROP_NAME = "homa.strict.overcommit";
    /** Default of {@link #strictOvercommit(boolean)}. */
    public static final boolean STRICT_OVERCOMMIT_DEFAULT = false;

    /** System property of {@link #fifoGrantOrder(boolean)}. */
    public static final String FIFO_GRANT_ORDER_PROP_NAME = "homa.grant.fifo.order";
    /** Default of {@link #fifoGrantOrder(boolean)}. */
    public static final boolean FIFO_GRANT_ORDER_DEFAULT = false;

    /** System property of {@link #incastEnabled(boolean)}. */
    public static final String INCAST_ENABLED_PROP_NAME = "homa.incast.enabled";
    /** Default of {@link #incastEnabled(boolean)}. */
    public static final boolean INCAST_ENABLED_DEFAULT = false;

    /** System property of {@link #incastThreshold(int)}. */
    public static final String INCAST_THRESHOLD_PROP_NAME = "homa.incast.threshold";
    /** Default of {@link #incastThreshold(int)}. */
    public static final int INCAST_THRESHOLD_DEFAULT = 16;

    /** System property of {@link #incastUnscheduledBytes(int)}. */
    public static final String INCAST_UNSCHEDULED_BYTES_PROP_NAME = "homa.incast.unscheduled.bytes";
    /** Default of {@link #incastUnscheduledBytes(int)}. */
    public static final int INCAST_UNSCHEDULED_BYTES_DEFAULT = 300;

    private long rttNs = Configuration.durationNs(RTT_PROP_NAME, RTT_DEFAULT_NS);
    private int unscheduledBytes = Configuration.sizeInt(UNSCHEDULED_BYTES_PROP_NAME, UNSCHEDULED_BYTES_DEFAULT);
    private boolean unscheduledBytesDerived;
    private int overcommit = Configuration.intValue(OVERCOMMIT_PROP_NAME, OVERCOMMIT_DEFAULT);
    private int maxIncomingBytes = Configuration.sizeInt(MAX_INCOMING_BYTES_PROP_NAME, MAX_INCOMING_BYTES_DEFAULT);
    private int bulkIncomingBytes = Configuration.sizeInt(BULK_INCOMING_BYTES_PROP_NAME, BULK_INCOMING_BYTES_DEFAULT);
    private int maxIncomingBytesPerPeer =
        Configuration.sizeInt(MAX_INCOMING_BYTES_PER_PEER_PROP_NAME, MAX_INCOMING_BYTES_PER_PEER_DEFAULT);
    private int windowBytes = Configuration.sizeInt(WINDOW_BYTES_PROP_NAME, WINDOW_BYTES_DEFAULT);
    private int maxActivePerPeer = Configuration.intValue(MAX_ACTIVE_PER_PEER_PROP_NAME, MAX_ACTIVE_PER_PEER_DEFAULT);
    private int maxUngrantedPerPeer =
        Configuration.intValue(MAX_UNGRANTED_PER_PEER_PROP_NAME, MAX_UNGRANTED_PER_PEER_DEFAULT);
    private int fifoGrantFractionPerMille =
        Configuration.intValue(FIFO_GRANT_FRACTION_PER_MILLE_PROP_NAME, FIFO_GRANT_FRACTION_PER_MILLE_DEFAULT);
    private int fifoGrantIncrement =
        Configuration.sizeInt(FIFO_GRANT_INCREMENT_PROP_NAME, FIFO_GRANT_INCREMENT_DEFAULT);
    private boolean strictOvercommit = Configuration.boolValue(STRICT_OVERCOMMIT_PROP_NAME, STRICT_OVERCOMMIT_DEFAULT);
    private boolean fifoGrantOrder = Configuration.boolValue(FIFO_GRANT_ORDER_PROP_NAME, FIFO_GRANT_ORDER_DEFAULT);
    private boolean incastEnabled = Configuration.boolValue(INCAST_ENABLED_PROP_NAME, INCAST_ENABLED_DEFAULT);
    private int incastThreshold = Configuration.intValue(INCAST_THRESHOLD_PROP_NAME, INCAST_THRESHOLD_DEFAULT);
    private int incastUnscheduledBytes =
        Configuration.sizeInt(INCAST_UNSCHEDULED_BYTES_PROP_NAME, INCAST_UNSCHEDULED_BYTES_DEFAULT);
    private GrantConfig grantConfig;

    GrantSettings()
    {
    }

    /**
     * Resolve the derived grant settings, check the incast ones and build the scheduler's configuration.
     *
     * @param payload DATA payload bytes per packet.
     * @param driver  the concluded driver: its link rate, and on a path without a transmit queue what its receive
     *                queue holds.
     */
    final void concludeGrants(final int payload, final NicDriver driver)
    {
        final long linkBitsPerSecond = driver.linkBitsPerSecond();
        check(rttNs > 0, "rttNs", rttNs, "> 0");
        unscheduledBytesDerived = 0 == unscheduledBytes;
        if (unscheduledBytesDerived)
        {
            // rtt_bytes counted a full packet's transmission in the round trip. Where one packet outlasts the
            // round trip itself (64 KiB datagrams on a software device), a single unscheduled packet would leave
            // the sender idle while it reaches the receiver and the first GRANT comes back: a second one fills
            // that time. On links where the round trip holds several packets this changes nothing.
            final long bytes = linkBitsPerSecond / 8 * rttNs / 1_000_000_000L;
            unscheduledBytes = (int)Math.min(Math.max(bytes, 2L * payload), maxMessageLength());
        }
        check(unscheduledBytes > 0, "unscheduledBytes", unscheduledBytes, "> 0");
        unscheduledBytes = (int)Math.min(((long)unscheduledBytes + payload - 1) / payload * payload, Integer.MAX_VALUE);
        if (0 == maxIncomingBytes)
        {
            // At least one packet for each window, where packets are so large that the link's share holds fewer.
            final long linkBytes = linkBitsPerSecond / 8 * MAX_INCOMING_LINK_NS / 1_000_000_000L;
            maxIncomingBytes = (int)Math.min(Integer.MAX_VALUE, Math.max(linkBytes, (long)payload * (overcommit + 1)));
        }
        if (0 == bulkIncomingBytes)
        {
            // A software path has no switch port for granted bytes to wait at: they wait in the receiver's socket,
            // and two processes move them faster than the link rate the budget assumes, so a window of the link's
            // share leaves a long message's sender waiting for each GRANT. While no short message would wait behind
            // them, the budget may fill what that socket holds.
            final long queueBytes = driver.hasTransmitQueue() ? 0 : driver.receiveQueueBytes();
            bulkIncomingBytes = (int)Math.min(Integer.MAX_VALUE, Math.max(maxIncomingBytes, queueBytes));
        }
        if (0 == maxIncomingBytesPerPeer)
        {
            maxIncomingBytesPerPeer = Math.max(payload, maxIncomingBytes / 2);
        }
        if (MAX_UNGRANTED_PER_PEER_DEFAULT == maxUngrantedPerPeer)
        {
            // Only the receiver's socket holds what a software path brings, and it overflows long before a switch
            // port would: see UnscheduledAdmission. Elsewhere every message starts at once, as the kernel's do.
            maxUngrantedPerPeer = driver.hasTransmitQueue() ? 0 : overcommit;
        }
        check(maxUngrantedPerPeer >= 0, "maxUngrantedPerPeer", maxUngrantedPerPeer, ">= 0, or -1 to derive it");
        check(incastThreshold >= 1, "incastThreshold", incastThreshold, ">= 1");
        check(incastUnscheduledBytes >= 1, "incastUnscheduledBytes", incastUnscheduledBytes, ">= 1");
        grantConfig = new GrantConfig()
            .overcommit(overcommit)
            .maxIncomingBytes(maxIncomingBytes)
            .bulkIncomingBytes(bulkIncomingBytes)
            .maxIncomingBytesPerPeer(maxIncomingBytesPerPeer)
            .windowBytes(windowBytes)
            .maxPacketPayload(payload)
            .maxActivePerPeer(maxActivePerPeer)
            .fifoGrantFractionPerMille(fifoGrantFractionPerMille)
            .fifoGrantIncrement(fifoGrantIncrement)
            .linkBitsPerSecond(linkBitsPerSecond)
            .strictOvercommit(strictOvercommit)
            .fifoOrder(fifoGrantOrder);
        try
        {
            grantConfig.validate();
        }
        catch (final IllegalArgumentException ex)
        {
            throw new HomaConfigurationException(ex.getMessage(), ex);
        }
    }

    /**
     * @return the grant scheduler's settings as concluded (its priorities still to be set from the cutoffs in use).
     */
    final GrantConfig grantConfig()
    {
        return grantConfig;
    }

    /**
     * @param rttNs round-trip time used to derive the unscheduled bytes (default 8 µs).
     * @return this.
     */
    public C rttNs(final long rttNs)
    {
        checkMutable();
        this.rttNs = rttNs;
        return self();
    }

    /**
     * @return the round-trip time estimate.
     */
    public long rttNs()
    {
        return rttNs;
    }

    /**
     * @param unscheduledBytes bytes of each message sent before any grant; 0 (default) derives link rate x
     *                         RTT, and at least two full packets, and on a software path (a driver without a
     *                         transmit queue) raises each peer's to its measured round trip, up to
     *                         maxIncomingBytesPerPeer. Rounded up to a whole packet.
     * @return this.
     */
    public C unscheduledBytes(final int unscheduledBytes)
    {
        checkMutable();
        this.unscheduledBytes = unscheduledBytes;
        return self();
    }

    /**
     * @return unscheduled bytes per message (after conclude: derived and rounded).
     */
    public int unscheduledBytes()
    {
        return unscheduledBytes;
    }

    /**
     * @return true if the unscheduled bytes were derived at conclude (none set), so that on a software path each
     * peer's follow the round trip measured to it.
     */
    final boolean unscheduledBytesDerived()
    {
        return unscheduledBytesDerived;
    }

    /**
     * @param overcommit K: incoming messages granted at once, 1..8 (default 8, kernel max_overcommit).
     * @return this.
     */
    public C overcommit(final int overcommit)
    {
        checkMutable();
        this.overcommit = overcommit;
        return self();
    }

    /**
     * @return the overcommitment degree.
     */
    public int overcommit()
    {
        return overcommit;
    }

    /**
     * @param maxIncomingBytes cap on granted-but-unreceived bytes; 0 (default) for {@link #MAX_INCOMING_LINK_NS} of
     *                         the link (the kernel's 400,000 at 25 Gb/s), or (overcommit + 1) packets where that is
     *                         more.
     * @return this.
     */
    public C maxIncomingBytes(final int maxIncomingBytes)
    {
        checkMutable();
        this.maxIncomingBytes = maxIncomingBytes;
        return self();
    }

    /**
     * @return the incoming budget.
     */
    public int maxIncomingBytes()
    {
        return maxIncomingBytes;
    }

    /**
     * The incoming budget while no message too short to need grants arrives (see
     * {@link dev.homa.core.grant.GrantConfig#bulkIncomingBytes(int)}): with no short message to wait behind granted
     * bytes, the receiver grants long messages up to this.
     *
     * @param bulkIncomingBytes bytes, at least {@link #maxIncomingBytes()}; 0 (default) = on a path without a transmit
     *                          queue what the driver's receive queue holds ({@link NicDriver#receiveQueueBytes()})
     *                          where that is more than {@code maxIncomingBytes}, else {@code maxIncomingBytes} (one
     *                          budget always).
     * @return this.
     */
    public C bulkIncomingBytes(final int bulkIncomingBytes)
    {
        checkMutable();
        this.bulkIncomingBytes = bulkIncomingBytes;
        return self();
    }

    /**
     * @return the bulk incoming budget (after conclude: resolved).
     */
    public int bulkIncomingBytes()
    {
        return bulkIncomingBytes;
    }

    /**
     * Fair share of the incoming budget (see {@link dev.homa.core.grant.GrantConfig#maxIncomingBytesPerPeer(int)}):
     * one peer's granted-or-unscheduled bytes not yet received count toward {@link #maxIncomingBytes(int)} only
     * up to this cap, and the peer is granted no more beyond it, so the unscheduled bytes that forged first
     * packets claim cannot stop the grants of everyone else. Default 0 = half of {@code maxIncomingBytes}, the
     * dynamic window of a single message ({@code homa.max.incoming.bytes.per.peer}).
     *
     * @param maxIncomingBytesPerPeer bytes; 0 = half of the incoming budget.
     * @return this.
     */
    public C maxIncomingBytesPerPeer(final int maxIncomingBytesPerPeer)
    {
        checkMutable();
        this.maxIncomingBytesPerPeer = maxIncomingBytesPerPeer;
        return self();
    }

    /**
     * @return incoming bytes per peer (after conclude: resolved).
     */
    public int maxIncomingBytesPerPeer()
    {
        return maxIncomingBytesPerPeer;
    }

    /**
     * @param windowBytes grant window beyond received bytes; 0 (default) = dynamic max_incoming/(active+1).
     * @return this.
     */
    public C windowBytes(final int windowBytes)
    {
        checkMutable();
        this.windowBytes = windowBytes;
        return self();
    }

    /**
     * @return the grant window.
     */
    public int windowBytes()
    {
        return windowBytes;
    }

    /**
     * @param maxActivePerPeer messages of one sender granted at once (default 1).
     * @return this.
     */
    public C maxActivePerPeer(final int maxActivePerPeer)
    {
        checkMutable();
        this.maxActivePerPeer = maxActivePerPeer;
        return self();
    }

    /**
     * @return per-peer active limit.
     */
    public int maxActivePerPeer()
    {
        return maxActivePerPeer;
    }

    /**
     * @param maxUngrantedPerPeer messages needing grants that may await their first GRANT from one receiver; the
     *                            others wait to start ({@code UnscheduledAdmission}). 0 = no limit; -1 (default) =
     *                            the overcommitment on a path without a transmit queue (loopback, veth), no limit
     *                            elsewhere.
     * @return this.
     */
    public C maxUngrantedPerPeer(final int maxUngrantedPerPeer)
    {
        checkMutable();
        this.maxUngrantedPerPeer = maxUngrantedPerPeer;
        return self();
    }

    /**
     * @return messages per receiver that may await their first GRANT (after conclude: resolved; 0 = no limit).
     */
    public int maxUngrantedPerPeer()
    {
        return maxUngrantedPerPeer;
    }

    /**
     * @param fifoGrantFractionPerMille share of grants for the oldest message (default 50 = 5%; 0 = off).
     * @return this.
     */
    public C fifoGrantFractionPerMille(final int fifoGrantFractionPerMille)
    {
        checkMutable();
        this.fifoGrantFractionPerMille = fifoGrantFractionPerMille;
        return self();
    }

    /**
     * @return FIFO grant fraction per mille.
     */
    public int fifoGrantFractionPerMille()
    {
        return fifoGrantFractionPerMille;
    }

    /**
     * @param fifoGrantIncrement bytes per FIFO grant (default 50,000).
     * @return this.
     */
    public C fifoGrantIncrement(final int fifoGrantIncrement)
    {
        checkMutable();
        this.fifoGrantIncrement = fifoGrantIncrement;
        return self();
    }

    /**
     * @return FIFO grant increment.
     */
    public int fifoGrantIncrement()
    {
        return fifoGrantIncrement;
    }

    /**
     * @param strictOvercommit true: at most K messages hold undelivered grants at any time (a message waits for a
     *                         holder to drain); false (default, kernel): K counts messages still being granted.
     * @return this.
     */
    public C strictOvercommit(final boolean strictOvercommit)
    {
        checkMutable();
        this.strictOvercommit = strictOvercommit;
        return self();
    }

    /**
     * @return strict overcommitment.
     */
    public boolean strictOvercommit()
    {
        return strictOvercommit;
    }

    /**
     * @param fifoGrantOrder true: the receiver grants the oldest incoming messages first instead of those with the
     *                       fewest bytes left (SRPT, default false, {@code homa.grant.fifo.order}); for
     *                       experiments that measure what SRPT buys, such as the simulator's ablation.
     * @return this.
     */
    public C fifoGrantOrder(final boolean fifoGrantOrder)
    {
        checkMutable();
        this.fifoGrantOrder = fifoGrantOrder;
        return self();
    }

    /**
     * @return true if grants go to the oldest messages first.
     */
    public boolean fifoGrantOrder()
    {
        return fifoGrantOrder;
    }

    /**
     * @param incastEnabled mark requests under incast (paper §3.6; default off, as the kernel, which does not
     *                      implement it: every marked response of more than a few hundred bytes then waits for a
     *                      grant, and that grant for the client's incoming budget).
     * @return this.
     */
    public C incastEnabled(final boolean incastEnabled)
    {
        checkMutable();
        this.incastEnabled = incastEnabled;
        return self();
    }

    /**
     * @return incast handling on or off.
     */
    public boolean incastEnabled()
    {
        return incastEnabled;
    }

    /**
     * @param incastThreshold outstanding client RPCs of this host, all its sockets together, above which new
     *                        requests are marked (default 16).
     * @return this.
     */
    public C incastThreshold(final int incastThreshold)
    {
        checkMutable();
        this.incastThreshold = incastThreshold;
        return self();
    }

    /**
     * @return incast threshold.
     */
    public int incastThreshold()
    {
        return incastThreshold;
    }

    /**
     * @param incastUnscheduledBytes unscheduled bytes of a response to a marked request (default 300).
     * @return this.
     */
    public C incastUnscheduledBytes(final int incastUnscheduledBytes)
    {
        checkMutable();
        this.incastUnscheduledBytes = incastUnscheduledBytes;
        return self();
    }

    /**
     * @return reduced unscheduled bytes.
     */
    public int incastUnscheduledBytes()
    {
        return incastUnscheduledBytes;
    }
}
