package dev.homa.nic.loopback;

import java.util.SplittableRandom;

/**
 * Seeds for fault-injection runs: taken from {@code -Dhoma.seed=...} when given (to replay a failure), else fresh;
 * always printed as {@code seed=...} so that any run can be replayed.
 */
public final class Seeds
{
    /** System property holding a seed to replay. */
    public static final String SEED_PROP_NAME = "homa.seed";

    private Seeds()
    {
    }

    /**
     * @param label what the seed is for, printed beside it.
     * @return the seed from {@value #SEED_PROP_NAME}, or a new random one.
     */
    public static long resolve(final String label)
    {
        final String property = System.getProperty(SEED_PROP_NAME);
        final long seed = null != property && !property.isBlank() ?
            Long.parseLong(property.trim()) : new SplittableRandom().nextLong();
        System.out.println("seed=" + seed + " (" + label + "; replay with -D" + SEED_PROP_NAME + '=' + seed + ')');
        return seed;
    }
}
