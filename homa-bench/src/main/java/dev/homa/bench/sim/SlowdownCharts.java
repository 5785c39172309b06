package dev.homa.bench.sim;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The simulator's plots, in the paper's layout: slowdown against message size, one line per transport, the x-axis
 * in deciles of the message count (each tick labelled with the largest size of its bucket), the y-axis logarithmic.
 */
final class SlowdownCharts
{
    private static final int WIDTH = 1000;
    private static final int HEIGHT = 600;
    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0x17becf), new Color(0x7f7f7f) };

    private SlowdownCharts()
    {
    }

    /**
     * One PNG for runs of one workload at one load.
     *
     * @param file       where.
     * @param runs       the transports' runs (same workload, load and buckets).
     * @param percentile 50 or 99.
     */
    static void slowdownBySize(final Path file, final List<RunResult> runs, final int percentile)
    {
        final DefaultCategoryDataset data = new DefaultCategoryDataset();
        double lowest = Double.MAX_VALUE;
        double highest = 1.0;
        for (final RunResult run : runs)
        {
            final double[] values = 99 == percentile ? run.p99() : run.p50();
            for (int b = 0; b < values.length; b++)
            {
                if (!Double.isNaN(values[b]))
                {
                    data.addValue(Math.log10(values[b]), run.spec().variant().label(), label(run, b));
                    lowest = Math.min(lowest, values[b]);
                    highest = Math.max(highest, values[b]);
                }
            }
        }
        final RunSpec spec = runs.getFirst().spec();
        final CategoryAxis x = new CategoryAxis("message size (bytes): largest of each bucket of 10% of messages");
        x.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        final NumberAxis y = new NumberAxis(percentile + "th percentile slowdown (log scale)");
        y.setRange(Math.log10(Math.min(1.0, lowest) * 0.95), Math.log10(Math.max(2.0, highest * 1.2)));
        y.setNumberFormatOverride(new PowerOfTenFormat());
        final LineAndShapeRenderer renderer = new LineAndShapeRenderer(true, true);
        for (int i = 0; i < runs.size(); i++)
        {
            renderer.setSeriesStroke(i, new BasicStroke(2.0f));
            renderer.setSeriesPaint(i, COLORS[i % COLORS.length]);
        }
        final CategoryPlot plot = new CategoryPlot(data, x, y, renderer);
        style(plot);
        save(file, new JFreeChart(String.format(Locale.ROOT, "%s at %.0f%% load, %d hosts: %dth percentile " +
            "slowdown", spec.workload().name(), spec.load() * 100, spec.topology().hosts(), percentile),
            JFreeChart.DEFAULT_TITLE_FONT, plot, true));
    }

    /**
     * Bars of the highest sustainable load per workload and transport.
     *
     * @param file     where.
     * @param outcomes the searches.
     */
    static void maxLoad(final Path file, final List<LoadSearch.Outcome> outcomes)
    {
        final DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (final LoadSearch.Outcome outcome : outcomes)
        {
            data.addValue(outcome.maxLoad() * 100, outcome.variant().label(), outcome.workload());
        }
        final NumberAxis y = new NumberAxis("highest load delivered within 1% (% of host link)");
        y.setRange(0, 100);
        final BarRenderer renderer = new BarRenderer();
        for (int i = 0; i < COLORS.length; i++)
        {
            renderer.setSeriesPaint(i, COLORS[i]);
        }
        final CategoryPlot plot = new CategoryPlot(data, new CategoryAxis("workload"), y, renderer);
        style(plot);
        save(file, new JFreeChart("Highest sustainable load", JFreeChart.DEFAULT_TITLE_FONT, plot, true));
    }

    private static String label(final RunResult run, final int bucket)
    {
        final int bytes = run.bucketMaxBytes()[bucket];
        final String size = bytes >= 1_000_000 ? String.format(Locale.ROOT, "%.1fM", bytes / 1e6) :
            bytes >= 1_000 ? String.format(Locale.ROOT, "%.1fK", bytes / 1e3) : Integer.toString(bytes);
        return size;
    }

    private static void style(final CategoryPlot plot)
    {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinesVisible(true);
        plot.setDomainGridlinesVisible(true);
    }

    private static void save(final Path file, final JFreeChart chart)
    {
        chart.setBackgroundPaint(Color.WHITE);
        try
        {
            ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write " + file, ex);
        }
    }

    /**
     * Labels an axis that carries log10 of its values with the values themselves.
     */
    private static final class PowerOfTenFormat extends java.text.NumberFormat
    {
        private static final long serialVersionUID = 1L;

        @Override
        public StringBuffer format(final double number, final StringBuffer toAppendTo,
            final java.text.FieldPosition pos)
        {
            final double value = Math.pow(10, number);
            return toAppendTo.append(value >= 10 ? String.format(Locale.ROOT, "%.0f", value) :
                String.format(Locale.ROOT, "%.2g", value));
        }

        @Override
        public StringBuffer format(final long number, final StringBuffer toAppendTo,
            final java.text.FieldPosition pos)
        {
            return format((double)number, toAppendTo, pos);
        }

        @Override
        public Number parse(final String source, final java.text.ParsePosition parsePosition)
        {
            throw new UnsupportedOperationException("labels only");
        }
    }
}
