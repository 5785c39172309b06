package dev.homa.bench.load;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.Locale;
import java.util.Map;

/**
 * The runner's plots, drawn with JFreeChart.
 */
final class Charts
{
    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;

    private Charts()
    {
    }

    /**
     * Goodput against message size, one line per transport, sizes on a log axis.
     *
     * @param file   the PNG to write.
     * @param title  the chart's title.
     * @param sizes  message sizes (x).
     * @param series goodput in Gb/s per transport, one value per size.
     */
    static void goodputBySize(final Path file, final String title, final double[] sizes,
        final Map<String, double[]> series)
    {
        final XYSeriesCollection data = new XYSeriesCollection();
        for (final Map.Entry<String, double[]> entry : series.entrySet())
        {
            final XYSeries line = new XYSeries(entry.getKey());
            for (int i = 0; i < sizes.length; i++)
            {
                if (!Double.isNaN(entry.getValue()[i]))
                {
                    line.add(sizes[i], entry.getValue()[i]);
                }
            }
            data.addSeries(line);
        }
        final LogAxis x = new LogAxis("message size (bytes, request = response)");
        x.setBase(10);
        x.setSmallestValue(1);
        // A tick a decade, named as the runner's sizes are (1k, 100k, 1m), not as powers of ten.
        x.setTickUnit(new NumberTickUnit(1));
        x.setNumberFormatOverride(new SizeFormat());
        final NumberAxis y = new NumberAxis("goodput (Gb/s, request + response bytes)");
        y.setAutoRangeIncludesZero(true);
        final XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++)
        {
            renderer.setSeriesStroke(i, new BasicStroke(2.0f));
        }
        final XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        final JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
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
     * Labels a byte count in the runner's size notation: 1k = 1,000 bytes, 1m = 1,000,000.
     */
    static final class SizeFormat extends NumberFormat
    {
        private static final long serialVersionUID = 1L;

        @Override
        public StringBuffer format(final double number, final StringBuffer toAppendTo, final FieldPosition pos)
        {
            if (number >= 1e6)
            {
                return toAppendTo.append(String.format(Locale.ROOT, "%.0fm", number / 1e6));
            }
            if (number >= 1e3)
            {
                return toAppendTo.append(String.format(Locale.ROOT, "%.0fk", number / 1e3));
            }
            return toAppendTo.append(String.format(Locale.ROOT, "%.0f", number));
        }

        @Override
        public StringBuffer format(final long number, final StringBuffer toAppendTo, final FieldPosition pos)
        {
            return format((double)number, toAppendTo, pos);
        }

        @Override
        public Number parse(final String source, final ParsePosition parsePosition)
        {
            throw new UnsupportedOperationException("labels only");
        }
    }
}
