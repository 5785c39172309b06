package dev.homa.bench.priority;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.nic.frame.PriorityMapping;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.homa.core.priority.CutoffCalculator;
import dev.homa.core.priority.Cutoffs;
import dev.homa.core.workload.MessageSizeDistribution;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of one recomputation of the unscheduled cutoffs (the engine runs it on its own thread once per cutoff
 * interval, 1 s by default, so it is a pause of that length in the duty cycle), over the statistics of 200 000
 * messages of a paper workload ({@link MessageSizeDistribution#workload(String, int)}).
 * <pre>
 * java -jar homa-bench/target/benchmarks.jar CutoffCalculator -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class CutoffCalculatorBenchmark
{
    private static final int MAX_MESSAGE_LENGTH = DataHeaderFlyweight.MAX_MESSAGE_LENGTH;
    private static final int UNSCHEDULED_BYTES = 40_000;

    @Param({ "w1", "w2", "w3", "w4", "w5" })
    String workload;

    private CutoffCalculator calculator;
    private Cutoffs cutoffs;

    /**
     * Fill the statistics from a seeded sample of the workload.
     */
    @Setup
    public void setUp()
    {
        final MessageSizeDistribution distribution =
            MessageSizeDistribution.workload(workload, MAX_MESSAGE_LENGTH);
        calculator = new CutoffCalculator(PriorityMapping.LEVELS, UNSCHEDULED_BYTES, MAX_MESSAGE_LENGTH)
            .windowMessages(400_000);
        final Random random = new Random(4);
        for (int i = 0; i < 200_000; i++)
        {
            calculator.onMessageStarted(distribution.sample(random.nextDouble()));
        }
        cutoffs = Cutoffs.kernelDefaults();
    }

    /**
     * {@return whether new cutoffs were installed (only the first time; every call computes them)}
     */
    @Benchmark
    public boolean recompute()
    {
        return calculator.recompute(cutoffs);
    }
}
