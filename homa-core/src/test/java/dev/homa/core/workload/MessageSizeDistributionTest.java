package dev.homa.core.workload;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class MessageSizeDistributionTest
{
    private static MessageSizeDistribution parse(final String text, final int cap) throws Exception
    {
        return MessageSizeDistribution.parse(new BufferedReader(new StringReader(text)), "test.csv", cap);
    }

    @Test
    void shouldSampleFirstPointWhoseCdfIsAtLeastU() throws Exception
    {
        final MessageSizeDistribution distribution = parse("bytes,cdf\n100,0.25\n1000,0.5\n50000,1\n", 10_000);
        assertEquals(3, distribution.pointCount());
        assertEquals(100, distribution.sample(0.0));
        assertEquals(100, distribution.sample(0.25));
        assertEquals(1000, distribution.sample(0.2500001));
        assertEquals(1000, distribution.sample(0.5));
        assertEquals(10_000, distribution.sample(0.75), "capped");
        assertEquals(10_000, distribution.sample(1.0));
        assertEquals(50_000, distribution.sizeAt(2));
        assertEquals(0.25 * 100 + 0.25 * 1000 + 0.5 * 10_000, distribution.meanBytes(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> distribution.sample(1.5));
        assertThrows(IllegalArgumentException.class, () -> distribution.sample(Double.NaN));
    }

    @Test
    void shouldSampleAsAFullSearchWouldForEveryWorkload()
    {
        // The sample narrows its search by the draw's range first: it must still find the first point whose cdf
        // reaches u, at the ranges' edges, at the points' own cdfs and just past them, and for random draws.
        final SplittableRandom random = new SplittableRandom(42);
        for (final String name : new String[] { "w1", "w2", "w3", "w4", "w5" })
        {
            final MessageSizeDistribution distribution = MessageSizeDistribution.workload(name, Integer.MAX_VALUE);
            final double[] cdf = new double[distribution.pointCount()];
            for (int i = 0; i < cdf.length; i++)
            {
                cdf[i] = distribution.cdfAt(i);
            }
            final List<Double> draws = new ArrayList<>();
            for (int b = 0; b <= 1024; b++)
            {
                draws.add(b / 1024.0);
                draws.add(Math.nextDown(b / 1024.0));
            }
            for (final double c : cdf)
            {
                draws.add(c);
                draws.add(Math.nextUp(c));
                draws.add(Math.nextDown(c));
            }
            for (int i = 0; i < 20_000; i++)
            {
                draws.add(random.nextDouble());
            }
            for (final double u : draws)
            {
                if (u < 0.0 || u > 1.0)
                {
                    continue;
                }
                int first = 0;
                while (first < cdf.length - 1 && cdf[first] < u)
                {
                    first++;
                }
                assertEquals(distribution.sizeAt(first), distribution.sample(u), name + " at u = " + u);
            }
        }
    }

    @Test
    void shouldRejectMalformedFilesWithLineNumbers()
    {
        assertMalformed("test.csv:1: expected header 'bytes,cdf' but was 'size,p'", "size,p\n1,1\n");
        assertMalformed("test.csv:3: sizes must increase: 5 after 10", "bytes,cdf\n10,0.5\n5,1\n");
        assertMalformed("test.csv:3: cdf must not decrease: 0.4 after 0.5", "bytes,cdf\n10,0.5\n20,0.4\n");
        assertMalformed("test.csv:2: not a number: x,1", "bytes,cdf\nx,1\n");
        assertMalformed("test.csv:2: size must be >= 1: 0", "bytes,cdf\n0,1\n");
        assertMalformed("test.csv: last cdf must be 1 but was 0.9", "bytes,cdf\n10,0.9\n");
        assertMalformed("test.csv: no points", "bytes,cdf\n");
        assertMalformed("capBytes must be >= 1: 0", "bytes,cdf\n10,1\n", 0);
    }

    @Test
    void shouldMatchPublishedMeanOfW4()
    {
        // workloads.md: W4 mean 127,796.6 bytes; capped at 1 MB, 60,175.1.
        assertEquals(127_796.6, MessageSizeDistribution.workload("w4", Integer.MAX_VALUE).meanBytes(), 0.1);
        final MessageSizeDistribution capped = MessageSizeDistribution.workload("w4", 1_000_000);
        assertEquals(60_175.1, capped.meanBytes(), 0.1);
        assertEquals(460, capped.pointCount());
        assertTrue(capped.sample(1.0) <= 1_000_000);
    }

    private static void assertMalformed(final String expected, final String text)
    {
        assertMalformed(expected, text, Integer.MAX_VALUE);
    }

    private static void assertMalformed(final String expected, final String text, final int cap)
    {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> parse(text, cap)).getMessage());
    }
}
