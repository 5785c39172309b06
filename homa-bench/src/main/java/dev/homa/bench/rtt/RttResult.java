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
 * @param answered  requests the server reports it answered (warm-up included), -1 if unknown.
 */
public record RttResult(
    RttPath path, Histogram histogram, long timeouts, long warmups, long elapsedNs, String note, long answered)
{
    /**
     * The result of a path that did not run.
     *
     * @param path   the path.
     * @param reason why it did not run.
     * @return a result without samples.
     */
    public static RttResult skipped(final RttPath path, final String reason)
    {
        return new RttResult(path, null, 0, 0, 0, reason, -1);
    }

    /**
     * A copy with the server's count of answered requests.
     *
     * @param count what the server reported.
     * @return a copy with {@link #answered()} set.
     */
    public RttResult withAnswered(final long count)
    {
        return new RttResult(path, histogram, timeouts, warmups, elapsedNs, note, count);
    }

    /**
     * Combine two rounds of the same path.
     *
     * @param other the later round.
     * @return both rounds' samples, counts and notes.
     */
    public RttResult merge(final RttResult other)
    {
        final Histogram both;
        if (null == histogram || null == other.histogram)
        {
            both = null == histogram ? other.histogram : histogram;
        }
        else
        {
            both = histogram.copy();
            both.add(other.histogram);
        }
        final String notes = null == note ? other.note : null == other.note ? note : note + "; " + other.note;
        final long count = answered < 0 || other.answered < 0 ? -1 : answered + other.answered;
        return new RttResult(path, both, timeouts + other.timeouts, warmups + other.warmups,
            elapsedNs + other.elapsedNs, notes, count);
    }

    /**
     * {@return round trips attempted: warm-up, recorded samples and timeouts}
     */
    public long attempted()
    {
        return warmups + timeouts + (null == histogram ? 0 : histogram.getTotalCount());
    }

    /**
     * {@return true if there are samples}
     */
    public boolean hasSamples()
    {
        return null != histogram && histogram.getTotalCount() > 0;
    }

    /**
     * A percentile of the round-trip times.
     *
     * @param percentile 0..100.
     * @return that percentile in microseconds.
     */
    public double micros(final double percentile)
    {
        return histogram.getValueAtPercentile(percentile) / 1000.0;
    }
}
