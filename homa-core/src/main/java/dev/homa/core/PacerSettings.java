package dev.homa.core;

import dev.homa.nic.NicDriver;

/**
 * The sending settings of a transport's {@link HomaTransport.Context} (the kernel's {@code homa_pacer}): the cap on
 * the NIC's queue, which messages bypass the pacer, the bursts per duty cycle and the pacer's FIFO share; each with
 * its system property, default and the rules {@link HomaTransport.Context#conclude()} checks.
 *
 * @param <C> the concrete context, which every setter returns.
 */
abstract class PacerSettings<C extends PacerSettings<C>> extends GrantSettings<C>
{
    /** The kernel's {@code max_nic_est_backlog_usecs}: the pacer's cap on a NIC's estimated backlog, in ns. */
    public static final long KERNEL_NIC_BACKLOG_NS = 5_000;
    /**
     * Bytes handed over per flush where the driver has no transmit queue: four full GSO super-datagrams (or 64 KiB
     * datagrams on loopback) per system call, while a shorter message that comes meanwhile waits for one flush at most.
     */
    public static final int UNQUEUED_FLUSH_BYTES = 256 * 1024;
    /** Bytes of received packets a duty cycle takes by default (see {@link #pollBurst(int)}). */
    public static final int POLL_BURST_BYTES = 256 * 1024;

    /** System property of {@link #maxNicQueueBytes(int)}. */
    public static final String MAX_NIC_QUEUE_BYTES_PROP_NAME = "homa.max.nic.queue.bytes";
    /** Default of {@link #maxNicQueueBytes(int)}. */
    public static final int MAX_NIC_QUEUE_BYTES_DEFAULT = 0;

    /** System property of {@link #smallMessageBytes(int)}. */
    public static final String SMALL_MESSAGE_BYTES_PROP_NAME = "homa.small.message.bytes";
    /** Default of {@link #smallMessageBytes(int)}. */
    public static final int SMALL_MESSAGE_BYTES_DEFAULT = 1000;

    /** System property of {@link #maxSendBurst(int)}. */
    public static final String MAX_SEND_BURST_PROP_NAME = "homa.max.send.burst";
    /** Default of {@link #maxSendBurst(int)}. */
    public static final int MAX_SEND_BURST_DEFAULT = 64;

    /** System property of {@link #pollBurst(int)}. */
    public static final String POLL_BURST_PROP_NAME = "homa.poll.burst";
    /** Default of {@link #pollBurst(int)}: derived from the packet size. */
    public static final int POLL_BURST_DEFAULT = 0;

    /** System property of {@link #pacerFifoFractionPerMille(int)}. */
    public static final String PACER_FIFO_FRACTION_PER_MILLE_PROP_NAME = "homa.pacer.fifo.fraction";
    /** Default of {@link #pacerFifoFractionPerMille(int)}. */
    public static final int PACER_FIFO_FRACTION_PER_MILLE_DEFAULT = 50;

    private int maxNicQueueBytes = Configuration.sizeInt(MAX_NIC_QUEUE_BYTES_PROP_NAME, MAX_NIC_QUEUE_BYTES_DEFAULT);
    private int smallMessageBytes = Configuration.sizeInt(SMALL_MESSAGE_BYTES_PROP_NAME, SMALL_MESSAGE_BYTES_DEFAULT);
    private int maxSendBurst = Configuration.intValue(MAX_SEND_BURST_PROP_NAME, MAX_SEND_BURST_DEFAULT);
    private int pollBurst = Configuration.intValue(POLL_BURST_PROP_NAME, POLL_BURST_DEFAULT);
    private int pacerFifoFractionPerMille =
        Configuration.intValue(PACER_FIFO_FRACTION_PER_MILLE_PROP_NAME, PACER_FIFO_FRACTION_PER_MILLE_DEFAULT);

    PacerSettings()
    {
    }

