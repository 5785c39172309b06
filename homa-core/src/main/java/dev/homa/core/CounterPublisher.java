package dev.homa.core;

import dev.homa.core.metrics.CountersFile;
import dev.homa.core.metrics.HomaMetrics;

/**
 * Gets the engine's counters out: copies the driver's into them and, when there is a counters file, every counter
 * into it for other processes (homa-stat), every {@code countersIntervalNs}; and counts duty cycles that stalled.
 */
final class CounterPublisher
{
    private final HomaMetrics metrics;
    private final long intervalNs;
    private final long stallThresholdNs;
    private final long startNs;
    private final long startEpochMs;
    private long nextNs;
    private CountersFile countersFile;

    /**
     * @param metrics          the engine's counters.
     * @param intervalNs       time between publications.
     * @param stallThresholdNs a duty cycle longer than this is a stall.
     * @param startNs          the engine's start on its clock.
     * @param startEpochMs     the same instant on the wall clock, for the counters file's heartbeat.
     */
    CounterPublisher(
        final HomaMetrics metrics,
        final long intervalNs,
        final long stallThresholdNs,
        final long startNs,
        final long startEpochMs)
    {
        this.startEpochMs = startEpochMs;
        this.metrics = metrics;
        this.intervalNs = intervalNs;
        this.stallThresholdNs = stallThresholdNs;
        this.startNs = startNs;
    }

    /**
     * @param countersFile the file to publish to, or null.
     */
    void countersFile(final CountersFile countersFile)
    {
        this.countersFile = countersFile;
    }

    /**
     * @return the file published to, or null.
     */
    CountersFile countersFile()
    {
        return countersFile;
    }

    /**
     * Publish if the interval has passed.
     *
     * @param nowNs the duty cycle's time.
     */
    void publishIfDue(final long nowNs)
    {
        if (nowNs - nextNs >= 0)
        {
            nextNs = nowNs + intervalNs;
            publish(nowNs);
        }
    }

    /**
     * Copy the driver's counters into the metrics and, if there is one, every counter into the counters file.
     *
     * @param nowNs the time on the engine's clock.
     */
    void publish(final long nowNs)
    {
        metrics.copyDriverCounters();
        if (null != countersFile)
        {
            countersFile.update(startEpochMs + (nowNs - startNs) / 1_000_000);
        }
    }

    /**
     * Publish the final values and close the file.
     *
     * @param nowNs the time on the engine's clock.
     */
    void close(final long nowNs)
    {
        publish(nowNs);
        if (null != countersFile)
        {
            countersFile.close();
            countersFile = null;
        }
    }

    /**
     * A duty cycle that did some work took this long: a stall past the threshold is counted, as Aeron counts its
     * agents' (a protocol thread that stops for a garbage collection, a page fault or a busy core delays every RPC).
     *
     * @param cycleNs the cycle's duration.
     */
    void onCycleEnd(final long cycleNs)
    {
        metrics.max(HomaMetrics.DUTY_CYCLE_MAX_NS, cycleNs);
        if (cycleNs > stallThresholdNs)
        {
            metrics.increment(HomaMetrics.DUTY_CYCLE_STALLS);
        }
    }
}
