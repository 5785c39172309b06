package dev.homa.bench.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The runner's output: Markdown tables printed as each scenario ends (and written to a file at the end), and one CSV
 * row per trial and round.
 */
final class Report
{
    static final String CSV_HEADER = "scenario,path,transport,round,clients,outstanding,sizes,rate_per_client," +
        "goodput_gbps,rpcs_per_s,p50_us,p99_us,p999_us,cpu_s_per_gb,errors,verify_failures,warmup_s,note";

    private final StringBuilder markdown = new StringBuilder();
    private final List<String> csv = new ArrayList<>();

    void heading(final String text)
    {
        print("\n### " + text + "\n");
    }

    void line(final String text)
    {
        print(text);
    }

    /**
     * @param columns header cells.
     */
    void tableHeader(final String... columns)
    {
        print("| " + String.join(" | ", columns) + " |");
        final String[] rules = new String[columns.length];
        Arrays.fill(rules, "---");
        print("| " + String.join(" | ", rules) + " |");
    }

    void tableRow(final Object... cells)
    {
        final StringBuilder row = new StringBuilder("|");
        for (final Object cell : cells)
        {
            row.append(' ').append(cell).append(" |");
        }
        print(row.toString());
    }

    void csvRow(
        final String scenario, final Hosts hosts, final Trial.Result result, final int round, final LoadSpec spec,
        final int clients, final String note)
    {
        final LoadStats total = result.total();
        final org.HdrHistogram.Histogram latency = total.allLatency();
        csv.add(String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%d,%s,%.1f,%.4f,%.1f,%.1f,%.1f,%.1f,%.3f,%d,%d,%.0f,%s",
            scenario, hosts.path, result.peer().name(), round, clients, spec.outstanding, spec.sizes, spec.rate,
            result.goodputGbps(), result.rpcsPerSecond(), us(latency.getValueAtPercentile(50)),
            us(latency.getValueAtPercentile(99)), us(latency.getValueAtPercentile(99.9)), result.cpuSecondsPerGb(),
            total.errors, total.verifyFailures, result.warmupSeconds(), note));
    }

    void write(final Path markdownFile, final Path csvFile)
    {
        try
        {
            if (null != markdownFile)
            {
                Files.writeString(markdownFile, markdown.toString(), StandardCharsets.UTF_8);
            }
            if (null != csvFile)
            {
                final List<String> lines = new ArrayList<>();
                lines.add(CSV_HEADER);
                lines.addAll(csv);
                Files.write(csvFile, lines, StandardCharsets.UTF_8);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    static double us(final long nanos)
    {
        return nanos / 1000.0;
    }

    static String f(final double value, final int decimals)
    {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    /**
     * @param values samples.
     * @return their median (NaN for none).
     */
    static double median(final List<Double> values)
    {
        final double[] sorted = values.stream().filter(v -> !Double.isNaN(v)).mapToDouble(Double::doubleValue)
            .sorted().toArray();
        if (0 == sorted.length)
        {
            return Double.NaN;
        }
        final int mid = sorted.length / 2;
        return 0 == sorted.length % 2 ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[mid];
    }

    /**
     * @param results trials, one per round.
     * @param base    the figure each is held against, one per round.
     * @return the median over the rounds of each trial's goodput over its round's base.
     */
    static double pairedRatio(final List<Trial.Result> results, final List<Double> base)
    {
        final List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < Math.min(results.size(), base.size()); r++)
        {
            ratios.add(results.get(r).goodputGbps() / base.get(r));
        }
        return median(ratios);
    }

    private void print(final String text)
    {
        System.out.println(text);
        System.out.flush();
        markdown.append(text).append('\n');
    }
}
