package dev.homa.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The warm-up waits at least its least seconds, then while a JVM's compiler threads stay busy, up to its most; time
 * is virtual (the test's sleep only advances a clock).
 */
@Timeout(10)
final class WarmUpTest
{
    private double now;
    private final List<Double> sleeps = new ArrayList<>();

    @Test
    void aQuietTrialWaitsTheLeastWarmUpOnly()
    {
        final WarmUp warmUp = parse("--warmup", "8", "--warmup-max", "30");
        assertEquals(8.0, warmUp.await(compilers(t -> 0.0, t -> 0.0), this::sleep), 1e-9);
        assertEquals(8.0, now, 1e-9);
    }

    @Test
    void goesOnWhileOneJvmStillCompiles()
    {
        // The second JVM's compilers use half a core until 12.5 s, then nothing.
        final WarmUp warmUp = parse("--warmup", "8", "--warmup-max", "30");
        final double waited = warmUp.await(compilers(t -> 0.0, t -> 0.5 * Math.min(t, 12.5)), this::sleep);
        // At 13 s the last second held 0.25 s of compiling: busy. At 14 and 15 s none: quiet twice.
        assertEquals(15.0, waited, 1e-9);
        assertEquals(15.0, now, 1e-9);
    }

    @Test
    void oneQuietSecondBetweenTwoBurstsIsNotTheEnd()
    {
        // The compilers of one JVM work in the odd seconds until 15 s: every even second is quiet.
        final WarmUp warmUp = parse("--warmup", "8", "--warmup-max", "30");
        final DoubleUnaryOperator bursts = t ->
        {
            double used = 0;
            for (int second = 1; second <= Math.min(t, 15); second += 2)
            {
                used += Math.min(1, t - (second - 1));
            }
            return used;
        };
        assertEquals(17.0, warmUp.await(compilers(t -> 0.0, bursts), this::sleep), 1e-9);
    }

    @Test
    void aLittleCompilingCountsAsQuiet()
    {
        final WarmUp warmUp = parse("--warmup", "8", "--warmup-max", "30");
        final double share = WarmUp.QUIET_SHARE;
        assertEquals(8.0, warmUp.await(compilers(t -> 0.8 * share * t, t -> 0.0), this::sleep), 1e-9);
    }

    @Test
    void stopsAtTheMostWhateverTheCompilersDo()
    {
        final WarmUp warmUp = parse("--warmup", "8", "--warmup-max", "10.5");
        assertEquals(10.5, warmUp.await(compilers(t -> t, t -> t), this::sleep), 1e-9);
        assertEquals(10.5, now, 1e-9);
    }

    @Test
    void aFixedWarmUpReadsNoCompiler()
    {
        final WarmUp warmUp = WarmUp.fixed(2);
        assertEquals(2.0, warmUp.await(() ->
        {
            throw new AssertionError("read the compilers");
        }, this::sleep), 1e-9);
        assertEquals(List.of(2.0), sleeps);
        assertEquals("2 s warm-up", warmUp.toString());
    }

    @Test
    void unknownCompilerTimeCountsAsQuiet()
    {
        final WarmUp warmUp = parse("--warmup", "3", "--warmup-max", "30");
        assertEquals(3.0, warmUp.await(compilers(t -> Double.NaN, t -> Double.NaN), this::sleep), 1e-9);
    }

    @Test
    void theDefaultsAreALeastAndAMost()
    {
        final WarmUp warmUp = parse();
        assertEquals(8.0, warmUp.minSeconds(), 1e-9);
        assertEquals(30.0, warmUp.maxSeconds(), 1e-9);
        assertEquals("8-30 s warm-up (until the JIT is quiet)", warmUp.toString());
    }

    private void sleep(final double seconds)
    {
        sleeps.add(seconds);
        now += seconds;
    }

    /**
     * @param perJvm each JVM's compiler seconds as a function of the (virtual) time.
     * @return the readings.
     */
    private Supplier<double[]> compilers(final DoubleUnaryOperator... perJvm)
    {
        return () ->
        {
            final double[] seconds = new double[perJvm.length];
            for (int i = 0; i < perJvm.length; i++)
            {
                seconds[i] = perJvm[i].applyAsDouble(now);
            }
            return seconds;
        };
    }

    private static WarmUp parse(final String... args)
    {
        final Holder holder = new Holder();
        new CommandLine(holder).parseArgs(args);
        return holder.warmUp;
    }

    @Command(name = "holder")
    static final class Holder
    {
        @Mixin
        WarmUp warmUp = new WarmUp();
    }
}
