package dev.homa.bench.rtt;

import org.HdrHistogram.Histogram;

/**
 * What one path measured.
 *
 * @param path      the path.
 * @param histogram round-trip times in nanoseconds (null if the path could not run).
 * @param timeouts  round trips that got no reply in time (not in the histogram).
 * @param warmups   round trips done before measuring.
 * @param elapsedNs duration of the measured phase.
 * @param note      why the path did not run or was cut short; null if it ran fully.
 */
public record RttResult(RttPath path, Histogram histogram, long timeouts, long warmups, long elapsedNs, String note)
{
    /**
     * @param path   the path.
     * @param reason why it did not run.
     * @return a result without samples.
     */
    public static RttResult skipped(final RttPath path, final String reason)
    {
        return new RttResult(path, null, 0, 0, 0, reason);
    }

    /**
     * @return true if there are samples.
     */
    public boolean hasSamples()
    {
        return null != histogram && histogram.getTotalCount() > 0;
    }

    /**
     * @param percentile 0..100.
     * @return that percentile in microseconds.
     */
    public double micros(final double percentile)
    {
        return histogram.getValueAtPercentile(percentile) / 1000.0;
    }
}
