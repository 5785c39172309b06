package dev.homa.bench.load;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The goodput-by-size plot: a PNG of the chart's size, its size axis labelled as the runner names sizes.
 */
class ChartsTest
{
    @Test
    @Timeout(30)
    void goodputBySizeWritesAPng(@TempDir final Path temp) throws IOException
    {
        final Map<String, double[]> series = new LinkedHashMap<>();
        series.put("homa", new double[] { 1.0, 8.2, 29.6, 58.9 });
        series.put("nio", new double[] { 0.4, 4.1, 26.5, Double.NaN });
        final Path file = temp.resolve("goodput.png");
        Charts.goodputBySize(file, "goodput", new double[] { 1e3, 1e4, 1e5, 1e6 }, series);
        final BufferedImage image = ImageIO.read(file.toFile());
        assertNotNull(image, "a PNG");
        assertEquals(900, image.getWidth());
        assertEquals(560, image.getHeight());
    }

    @Test
    @Timeout(10)
    void sizesAreLabelledAsTheRunnerNamesThem()
    {
        final Charts.SizeFormat format = new Charts.SizeFormat();
        assertEquals("100", format.format(100.0));
        assertEquals("1k", format.format(1_000.0));
        assertEquals("300k", format.format(300_000.0));
        assertEquals("1m", format.format(1_000_000.0));
        assertEquals("10m", format.format(10_000_000L));
    }
}
