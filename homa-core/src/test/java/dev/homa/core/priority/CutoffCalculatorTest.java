package dev.homa.core.priority;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.homa.core.workload.MessageSizeDistribution;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class CutoffCalculatorTest
{
    private static final int MAX_MESSAGE_LENGTH = 1_000_000;
    private static final int UNSCHEDULED_BYTES = 40_000;

    /**
     * Seeds every workload is checked with (unless -Dhoma.seed names one): the first eight, and those of 60 that put
     * a W2 level furthest off its share, before the balance pass (11, 26, 34, 47: 20-21%) or after it (45: 18%).
     */
    private static final long[] SEEDS = { 1, 2, 3, 4, 5, 6, 7, 8, 11, 26, 34, 45, 47 };

    /**
     * On W4 the cutoffs give each unscheduled level an equal share of the unscheduled
     * bytes within 10%. The other paper workloads are checked too. W2 gets 20%: its seven levels each take 1/7 (14%)
     * of the bytes, while single sizes carry up to 6% (512 bytes: 6.2%, 465: 5.6%, 427: 5.1%) and a cutoff falls
     * between sizes. Over 60 seeds, boundaries placed only at the cumulative count nearest to k shares left a W2
     * level up to 21% off (7 seeds above 20%); with the balance pass the worst is 18%, W1 5% (7% before), W3-W5 3%.
     */
    @ParameterizedTest
    @CsvSource({ "w1, 0.10", "w2, 0.20", "w3, 0.10", "w4, 0.10", "w5, 0.10" })
    void shouldSplitUnscheduledBytesEquallyAcrossLevels(final String name, final double tolerance)
    {
        final MessageSizeDistribution distribution = MessageSizeDistribution.workload(name, MAX_MESSAGE_LENGTH);

        final Long fixed = Long.getLong("homa.seed");
        for (final long seed : null != fixed ? new long[]{ fixed } : SEEDS)
        {
            checkEqualShares(name, tolerance, distribution, seed);
        }
    }

    private static void checkEqualShares(
        final String name, final double tolerance, final MessageSizeDistribution distribution, final long seed)
    {
        System.out.println(name + " seed=" + seed);
        final Random random = new Random(seed);
        final int[] samples = new int[200_000];
        // The window holds every sample, so the shares checked below are of exactly the traffic the cutoffs were
        // computed from (the default window would see only the last 100 000-150 000 of them).
        final CutoffCalculator calculator = new CutoffCalculator(8, UNSCHEDULED_BYTES, MAX_MESSAGE_LENGTH)
            .windowMessages(2 * samples.length);
        for (int i = 0; i < samples.length; i++)
        {
            samples[i] = distribution.sample(random.nextDouble());
            calculator.onMessageStarted(samples[i]);
        }

        final Cutoffs cutoffs = Cutoffs.kernelDefaults();
        assertTrue(calculator.recompute(cutoffs));
        assertEquals(2, cutoffs.version());

        final int levels = calculator.unscheduledLevels();
        final int lowest = 8 - levels;
        final long[] bytesPerLevel = new long[8];
        long unscheduled = 0;
        long total = 0;
        for (final int length : samples)
        {
            final int bytes = Math.min(length, UNSCHEDULED_BYTES);
            bytesPerLevel[cutoffs.unscheduledPriorityFor(length)] += bytes;
            unscheduled += bytes;
            total += length;
        }

        final StringBuilder report = new StringBuilder(name + " seed " + seed + " (replay: -Dhoma.seed=" + seed +
            ") cutoffs ").append(cutoffs).append('\n')
            .append(String.format("unscheduled share of bytes %.4f -> %d unscheduled levels, maxScheduledPriority %d%n",
                (double)unscheduled / total, levels, calculator.maxScheduledPriority()));
        for (int level = 7; level >= lowest; level--)
        {
            report.append(String.format("level %d: cutoff %,d bytes, %.2f%% of unscheduled bytes%n", level,
                cutoffs.cutoff(level), 100.0 * bytesPerLevel[level] / unscheduled));
        }
        System.out.print(report);

        assertEquals(Math.max(1, Math.min(7, Math.round(8.0 * unscheduled / total))), levels);
        assertEquals(7 - levels, calculator.maxScheduledPriority());
        final double share = (double)unscheduled / levels;
        for (int level = 7; level >= lowest; level--)
        {
            final double error = Math.abs(bytesPerLevel[level] - share) / share;
            assertTrue(error <= tolerance, "level " + level + " off its equal share by " + error + "\n" + report);
        }
        for (int level = 0; level < lowest; level++)
        {
            assertEquals(0, bytesPerLevel[level], "scheduled level " + level + " must carry no unscheduled bytes");
        }
        for (int level = 0; level <= lowest; level++)
        {
            assertEquals(MAX_MESSAGE_LENGTH, cutoffs.cutoff(level));
        }
        for (int level = 7; level > lowest; level--)
        {
            assertTrue(cutoffs.cutoff(level) < cutoffs.cutoff(level - 1), "cutoffs must grow downwards");
        }

        assertFalse(calculator.recompute(cutoffs), "same traffic: nothing new to install");
        assertEquals(2, cutoffs.version());
    }

    @Test
    void shouldUseAllButOneLevelForUnscheduledWhenMessagesAreShort()
    {
        final CutoffCalculator calculator = new CutoffCalculator(8, UNSCHEDULED_BYTES, MAX_MESSAGE_LENGTH)
            .minimumMessages(1);
        for (int i = 0; i < 7_000; i++)
        {
            calculator.onMessageStarted(100 * (1 + i % 7));
        }
        final Cutoffs cutoffs = new Cutoffs();
        assertTrue(calculator.recompute(cutoffs));
        assertEquals(7, calculator.unscheduledLevels());
        assertEquals(0, calculator.maxScheduledPriority());
        assertEquals(1, cutoffs.version());
        // Seven sizes carrying 1/28, 2/28 ... 7/28 of the bytes: each level takes whole sizes, shortest highest.
        assertTrue(cutoffs.cutoff(7) >= 100);
        assertEquals(MAX_MESSAGE_LENGTH, cutoffs.cutoff(1));
        assertEquals(MAX_MESSAGE_LENGTH, cutoffs.cutoff(0));
    }

    @Test
    void shouldKeepOneUnscheduledLevelWhenMessagesAreLong()
    {
        final CutoffCalculator calculator = new CutoffCalculator(8, UNSCHEDULED_BYTES, MAX_MESSAGE_LENGTH)
            .minimumMessages(1);
        for (int i = 0; i < 1_000; i++)
        {
            calculator.onMessageStarted(MAX_MESSAGE_LENGTH);
        }
        final Cutoffs cutoffs = new Cutoffs();
        assertTrue(calculator.recompute(cutoffs));
        assertEquals(1, calculator.unscheduledLevels());
        assertEquals(6, calculator.maxScheduledPriority());
        for (int level = 0; level < 8; level++)
        {
            assertEquals(MAX_MESSAGE_LENGTH, cutoffs.cutoff(level), "level " + level);
        }
        assertEquals(7, cutoffs.unscheduledPriorityFor(MAX_MESSAGE_LENGTH));
    }

    /**
     * A size that holds more than two shares of the unscheduled bytes takes one level, and the sizes above it are
     * spread over the levels left: 50 x 100 B, 100 x 1,000 B, 2 x 5,000 B, 2 x 8,000 B over four levels (a share is
     * 32,750 B) give every level its own cutoff. Placing a boundary at each multiple of a share put two at 1,000 B and
     * left 5,000 and 8,000 B to the lowest level.
     */
    @Test
    void shouldGiveEveryLevelItsOwnCutoffPastALump()
    {
        final CutoffCalculator calculator = new CutoffCalculator(8, UNSCHEDULED_BYTES, MAX_MESSAGE_LENGTH)
            .minimumMessages(1)
            .forcedUnscheduledLevels(4);
        final int[][] sizes = { { 100, 50 }, { 1_000, 100 }, { 5_000, 2 }, { 8_000, 2 } };
        for (final int[] size : sizes)
        {
            for (int i = 0; i < size[1]; i++)
            {
                calculator.onMessageStarted(size[0]);
            }
        }
        final Cutoffs cutoffs = new Cutoffs();
        assertTrue(calculator.recompute(cutoffs));
        assertEquals(calculator.bucketUpperBoundFor(100), cutoffs.cutoff(7), cutoffs.toString());
        assertEquals(calculator.bucketUpperBoundFor(1_000), cutoffs.cutoff(6), cutoffs.toString());
        assertEquals(calculator.bucketUpperBoundFor(5_000), cutoffs.cutoff(5), cutoffs.toString());
        assertEquals(MAX_MESSAGE_LENGTH, cutoffs.cutoff(4), cutoffs.toString());
        assertEquals(5, cutoffs.unscheduledPriorityFor(5_000));
        assertEquals(4, cutoffs.unscheduledPriorityFor(8_000));
    }

    @Test
    void shouldBumpVersionOnlyOnChangeAndSkipZero()
    {
        final CutoffCalculator calculator = new CutoffCalculator(8, UNSCHEDULED_BYTES, MAX_MESSAGE_LENGTH)
            .minimumMessages(10);
        final Cutoffs cutoffs = Cutoffs.kernelDefaults().version(0xFFFF);
        for (int i = 0; i < 5; i++)
        {
            calculator.onMessageStarted(1_000);
        }
        assertFalse(calculator.recompute(cutoffs), "below minimumMessages");
        assertEquals(0xFFFF, cutoffs.version());

        for (int i = 0; i < 5; i++)
        {
            calculator.onMessageStarted(500_000);
        }
        assertTrue(calculator.recompute(cutoffs));
        assertEquals(1, cutoffs.version(), "16-bit version wraps past 0");
        assertFalse(calculator.recompute(cutoffs));
        assertEquals(1, cutoffs.version());
        assertEquals(2, calculator.recomputations());
        assertEquals(1, calculator.installs());
    }

    @Test
    void shouldFollowRecentTrafficWithinTheWindow()
    {
        final CutoffCalculator calculator = new CutoffCalculator(8, UNSCHEDULED_BYTES, MAX_MESSAGE_LENGTH)
            .windowMessages(1_000)
            .minimumMessages(100)
            .forcedUnscheduledLevels(2);
        final Cutoffs cutoffs = new Cutoffs();
        for (int i = 0; i < 10_000; i++)
        {
            calculator.onMessageStarted(i % 2 == 0 ? 100 : 200);
        }
        assertTrue(calculator.recompute(cutoffs));
        final int small = cutoffs.cutoff(7);
        assertEquals(calculator.bucketUpperBoundFor(100), small);

        for (int i = 0; i < 1_000; i++)
        {
            calculator.onMessageStarted(i % 2 == 0 ? 10_000 : 20_000);
        }
        assertEquals(1_000, calculator.windowMessageCount());
        assertTrue(calculator.recompute(cutoffs));
        assertEquals(calculator.bucketUpperBoundFor(10_000), cutoffs.cutoff(7), "old traffic has aged out");
        assertEquals(MAX_MESSAGE_LENGTH, cutoffs.cutoff(6));
        assertEquals(5, calculator.maxScheduledPriority());
    }

    @Test
    void shouldShareTheOnlyLevel()
    {
        final CutoffCalculator calculator = new CutoffCalculator(1, UNSCHEDULED_BYTES, MAX_MESSAGE_LENGTH)
            .minimumMessages(1);
        calculator.onMessageStarted(100);
        final Cutoffs cutoffs = new Cutoffs();
        assertTrue(calculator.recompute(cutoffs));
        assertEquals(1, calculator.unscheduledLevels());
        assertEquals(0, calculator.maxScheduledPriority());
        assertEquals(MAX_MESSAGE_LENGTH, cutoffs.cutoff(0));
        assertEquals(0, cutoffs.cutoff(7), "levels not in use are never chosen");
        assertEquals(0, cutoffs.unscheduledPriorityFor(100));
    }

    @Test
    void shouldBucketWithBoundedRelativeError()
    {
        for (int value = 1; value <= MAX_MESSAGE_LENGTH; value += 1 + value / 50)
        {
            final int index = CutoffCalculator.bucketIndex(value);
            final int upper = CutoffCalculator.bucketUpperBound(index);
            assertTrue(upper >= value, "upper " + upper + " < " + value);
            assertTrue(upper - value <= value / 32, "bucket too wide at " + value);
            assertEquals(index + 1, CutoffCalculator.bucketIndex(upper + 1), "buckets must tile at " + value);
        }
    }

    @Test
    void shouldRejectBadArgumentsAndCountBadLengths()
    {
        assertEquals("numPriorities must be in [1, 8]: 9", assertThrows(IllegalArgumentException.class,
            () -> new CutoffCalculator(9, 1, 1)).getMessage());
        assertEquals("unscheduledBytes must be >= 1: 0", assertThrows(IllegalArgumentException.class,
            () -> new CutoffCalculator(8, 0, 1)).getMessage());
        assertEquals("maxMessageLength must be >= 1: 0", assertThrows(IllegalArgumentException.class,
            () -> new CutoffCalculator(8, 1, 0)).getMessage());
        final CutoffCalculator calculator = new CutoffCalculator(8, 1, 1);
        assertThrows(IllegalArgumentException.class, () -> calculator.windowMessages(1));
        assertThrows(IllegalArgumentException.class, () -> calculator.minimumMessages(0));
        assertThrows(IllegalArgumentException.class, () -> calculator.forcedUnscheduledLevels(8));

        calculator.onMessageStarted(0);
        calculator.onMessageStarted(-5);
        assertEquals(2, calculator.rejectedLengths());
        assertEquals(0, calculator.messagesRecorded());
        assertNotNull(calculator.toString());
        assertEquals(4, calculator.unscheduledLevels(), "kernel split before any traffic");
        assertEquals(3, calculator.maxScheduledPriority());
    }
}
