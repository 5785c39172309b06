package dev.homa.bench.rtt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark's report: one Markdown table row per path with p50/p90/p99/p99.9/max in microseconds and, for a
 * driver path, the p50 and p99 ratios to its floor measured in the same run, checked against the targets: once
 * from all samples pooled, once paired by round (each round's ratio to the floor measured in that round, the
 * median over the rounds, with the lowest and highest). The paired ratio is the one to judge by on a machine whose
 * speed drifts between rounds: pooling puts one path's fast rounds against the floor's slow ones.
 */
public final class RttTable
{
    /** Target p50 ratio to the floor. */
    public static final double P50_TARGET = 1.10;
    /** Target p99 ratio to the floor. */
    public static final double P99_TARGET = 1.30;
    /** A floor whose p99 exceeds its p50 by this factor was disturbed (an unloaded echo's tail is not that wide). */
    public static final double DISTURBED_TAIL = 10.0;

    private RttTable()
    {
    }

    /**
     * Format the report without paired columns.
     *
     * @param results in run order.
     * @return the Markdown table followed by notes.
     */
    public static String format(final List<RttResult> results)
    {
        return format(results, List.of());
    }

    /**
     * Format the report, with paired columns if there are rounds.
     *
     * @param results pooled over the rounds, in run order.
     * @param rounds  each round's results, in the same order (empty: no paired columns).
     * @return the Markdown table followed by notes.
     */
    public static String format(final List<RttResult> results, final List<List<RttResult>> rounds)
    {
        final StringBuilder text = new StringBuilder();
        text.append("| path | samples | timeouts | answered | p50 us | p90 us | p99 us | p99.9 us | max us | " +
            "mean us | p50 / floor | p99 / floor | p50 / floor by round | p99 / floor by round |\n");
        text.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        final StringBuilder notes = new StringBuilder();
        for (final RttResult result : results)
        {
            text.append("| ").append(result.path().id()).append(" | ");
            if (!result.hasSamples())
            {
                text.append("0 | ").append(result.timeouts()).append(" | ").append(answered(result))
                    .append(" | - | - | - | - | - | - | - | - | - | - |\n");
            }
            else
            {
                text.append(result.histogram().getTotalCount()).append(" | ").append(result.timeouts()).append(" | ")
                    .append(answered(result)).append(" | ")
                    .append(us(result.micros(50))).append(" | ")
                    .append(us(result.micros(90))).append(" | ")
                    .append(us(result.micros(99))).append(" | ")
                    .append(us(result.micros(99.9))).append(" | ")
                    .append(us(result.histogram().getMaxValue() / 1000.0)).append(" | ")
                    .append(us(result.histogram().getMean() / 1000.0)).append(" | ");
                final RttResult floor = floorOf(result, results);
                if (null == floor)
                {
                    text.append(null == result.path().floor() ? "floor | floor | floor | floor |\n" :
                        "no floor | no floor | no floor | no floor |\n");
                }
                else
                {
                    final double p50 = result.micros(50) / floor.micros(50);
                    final double p99 = result.micros(99) / floor.micros(99);
                    text.append(ratio(p50, P50_TARGET)).append(" | ");
                    if (floor.micros(99) > DISTURBED_TAIL * floor.micros(50))
                    {
                        // A floor whose p99 is a scheduler stall makes any ratio to it meaningless, not "ok".
                        text.append("n/a, floor p99 disturbed | ");
                    }
                    else
                    {
                        text.append(ratio(p99, P99_TARGET)).append(" | ");
                    }
                    final int pathIndex = results.indexOf(result);
                    final int floorIndex = results.indexOf(floor);
                    text.append(pairedRatio(pathIndex, floorIndex, rounds, 50, P50_TARGET)).append(" | ")
                        .append(pairedRatio(pathIndex, floorIndex, rounds, 99, P99_TARGET)).append(" |\n");
                }
            }
            if (null != result.note())
            {
                notes.append("- ").append(result.path().id()).append(": ").append(result.note()).append('\n');
            }
        }
        if (!notes.isEmpty())
        {
            text.append('\n').append(notes);
        }
        return text.toString();
    }

    private static RttResult floorOf(final RttResult result, final List<RttResult> results)
    {
        final RttPath floor = result.path().floor();
        if (null == floor)
        {
            return null;
        }
        for (final RttResult candidate : results)
        {
            if (floor == candidate.path() && candidate.hasSamples())
            {
                return candidate;
            }
        }
        return null;
    }

    private static String pairedRatio(
        final int path, final int floor, final List<List<RttResult>> rounds, final double percentile,
        final double target)
    {
        final List<Double> ratios = new ArrayList<>();
        for (final List<RttResult> round : rounds)
        {
            if (path < round.size() && floor < round.size() && round.get(path).hasSamples() &&
                round.get(floor).hasSamples())
            {
                ratios.add(round.get(path).micros(percentile) / round.get(floor).micros(percentile));
            }
        }
        if (ratios.isEmpty())
        {
            return "-";
        }
        Collections.sort(ratios);
        final int n = ratios.size();
        final double median = 1 == (n & 1) ? ratios.get(n / 2) : (ratios.get(n / 2 - 1) + ratios.get(n / 2)) / 2;
        return String.format(Locale.ROOT, "%s (%.2f-%.2f, %d)", ratio(median, target), ratios.get(0),
            ratios.get(n - 1), n);
    }

    private static String answered(final RttResult result)
    {
        return result.answered() < 0 ? "?" : result.answered() + "/" + result.attempted();
    }

    private static String us(final double value)
    {
        return String.format(Locale.ROOT, "%.1f", value);
    }

    private static String ratio(final double value, final double target)
    {
        return String.format(Locale.ROOT, "%.2fx %s", value, value <= target ? "ok" : "MISS");
    }
}
