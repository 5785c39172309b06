package dev.homa.bench.sim;

import dev.homa.core.workload.MessageSizeDistribution;

import java.util.Arrays;

/**
 * What the simulated applications send: message sizes drawn from one of the paper's W1-W5 (uncapped) or one fixed
 * size, and the size buckets results are reported in: the paper's x-axis, deciles of the message count (the sizes
 * at 10%, 20%, ... 100% of the CDF), merged where a discrete distribution puts two deciles on one size.
 */
final class Workload
{
    /** Deciles: the paper's ticks at every 10% of messages. */
    static final int DECILES = 10;

    private final String name;
    private final MessageSizeDistribution distribution;
    private final int fixedBytes;
    private final int[] bucketMaxBytes;
    private final double[] bucketShare;

    private Workload(final String name, final MessageSizeDistribution distribution, final int fixedBytes)
    {
        this.name = name;
        this.distribution = distribution;
        this.fixedBytes = fixedBytes;
        if (null == distribution)
        {
            bucketMaxBytes = new int[]{ fixedBytes };
            bucketShare = new double[]{ 1.0 };
        }
        else
        {
            final int[] bounds = new int[DECILES];
            final double[] shares = new double[DECILES];
            int count = 0;
            double previousCdf = 0.0;
            for (int decile = 1; decile <= DECILES; decile++)
            {
                final int size = distribution.sample(Math.min(1.0, decile / (double)DECILES - 1e-12));
                if (0 == count || bounds[count - 1] < size)
                {
                    bounds[count] = size;
                    final double cdf = cdfAt(distribution, size);
                    shares[count] = cdf - previousCdf;
                    previousCdf = cdf;
                    count++;
                }
            }
            bucketMaxBytes = Arrays.copyOf(bounds, count);
            bucketShare = Arrays.copyOf(shares, count);
        }
    }

    /**
     * @param spec {@code w1} .. {@code w5}, or a fixed size in bytes ({@code 1000}, {@code 64k}).
     * @return the workload.
     * @throws IllegalArgumentException for anything else.
     */
    static Workload parse(final String spec)
    {
        final String lower = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (lower.matches("w[1-5]"))
        {
            return new Workload(lower.toUpperCase(java.util.Locale.ROOT),
                MessageSizeDistribution.workload(lower, Integer.MAX_VALUE), 0);
        }
        final long bytes;
        try
        {
            bytes = SimOptions.parseSize(lower);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException("workload must be w1..w5 or a message size such as 1000 or 64k: " +
                spec);
        }
        if (bytes < 1 || bytes > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("fixed message size out of range: " + spec);
        }
        return new Workload(bytes + "B", null, (int)bytes);
    }

    private static double cdfAt(final MessageSizeDistribution distribution, final int size)
    {
        double cdf = 0.0;
        for (int i = 0; i < distribution.pointCount() && distribution.sizeAt(i) <= size; i++)
        {
            cdf = distribution.cdfAt(i);
        }
        return cdf;
    }

    /**
     * @return W1 .. W5, or the fixed size.
     */
    String name()
    {
        return name;
    }

    /**
     * @param u uniform draw in [0, 1).
     * @return a message size.
     */
    int sample(final double u)
    {
        return null == distribution ? fixedBytes : distribution.sample(u);
    }

    /**
     * @return the largest size this workload draws.
     */
    int maxBytes()
    {
        return null == distribution ? fixedBytes : distribution.sizeAt(distribution.pointCount() - 1);
    }

    /**
     * @return mean size in bytes.
     */
    double meanBytes()
    {
        return null == distribution ? fixedBytes : distribution.meanBytes();
    }

    /**
     * Expected wire bytes of one message: its bytes plus, per packet, the DATA header and the link overhead.
     *
     * @param payloadPerPacket  message bytes per full packet.
     * @param perPacketOverhead DATA header plus the fabric's wire overhead.
     * @return bytes.
     */
    double meanWireBytes(final int payloadPerPacket, final int perPacketOverhead)
    {
        if (null == distribution)
        {
            return wireBytes(fixedBytes, payloadPerPacket, perPacketOverhead);
        }
        double mean = 0.0;
        double previous = 0.0;
        for (int i = 0; i < distribution.pointCount(); i++)
        {
            mean += (distribution.cdfAt(i) - previous) *
                wireBytes(distribution.sizeAt(i), payloadPerPacket, perPacketOverhead);
            previous = distribution.cdfAt(i);
        }
        return mean;
    }

    /**
     * @param bytes             a message length.
     * @param payloadPerPacket  message bytes per full packet.
     * @param perPacketOverhead bytes each packet adds.
     * @return the message's bytes on the wire.
     */
    static long wireBytes(final int bytes, final int payloadPerPacket, final int perPacketOverhead)
    {
        final long packets = Math.max(1, ((long)bytes + payloadPerPacket - 1) / payloadPerPacket);
        return bytes + packets * perPacketOverhead;
    }

    /**
     * @return number of size buckets.
     */
    int bucketCount()
    {
        return bucketMaxBytes.length;
    }

    /**
     * @param bucket index.
     * @return the largest size in it.
     */
    int bucketMaxBytes(final int bucket)
    {
        return bucketMaxBytes[bucket];
    }

    /**
     * @param bucket index.
     * @return the share of messages that fall in it.
     */
    double bucketShare(final int bucket)
    {
        return bucketShare[bucket];
    }

    /**
     * @param bytes a message size this workload draws.
     * @return its bucket.
     */
    int bucketOf(final int bytes)
    {
        int low = 0;
        int high = bucketMaxBytes.length - 1;
        while (low < high)
        {
            final int mid = (low + high) >>> 1;
            if (bucketMaxBytes[mid] >= bytes)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }
        return low;
    }
}
