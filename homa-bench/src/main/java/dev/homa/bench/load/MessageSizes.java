package dev.homa.bench.load;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.workload.MessageSizeDistribution;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Request sizes a load client draws: one fixed size ({@code 1000000}, {@code 100k}, {@code 1m}) or a workload of
 * the SIGCOMM paper ({@code w1} .. {@code w5}), capped at the largest message Homa carries (1,000,000 bytes, as the
 * kernel's cp_node caps them) and raised to the {@link LoadMessage#HEADER_LENGTH 16-byte} header. Sizes fall into
 * buckets by message count, the paper's x-axis: ten of equal probability for a workload (fewer where sizes repeat),
 * one for a fixed size.
 */
final class MessageSizes
{
    /** Largest request: HOMA_MAX_MESSAGE_LENGTH. */
    static final int MAX_LENGTH = DataHeaderFlyweight.MAX_MESSAGE_LENGTH;
    private static final int BUCKETS = 10;

    private final String spec;
    private final int fixed;
    private final MessageSizeDistribution distribution;
    private final int[] bucketLimits;

    private MessageSizes(final String spec, final int fixed, final MessageSizeDistribution distribution)
    {
        this.spec = spec;
        this.fixed = fixed;
        this.distribution = distribution;
        if (null == distribution)
        {
            bucketLimits = new int[] { fixed };
        }
        else
        {
            final int[] limits = new int[BUCKETS];
            int count = 0;
            for (int b = 1; b <= BUCKETS; b++)
            {
                final int limit = clamp(distribution.sample(b / (double)BUCKETS - 1e-12));
                if (0 == count || limit > limits[count - 1])
                {
                    limits[count++] = limit;
                }
            }
            limits[count - 1] = Math.max(limits[count - 1], clamp(distribution.sample(1.0)));
            bucketLimits = Arrays.copyOf(limits, count);
        }
    }

    /**
     * @param spec a size ({@code 100}, {@code 64k}, {@code 1m}) or a workload name {@code w1} .. {@code w5}.
     * @return the sizes.
     * @throws IllegalArgumentException if the spec is neither, or the workload's table cannot be found.
     */
    static MessageSizes parse(final String spec)
    {
        final String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.matches("w[1-5]"))
        {
            return new MessageSizes(s, 0, MessageSizeDistribution.workload(s, MAX_LENGTH));
        }
        final long bytes = parseBytes(s);
        if (bytes < LoadMessage.HEADER_LENGTH || bytes > MAX_LENGTH)
        {
            throw new IllegalArgumentException("message size must be " + LoadMessage.HEADER_LENGTH + ".." +
                MAX_LENGTH + ": " + spec);
        }
        return new MessageSizes(s, (int)bytes, null);
    }

    static long parseBytes(final String text)
    {
        final String s = text.trim().toLowerCase(Locale.ROOT);
        final char last = s.charAt(s.length() - 1);
        final long scale = 'k' == last ? 1000 : 'm' == last ? 1_000_000 : 1;
        return Long.parseLong(1 == scale ? s : s.substring(0, s.length() - 1)) * scale;
    }

    /**
     * @param random the client's generator.
     * @return the next request length.
     */
    int next(final SplittableRandom random)
    {
        return null == distribution ? fixed : clamp(distribution.sample(random.nextDouble()));
    }

    /**
     * @return the largest request length.
     */
    int maxLength()
    {
        return bucketLimits[bucketLimits.length - 1];
    }

    /**
     * @return mean request bytes.
     */
    double meanLength()
    {
        if (null == distribution)
        {
            return fixed;
        }
        double mean = 0;
        double previous = 0;
        for (int i = 0; i < distribution.pointCount(); i++)
        {
            mean += (distribution.cdfAt(i) - previous) * clamp(distribution.sizeAt(i));
            previous = distribution.cdfAt(i);
        }
        return mean;
    }

    /**
     * @param length a request length.
     * @return its bucket, 0 .. {@link #bucketCount()} - 1.
     */
    int bucketOf(final int length)
    {
        for (int b = 0; b < bucketLimits.length - 1; b++)
        {
            if (length <= bucketLimits[b])
            {
                return b;
            }
        }
        return bucketLimits.length - 1;
    }

    int bucketCount()
    {
        return bucketLimits.length;
    }

    /**
     * @param bucket index.
     * @return the largest length in it.
     */
    int bucketLimit(final int bucket)
    {
        return bucketLimits[bucket];
    }

    boolean isFixed()
    {
        return null == distribution;
    }

    @Override
    public String toString()
    {
        return spec;
    }

    private static int clamp(final int length)
    {
        return Math.max(LoadMessage.HEADER_LENGTH, Math.min(MAX_LENGTH, length));
    }
}
