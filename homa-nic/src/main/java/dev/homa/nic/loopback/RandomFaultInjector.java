package dev.homa.nic.loopback;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.util.SplittableRandom;

/**
 * Independent random faults at fixed rates from one seeded generator, after Aeron's {@code RandomLossGenerator}.
 * Each decision draws from the generator only when its rate is non-zero, so enabling one fault does not change the
 * stream of another that is off. Same seed and same sequence of frames: same faults.
 * <p>
 * Corruption XORs one uniformly chosen byte with a non-zero value, so the frame always changes. Reordering holds the
 * frame back for a delay uniform in {@code [1, maxReorderDelayNs]}.
 */
public final class RandomFaultInjector implements FaultInjector
{
    /** Default upper bound of the hold-back delay for a reordered frame: several full-size frames at 10 Gb/s. */
    public static final long DEFAULT_MAX_REORDER_DELAY_NS = 10_000;

    private final long seed;
    private final SplittableRandom random;
    private double lossRate;
    private double duplicateRate;
    private double reorderRate;
    private double corruptRate;
    private long maxReorderDelayNs = DEFAULT_MAX_REORDER_DELAY_NS;

    /**
     * @param seed of the generator; print it in the test so a failure can be replayed.
     */
    public RandomFaultInjector(final long seed)
    {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    /**
     * @return the seed this injector was built with.
     */
    public long seed()
    {
        return seed;
    }

    /**
     * @param rate probability in [0, 1] that a frame is lost.
     * @return this.
     */
    public RandomFaultInjector lossRate(final double rate)
    {
        lossRate = checkRate(rate);
        return this;
    }

    /**
     * @param rate probability in [0, 1] that a frame is delivered twice.
     * @return this.
     */
    public RandomFaultInjector duplicateRate(final double rate)
    {
        duplicateRate = checkRate(rate);
        return this;
    }

    /**
     * @param rate probability in [0, 1] that a frame is held back and overtaken.
     * @return this.
     */
    public RandomFaultInjector reorderRate(final double rate)
    {
        reorderRate = checkRate(rate);
        return this;
    }

    /**
     * @param rate probability in [0, 1] that one byte of a frame is flipped.
     * @return this.
     */
    public RandomFaultInjector corruptRate(final double rate)
    {
        corruptRate = checkRate(rate);
        return this;
    }

    /**
     * @param delayNs longest hold-back of a reordered frame, at least 1.
     * @return this.
     */
    public RandomFaultInjector maxReorderDelayNs(final long delayNs)
    {
        if (delayNs < 1)
        {
            throw new IllegalArgumentException("max reorder delay must be >= 1 ns: " + delayNs);
        }
        maxReorderDelayNs = delayNs;
        return this;
    }

    /**
     * @return probability of loss.
     */
    public double lossRate()
    {
        return lossRate;
    }

    /**
     * @return probability of duplication.
     */
    public double duplicateRate()
    {
        return duplicateRate;
    }

    /**
     * @return probability of reordering.
     */
    public double reorderRate()
    {
        return reorderRate;
    }

    /**
     * @return probability of corruption.
     */
    public double corruptRate()
    {
        return corruptRate;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public boolean shouldDrop(final long source, final long destination, final DirectBuffer buffer, final int length)
    {
        return 0 != lossRate && random.nextDouble() < lossRate;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public boolean corrupt(
        final long source, final long destination, final MutableDirectBuffer buffer, final int length)
    {
        if (0 == corruptRate || 0 == length || random.nextDouble() >= corruptRate)
        {
            return false;
        }
        final int index = random.nextInt(length);
        final int mask = 1 + random.nextInt(255);
        buffer.putByte(index, (byte)(buffer.getByte(index) ^ mask));
        return true;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public boolean shouldDuplicate(
        final long source, final long destination, final DirectBuffer buffer, final int length)
    {
        return 0 != duplicateRate && random.nextDouble() < duplicateRate;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public long reorderDelayNs(
        final long source, final long destination, final DirectBuffer buffer, final int length)
    {
        if (0 == reorderRate || random.nextDouble() >= reorderRate)
        {
            return 0;
        }
        return 1 + random.nextLong(maxReorderDelayNs);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String toString()
    {
        return "RandomFaultInjector{seed=" + seed + ", loss=" + lossRate + ", duplicate=" + duplicateRate +
            ", reorder=" + reorderRate + ", corrupt=" + corruptRate + ", maxReorderDelayNs=" + maxReorderDelayNs + '}';
    }

    private static double checkRate(final double rate)
    {
        if (!(rate >= 0 && rate <= 1))
        {
            throw new IllegalArgumentException("rate must be in [0, 1]: " + rate);
        }
        return rate;
    }
}
