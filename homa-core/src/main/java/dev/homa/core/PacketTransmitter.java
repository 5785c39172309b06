package dev.homa.core;

import dev.homa.nic.frame.PriorityMapping;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.frame.HomaChecksum;

/**
 * The transmit side of the driver: hands out driver packets to write into, queues written packets on the driver
 * and keeps them in a batch until the next flush, so one duty cycle's packets leave in as few syscalls as the
 * driver allows.
 * <p>
 * A full driver (no free packet, or a send refused) first forces a flush to give the driver a chance to drain; only
 * then is the packet counted as {@link HomaMetrics#DROP_TX_FULL} and dropped, like any packet lost in the network.
 * The bytes batched but not yet flushed count toward the pacer's view of the NIC queue. Where packets travel as IPv4
 * protocol 146 ({@link NicDriver#carriesIpProtocol146()}) and the driver does not have the checksum completed below
 * it ({@link NicDriver#completesChecksum()}), it fills each one's common-header checksum first.
 */
final class PacketTransmitter
{
    private static final int BATCH = 64;

    private final NicDriver driver;
    private final HomaMetrics metrics;
    private final Packet[] batch = new Packet[BATCH];
    private final int highestPriority;
    private final int wireOverhead;
    private final boolean checksum;
    private final int localIp;
    private int batchCount;
    private long batchBytes;

    /**
     * @param driver  the NIC driver.
     * @param metrics counters.
     */
    PacketTransmitter(final NicDriver driver, final HomaMetrics metrics)
    {
        this.driver = driver;
        this.metrics = metrics;
        this.highestPriority = Math.max(0, Math.min(driver.priorityLevels(), PriorityMapping.LEVELS) - 1);
        this.wireOverhead = driver.wireOverheadBytes();
        this.checksum = driver.carriesIpProtocol146() && !driver.completesChecksum() &&
            HostAddress.isIpv4(driver.localAddress());
        this.localIp = HostAddress.ipv4Of(driver.localAddress());
    }

    /**
     * @return the highest priority level the driver and the protocol both support.
     */
    int highestPriority()
    {
        return highestPriority;
    }

    /**
     * @return bytes queued on the driver plus those batched here and not yet flushed.
     */
    long queuedBytes()
    {
        return driver.queuedBytes() + batchBytes;
    }

    /**
     * @param priority a level from a peer or a computation.
     * @return the level limited to what the driver supports.
     */
    int clampPriority(final int priority)
    {
        return priority < 0 ? 0 : Math.min(priority, highestPriority);
    }

    /**
     * @return a free driver packet to write into, or null (counted) if the driver has none even after a flush.
     */
    Packet acquire()
    {
        Packet packet = driver.acquire();
        if (null == packet)
        {
            flushBatch();
            packet = driver.acquire();
            if (null == packet)
            {
                metrics.increment(HomaMetrics.DROP_TX_FULL);
            }
        }
        return packet;
    }

    /**
     * Queue a written packet on the driver; ownership stays here until the batch is flushed.
     *
     * @param packet      from {@link #acquire()}, length set.
     * @param destination host address.
     * @param priority    level (clamped).
     * @param type        Homa packet type, for the counters.
     * @return false if the driver refused it even after a flush (the packet is released and counted).
     */
    boolean transmit(final Packet packet, final long destination, final int priority, final int type)
    {
        final int level = clampPriority(priority);
        if (checksum && HostAddress.isIpv4(destination))
        {
            // What the kernel's NIC offload completes on its packets (homa_hijack_set_hdr seeds it).
            HomaChecksum.write(packet.buffer(), 0, packet.length(), localIp, HostAddress.ipv4Of(destination));
        }
        if (!driver.send(packet, destination, level))
        {
            flushBatch();
            if (!driver.send(packet, destination, level))
            {
                driver.release(packet);
                metrics.increment(HomaMetrics.DROP_TX_FULL);
                return false;
            }
        }
        batch[batchCount++] = packet;
        batchBytes += packet.wireLength() + wireOverhead;
        metrics.onPacketSent(type, packet.wireLength(), level);
        if (BATCH == batchCount)
        {
            flushBatch();
        }
        return true;
    }

    /**
     * Flush the driver and give the batched packets back to it.
     */
    void flushBatch()
    {
        if (0 == batchCount)
        {
            return;
        }
        driver.flush();
        for (int i = 0; i < batchCount; i++)
        {
            driver.release(batch[i]);
            batch[i] = null;
        }
        batchCount = 0;
        batchBytes = 0;
    }
}