    /**
     * Resolve the NIC queue cap from the driver and check the sending settings.
     *
     * @param driver the concluded driver.
     */
    final void concludePacer(final NicDriver driver)
    {
        if (0 == maxNicQueueBytes)
        {
            final long twoPackets = 2L * (driver.maxPacketLength() + driver.wireOverheadBytes());
            // A NIC: the kernel's max_nic_est_backlog_usecs of backlog. No transmit queue (loopback, veth): the cap
            // only bounds what one duty cycle hands over per flush, so it allows several full GSO batches.
            final long cap = driver.hasTransmitQueue() ?
                driver.linkBitsPerSecond() / 8 * KERNEL_NIC_BACKLOG_NS / 1_000_000_000L : UNQUEUED_FLUSH_BYTES;
            maxNicQueueBytes = (int)Math.min(Integer.MAX_VALUE, Math.max(twoPackets, cap));
        }
        check(maxNicQueueBytes > 0, "maxNicQueueBytes", maxNicQueueBytes, "> 0");
        check(smallMessageBytes >= 0, "smallMessageBytes", smallMessageBytes, ">= 0");
        check(maxSendBurst >= 1, "maxSendBurst", maxSendBurst, ">= 1");
        if (0 == pollBurst)
        {
            // A duty cycle handles about 256 KiB of packets: the GRANTs it makes go out when it ends, so with
            // 64 KiB packets a burst of 64 would hold them back for a millisecond of copying.
            pollBurst = Math.max(4, Math.min(64, POLL_BURST_BYTES / driver.maxPacketLength()));
        }
        check(pollBurst >= 1, "pollBurst", pollBurst, ">= 1");
        check(pacerFifoFractionPerMille >= 0 && pacerFifoFractionPerMille <= 1000, "pacerFifoFractionPerMille",
            pacerFifoFractionPerMille, "0..1000");
    }

    /**
     * @param maxNicQueueBytes pacer cap on the driver's queued bytes plus those batched for the next flush; 0
     *                         (default) = 5 us of the link (kernel max_nic_est_backlog_usecs), or 64 KiB for a
     *                         driver without a transmit queue ({@link NicDriver#hasTransmitQueue()}), at least two
     *                         full packets either way.
     * @return this.
     */
    public C maxNicQueueBytes(final int maxNicQueueBytes)
    {
        checkMutable();
        this.maxNicQueueBytes = maxNicQueueBytes;
        return self();
    }

    /**
     * @return the pacer's NIC queue cap.
     */
    public int maxNicQueueBytes()
    {
        return maxNicQueueBytes;
    }

    /**
     * @param smallMessageBytes messages shorter than this bypass the pacer (default 1,000; 0 = none).
     * @return this.
     */
    public C smallMessageBytes(final int smallMessageBytes)
    {
        checkMutable();
        this.smallMessageBytes = smallMessageBytes;
        return self();
    }

    /**
     * @return the pacer bypass threshold.
     */
    public int smallMessageBytes()
    {
        return smallMessageBytes;
    }

    /**
     * @param maxSendBurst most paced DATA packets per duty cycle (default 64, a full GSO batch).
     * @return this.
     */
    public C maxSendBurst(final int maxSendBurst)
    {
        checkMutable();
        this.maxSendBurst = maxSendBurst;
        return self();
    }

    /**
     * @return packets per pacing burst.
     */
    public int maxSendBurst()
    {
        return maxSendBurst;
    }

    /**
     * @param pollBurst most received packets handled per duty cycle; 0 (default) for about 256 KiB of them:
     *                  64 packets of Ethernet's MTU, 4 of loopback's.
     * @return this.
     */
    public C pollBurst(final int pollBurst)
    {
        checkMutable();
        this.pollBurst = pollBurst;
        return self();
    }

    /**
     * @return receive burst.
     */
    public int pollBurst()
    {
        return pollBurst;
    }

    /**
     * @param pacerFifoFractionPerMille share of paced packets sent from the oldest outgoing message instead of
     *                                  the SRPT head (kernel pacer fifo_fraction, default 50 = 5%; 0 = pure SRPT).
     * @return this.
     */
    public C pacerFifoFractionPerMille(final int pacerFifoFractionPerMille)
    {
        checkMutable();
        this.pacerFifoFractionPerMille = pacerFifoFractionPerMille;
        return self();
    }

    /**
     * @return pacer FIFO fraction per mille.
     */
    public int pacerFifoFractionPerMille()
    {
        return pacerFifoFractionPerMille;
    }

    /**
     * @return how many choices one in the FIFO share is (the oldest instead of the shortest); 0 for none.
     */
    final int pacerFifoEvery()
    {
        return 0 == pacerFifoFractionPerMille ? 0 : 1000 / pacerFifoFractionPerMille;
    }
}
