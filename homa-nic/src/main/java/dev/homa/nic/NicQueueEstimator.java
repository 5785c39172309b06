package dev.homa.nic;

import org.agrona.concurrent.NanoClock;

/**
 * Estimates how much a NIC still has to put on the wire, as the kernel's {@code link_idle_time}: every packet
 * handed over moves the time at which the link falls idle by its wire time; bytes still queued are the time left
 * until then, at link rate. The link rate is under-estimated by 1% so that the estimate errs on the side of a
 * fuller queue, as the kernel does.
 */
public final class NicQueueEstimator
{
    private final NanoClock clock;
    private final double nsPerByte;
    private long linkIdleTimeNs;

    /**
     * @param clock             the driver's clock (virtual in tests).
     * @param linkBitsPerSecond link rate.
     */
    public NicQueueEstimator(final NanoClock clock, final long linkBitsPerSecond)
    {
        if (linkBitsPerSecond <= 0)
        {
            throw new IllegalArgumentException("link rate must be positive: " + linkBitsPerSecond);
        }
        this.clock = clock;
        this.nsPerByte = 8e9 / (linkBitsPerSecond * 0.99);
    }

    /**
     * Account for frames handed to the NIC together (one flush): the caller reads its clock once for the whole
     * batch, after the system call, instead of once per frame.
     *
     * @param wireBytes bytes of the frames on the wire, overhead included.
     * @param nowNs     the driver's clock when they were handed over.
     */
    public void onTransmit(final long wireBytes, final long nowNs)
    {
        final long startNs = Math.max(nowNs, linkIdleTimeNs);
        linkIdleTimeNs = startNs + (long)Math.ceil(wireBytes * nsPerByte);
    }

    /**
     * @return nanoseconds of queued work left at the current time.
     */
    public long backlogNs()
    {
        return Math.max(0, linkIdleTimeNs - clock.nanoTime());
    }

    /**
     * @return bytes still queued at the current time.
     */
    public long queuedBytes()
    {
        return (long)(backlogNs() / nsPerByte);
    }

    /**
     * @return the time at which the link falls idle.
     */
    public long linkIdleTimeNs()
    {
        return linkIdleTimeNs;
    }
}
