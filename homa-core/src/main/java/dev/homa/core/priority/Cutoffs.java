package dev.homa.core.priority;

/**
 * A receiver's unscheduled priority cutoffs: entry i is the largest message length that uses level i.
 */
public final class Cutoffs
{
    /**
     * Number of cutoffs carried (HOMA_MAX_PRIORITIES).
     */
    public static final int NUM_PRIORITIES = 8;

    private final int[] cutoffs = new int[NUM_PRIORITIES];
    private int version;

    public int cutoff(final int level)
    {
        return cutoffs[level];
    }

    public int version()
    {
        return version;
    }

    public int unscheduledPriorityFor(final int messageLength)
    {
        for (int i = NUM_PRIORITIES - 1; i > 0; i--)
        {
            if (cutoffs[i] >= messageLength)
            {
                return i;
            }
        }
        return 0;
    }

    public Cutoffs set(final int[] cutoffs, final int version)
    {
        System.arraycopy(cutoffs, 0, this.cutoffs, 0, NUM_PRIORITIES);
        this.version = version;
        return this;
    }

    public Cutoffs copyFrom(final Cutoffs other)
    {
        return set(other.cutoffs, other.version);
    }

    public static Cutoffs kernelDefaults()
    {
        return new Cutoffs().set(
            new int[]{ 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 15_000, 2_800, 200 }, 1);
    }

    public static Cutoffs unknownPeer()
    {
        return new Cutoffs().set(new int[]{ 0, 0, 0, 0, 0, 0, Integer.MAX_VALUE, 0 }, 0);
    }
}
