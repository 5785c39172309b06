package dev.homa.bench.sim;

import dev.homa.nic.frame.PriorityMapping;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The simulator's CSV files. {@value #RESULTS} (slowdown per size bucket) and {@value #SUMMARY} (loads, waste,
 * queues per run) hold only what the seed determines, written in a fixed order with fixed precision, so the same
 * command and seed give byte-identical files; {@value #SPEED} holds the wall-clock figures of the same runs.
 */
final class ResultFiles
{
    static final String RESULTS = "results.csv";
    static final String SUMMARY = "summary.csv";
    static final String SPEED = "speed.csv";
    static final String MAX_LOAD = "max-load.csv";
    static final String COUNTERS = "counters.csv";

    private ResultFiles()
    {
    }

    /**
     * Write the three files of a set of runs.
     *
     * @param directory where.
     * @param results   the runs, in the order to list them.
     */
    static void write(final Path directory, final List<RunResult> results)
    {
        final StringBuilder buckets = new StringBuilder(
            "workload,load,transport,bucket,bucket_max_bytes,messages,p50_slowdown,p99_slowdown,incomplete\n");
        final StringBuilder summary = new StringBuilder("workload,load,transport,hosts,offered_load,delivered_load," +
            "delivered_share,received_load,received_share,receivable_load,received_of_receivable,wasted_downlink," +
            "measured_requests,incomplete,refused,failed,drops,packets,simulated_ms,warmup_ms,window_ms");
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            summary.append(",host_port_peak_bytes_l").append(level);
        }
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            summary.append(",fabric_port_peak_bytes_l").append(level);
        }
        summary.append(",rpc_p50_slowdown,rpc_p99_slowdown,late_sent_load,late_received_share");
        for (final Tier tier : Tier.values())
        {
            summary.append(',').append(tier.column).append("_busy,").append(tier.column).append("_busy_max");
        }
        summary.append('\n');
        final StringBuilder speed =
            new StringBuilder("workload,load,transport,hosts,packets,wall_s,packets_per_s,cpu_s,packets_per_cpu_s\n");
        final StringBuilder counters = new StringBuilder("workload,load,transport,counter,value\n");
        for (final RunResult result : results)
        {
            final RunSpec spec = result.spec();
            final String key = spec.workload().name() + ',' + format(spec.load(), 2) + ',' + spec.variant().id();
            for (int b = 0; b < result.bucketCounts().length; b++)
            {
                buckets.append(key).append(',').append(b + 1).append(',').append(result.bucketMaxBytes()[b])
                    .append(',').append(result.bucketCounts()[b]).append(',').append(format(result.p50()[b], 3))
                    .append(',').append(format(result.p99()[b], 3)).append(',').append(result.incomplete()[b])
                    .append('\n');
            }
            summary.append(key).append(',').append(spec.topology().hosts()).append(',')
                .append(format(result.offeredLoad(), 4)).append(',').append(format(result.deliveredLoad(), 4))
                .append(',').append(format(result.deliveredShare(), 4)).append(',')
                .append(format(result.receivedLoad(), 4)).append(',').append(format(result.receivedShare(), 4))
                .append(',').append(format(result.receivableLoad(), 4)).append(',')
                .append(format(result.receivedOfReceivable(), 4)).append(',')
                .append(format(result.wastedDownlink(), 4)).append(',').append(result.measuredRequests())
                .append(',').append(result.incompleteTotal()).append(',').append(result.refused()).append(',')
                .append(result.failed()).append(',').append(result.drops()).append(',').append(result.packets())
                .append(',').append(format(result.simulatedNs() / 1e6, 3)).append(',')
                .append(format(spec.warmupNs() / 1e6, 3)).append(',').append(format(spec.windowNs() / 1e6, 3));
            for (final long peak : result.hostPortPeakBytes())
            {
                summary.append(',').append(peak);
            }
            for (final long peak : result.fabricPortPeakBytes())
            {
                summary.append(',').append(peak);
            }
            summary.append(',').append(format(result.rpcP50(), 3)).append(',').append(format(result.rpcP99(), 3))
                .append(',').append(format(result.lateSentLoad(), 4)).append(',')
                .append(format(result.lateReceivedShare(), 4));
            for (final double busy : result.tierBusy())
            {
                summary.append(',').append(format(busy, 4));
            }
            summary.append('\n');
            for (final java.util.Map.Entry<String, Long> counter : result.counters().entrySet())
            {
                counters.append(key).append(',').append(counter.getKey()).append(',').append(counter.getValue())
                    .append('\n');
            }
            speed.append(key).append(',').append(spec.topology().hosts()).append(',').append(result.packets())
                .append(',').append(format(result.wallNs() / 1e9, 2)).append(',')
                .append(format(result.packetsPerSecond(), 0)).append(',').append(format(result.cpuNs() / 1e9, 2))
                .append(',').append(format(result.packetsPerCpuSecond(), 0)).append('\n');
        }
        write(directory.resolve(RESULTS), buckets);
        write(directory.resolve(SUMMARY), summary);
        write(directory.resolve(SPEED), speed);
        write(directory.resolve(COUNTERS), counters);
    }

    /**
     * Write the highest sustainable loads.
     *
     * @param directory where.
     * @param rows      one per workload and transport: workload, transport, load, probes.
     */
    static void writeMaxLoad(final Path directory, final List<LoadSearch.Outcome> rows)
    {
        final StringBuilder out = new StringBuilder("workload,transport,max_sustainable_load,probes\n");
        for (final LoadSearch.Outcome row : rows)
        {
            out.append(row.workload()).append(',').append(row.variant().id()).append(',')
                .append(format(row.maxLoad(), 2)).append(',').append(row.probes()).append('\n');
        }
        write(directory.resolve(MAX_LOAD), out);
    }

    static String format(final double value, final int decimals)
    {
        return Double.isNaN(value) ? "" : String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    /**
     * Write a text file, creating its directory.
     *
     * @param file where.
     * @param text what.
     */
    static void write(final Path file, final CharSequence text)
    {
        try
        {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, text, StandardCharsets.US_ASCII);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write " + file, ex);
        }
    }
}
