package dev.homa.bench.load;

import java.util.Locale;
import java.util.function.DoubleConsumer;
import java.util.function.Supplier;

import picocli.CommandLine.Option;

/**
 * A trial's warm-up: at least {@code --warmup} seconds, and then as long as one of the trial's JVMs still compiles,
 * up to {@code --warmup-max}. Every JVM of a trial is new, and several JVMs sharing two cores keep compiling their hot
 * paths for many seconds: a window that opens while a compiler thread is busy measures the compiler, and code that
 * is not optimized yet. A JVM counts as compiling until its compiler threads took at most {@link #QUIET_SHARE} of a
 * core in each of the last {@link #QUIET_STEPS} steps of {@link #STEP_SECONDS}: a compiler works in bursts, as
 * methods cross their thresholds, and one quiet second can fall between two.
 */
final class WarmUp
{
    /** Compiler CPU, as a share of one core, under which a JVM counts as done compiling. */
    static final double QUIET_SHARE = 0.05;
    /** Seconds between two readings of the compiler threads' CPU time. */
    static final double STEP_SECONDS = 1.0;
    /** Quiet steps in a row that end the warm-up. */
    static final int QUIET_STEPS = 2;

    @Option(names = "--warmup", defaultValue = "8", description = "Least warm-up seconds per trial " +
        "(default ${DEFAULT-VALUE}); the warm-up goes on while a JVM of the trial still compiles, see --warmup-max.")
    double minSeconds;

    @Option(names = "--warmup-max", defaultValue = "30", description = "Most warm-up seconds per trial " +
        "(default ${DEFAULT-VALUE}): past --warmup, a trial warms up while the compiler threads of one of its JVMs " +
        "took more than 5%% of a core in either of the last two seconds; equal to --warmup for a fixed warm-up.")
    double maxSeconds;

    /** For picocli. */
    WarmUp()
    {
    }

    private WarmUp(final double minSeconds, final double maxSeconds)
    {
        this.minSeconds = minSeconds;
        this.maxSeconds = maxSeconds;
    }

    /**
     * @param seconds the warm-up, whatever the compilers do.
     * @return a fixed warm-up.
     */
    static WarmUp fixed(final double seconds)
    {
        return new WarmUp(seconds, seconds);
    }

    /** {@return the least warm-up, in seconds} */
    double minSeconds()
    {
        return minSeconds;
    }

    /** {@return the longest warm-up, in seconds} */
    double maxSeconds()
    {
        return Math.max(minSeconds, maxSeconds);
    }

    /**
     * Wait out the warm-up.
     *
     * @param compilerSeconds CPU seconds of each JVM's compiler threads so far (NaN where unknown: taken as quiet).
     * @param sleep           waits the given seconds.
     * @return seconds waited.
     */
    double await(final Supplier<double[]> compilerSeconds, final DoubleConsumer sleep)
    {
        final double max = maxSeconds();
        final double lead = QUIET_STEPS * STEP_SECONDS;
        if (max <= minSeconds || minSeconds < lead)
        {
            sleep.accept(minSeconds);
            return minSeconds;
        }
        // The first reading that many steps before the least warm-up ends, so a quiet trial waits no longer.
        double waited = minSeconds - lead;
        sleep.accept(waited);
        double[] before = compilerSeconds.get();
        int quiet = 0;
        while (true)
        {
            final double step = Math.min(STEP_SECONDS, max - waited);
            sleep.accept(step);
            waited += step;
            final double[] after = compilerSeconds.get();
            quiet = busiest(before, after) <= QUIET_SHARE * step ? quiet + 1 : 0;
            if (waited >= max || quiet >= QUIET_STEPS)
            {
                return waited;
            }
            before = after;
        }
    }

    private static double busiest(final double[] before, final double[] after)
    {
        double busiest = 0;
        for (int i = 0; i < Math.min(before.length, after.length); i++)
        {
            final double used = after[i] - before[i];
            if (used > busiest)
            {
                busiest = used;
            }
        }
        return busiest;
    }

    @Override
    public String toString()
    {
        return maxSeconds() > minSeconds ?
            String.format(Locale.ROOT, "%.0f-%.0f s warm-up (until the JIT is quiet)", minSeconds,
                maxSeconds()) :
            String.format(Locale.ROOT, "%.0f s warm-up", minSeconds);
    }
}
