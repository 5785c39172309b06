package dev.homa.examples.ping;

import java.io.PrintStream;
import java.util.Locale;

import org.HdrHistogram.Histogram;

/**
 * Prints round-trip percentiles from an HdrHistogram of nanoseconds, in microseconds.
 */
final class PingReport
{
    private static final double[] PERCENTILES = { 50, 90, 99, 99.9, 99.99 };

    private PingReport()
    {
    }

    static void print(
        final PrintStream out, final Histogram histogram, final int size, final long timeouts,
        final boolean distribution)
    {
        out.printf(Locale.ROOT, "%d round trips of %d-byte request and response, %d failed or timed out%n",
            histogram.getTotalCount(), size, timeouts);
        if (0 == histogram.getTotalCount())
        {
            return;
        }
        final StringBuilder line = new StringBuilder("RTT us:");
        line.append(String.format(Locale.ROOT, " min %.1f", histogram.getMinValue() / 1000.0));
        for (final double percentile : PERCENTILES)
        {
            line.append(String.format(Locale.ROOT, "  p%s %.1f", trim(percentile),
                histogram.getValueAtPercentile(percentile) / 1000.0));
        }
        line.append(String.format(Locale.ROOT, "  max %.1f  mean %.1f", histogram.getMaxValue() / 1000.0,
            histogram.getMean() / 1000.0));
        out.println(line);
        if (distribution)
        {
            histogram.outputPercentileDistribution(out, 5, 1000.0);
        }
    }

    private static String trim(final double percentile)
    {
        return percentile == Math.rint(percentile) ? Long.toString((long)percentile) : Double.toString(percentile);
    }
}
