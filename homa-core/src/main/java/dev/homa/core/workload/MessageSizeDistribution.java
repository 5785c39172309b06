package dev.homa.core.workload;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A discrete message-size distribution loaded from a workload CSV with the header {@code bytes,cdf} (one point per
 * line, sizes strictly increasing, cdf non-decreasing and ending at 1), e.g. the paper's W1-W5 that ship with the
 * library ({@link #workload(String, int)}).
 * <p>
 * The points live in two primitive arrays; {@link #sample(double)} binary-searches them and never allocates, so a
 * load generator can draw per message. Sampling follows HomaModule's dist.cc: the first point whose cdf is
 * {@code >= u}. An optional cap clips every size (cp_node caps at HOMA_MAX_MESSAGE_LENGTH, 1,000,000 bytes).
 */
public final class MessageSizeDistribution
{
    /**
     * Header line every workload CSV starts with.
     */
    public static final String HEADER = "bytes,cdf";

    /** Buckets of the draw's range in {@link #guide}. */
    private static final int GUIDE_BUCKETS = 1024;

    private final int[] sizes;
    private final double[] cdf;
    private final int capBytes;
    /**
     * For each b from 0 to {@link #GUIDE_BUCKETS} + 1, the first point whose cdf reaches b / GUIDE_BUCKETS (or 1): a
     * draw in [b / GUIDE_BUCKETS, (b + 1) / GUIDE_BUCKETS) is answered by a point between guide[b] and guide[b + 1],
     * so the search covers a few points instead of all of them (b = GUIDE_BUCKETS holds only the draw 1).
     */
    private final int[] guide;

    private MessageSizeDistribution(final int[] sizes, final double[] cdf, final int capBytes)
    {
        this.sizes = sizes;
        this.cdf = cdf;
        this.capBytes = capBytes;
        this.guide = new int[GUIDE_BUCKETS + 2];
        for (int b = 0; b <= GUIDE_BUCKETS + 1; b++)
        {
            guide[b] = firstReaching(Math.min(1.0, (double)b / GUIDE_BUCKETS), 0, cdf.length - 1);
        }
    }

    /**
     * The paper's workloads shipped with this library: {@code w1} .. {@code w5}.
     */
    public static final String[] WORKLOADS = { "w1", "w2", "w3", "w4", "w5" };

    /**
     * One of the SIGCOMM paper's workloads W1-W5, as HomaModule's util/dist.cc holds them (extracted by
     * {@code docs/workloads/extract_workloads.py}); the tables ship inside this jar.
     *
     * @param name     {@code w1} .. {@code w5}.
     * @param capBytes largest size returned by {@link #sample(double)}, at least 1 (cp_node caps at 1,000,000).
     * @return the distribution.
     * @throws IllegalArgumentException if there is no workload of that name.
     */
    public static MessageSizeDistribution workload(final String name, final int capBytes)
    {
        final String fileName = name + ".csv";
        try (InputStream in = MessageSizeDistribution.class.getResourceAsStream(fileName))
        {
            if (null == in)
            {
                throw new IllegalArgumentException("no workload '" + name + "': the workloads are " +
                    String.join(", ", WORKLOADS));
            }
            return parse(new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII)), fileName,
                capBytes);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read workload " + fileName, ex);
        }
    }

    /**
     * Load a CSV without a cap.
     *
     * @param path the CSV file.
     * @return the distribution.
     * @throws UncheckedIOException     when the file cannot be read.
     * @throws IllegalArgumentException when the content is malformed (with file and line number).
     */
    public static MessageSizeDistribution load(final Path path)
    {
        return load(path, Integer.MAX_VALUE);
    }

    /**
     * Load a CSV, clipping every sampled size to {@code capBytes}.
     *
     * @param path     the CSV file.
     * @param capBytes largest size returned by {@link #sample(double)}, at least 1.
     * @return the distribution.
     * @throws UncheckedIOException     when the file cannot be read.
     * @throws IllegalArgumentException when the content is malformed (with file and line number) or the cap is
     *                                  not positive.
     */
    public static MessageSizeDistribution load(final Path path, final int capBytes)
    {
        try (BufferedReader reader = Files.newBufferedReader(path, StandardCharsets.US_ASCII))
        {
            return parse(reader, path.toString(), capBytes);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read workload " + path, ex);
        }
    }

    /**
     * Parse CSV text (as read from a file or a resource).
     *
     * @param reader   source of the CSV text; not closed.
     * @param name     name used in error messages.
     * @param capBytes largest size returned by {@link #sample(double)}, at least 1.
     * @return the distribution.
     * @throws IOException              when reading fails.
     * @throws IllegalArgumentException when the content is malformed or the cap is not positive.
     */
    public static MessageSizeDistribution parse(final BufferedReader reader, final String name, final int capBytes)
        throws IOException
    {
        if (capBytes < 1)
        {
            throw new IllegalArgumentException("capBytes must be >= 1: " + capBytes);
        }

        final String header = reader.readLine();
        if (null == header || !HEADER.equals(header.strip()))
        {
            throw new IllegalArgumentException(name + ":1: expected header '" + HEADER + "' but was '" + header + "'");
        }

        int[] sizes = new int[256];
        double[] cdf = new double[256];
        int count = 0;
        int lineNumber = 1;
        String line;
        while (null != (line = reader.readLine()))
        {
            lineNumber++;
            final String text = line.strip();
            if (text.isEmpty())
            {
                continue;
            }

            final int comma = text.indexOf(',');
            if (comma < 0)
            {
                throw new IllegalArgumentException(name + ":" + lineNumber + ": expected 'bytes,cdf': " + text);
            }

            final int size;
            final double probability;
            try
            {
                size = Integer.parseInt(text.substring(0, comma).strip());
                probability = Double.parseDouble(text.substring(comma + 1).strip());
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException(name + ":" + lineNumber + ": not a number: " + text, ex);
            }

            if (size < 1)
            {
                throw new IllegalArgumentException(name + ":" + lineNumber + ": size must be >= 1: " + size);
            }
            if (!(probability > 0.0 && probability <= 1.0))
            {
                throw new IllegalArgumentException(name + ":" + lineNumber + ": cdf must be in (0, 1]: " + probability);
            }
            if (count > 0 && size <= sizes[count - 1])
            {
                throw new IllegalArgumentException(
                    name + ":" + lineNumber + ": sizes must increase: " + size + " after " + sizes[count - 1]);
            }
            if (count > 0 && probability < cdf[count - 1])
            {
                throw new IllegalArgumentException(
                    name + ":" + lineNumber + ": cdf must not decrease: " + probability + " after " + cdf[count - 1]);
            }

            if (count == sizes.length)
            {
                sizes = Arrays.copyOf(sizes, count * 2);
                cdf = Arrays.copyOf(cdf, count * 2);
            }
            sizes[count] = size;
            cdf[count] = probability;
            count++;
        }

        if (0 == count)
        {
            throw new IllegalArgumentException(name + ": no points");
        }
        if (1.0 != cdf[count - 1])
        {
            throw new IllegalArgumentException(name + ": last cdf must be 1 but was " + cdf[count - 1]);
        }

        return new MessageSizeDistribution(Arrays.copyOf(sizes, count), Arrays.copyOf(cdf, count), capBytes);
    }

    /**
     * Draw a size: the first point whose cdf is {@code >= u}, clipped to the cap. Never allocates.
     *
     * @param u uniform draw in [0, 1].
     * @return message size in bytes.
     * @throws IllegalArgumentException when u is outside [0, 1] or NaN.
     */
    public int sample(final double u)
    {
        if (!(u >= 0.0 && u <= 1.0))
        {
            throw new IllegalArgumentException("u must be in [0, 1]: " + u);
        }

        // u lies in bucket b: at or above b / GUIDE_BUCKETS and below (b + 1) / GUIDE_BUCKETS, so the first point
        // reaching u is at or after guide[b] and at or before guide[b + 1].
        final int bucket = (int)(u * GUIDE_BUCKETS);
        return Math.min(sizes[firstReaching(u, guide[bucket], guide[bucket + 1])], capBytes);
    }

    /**
     * @return the first point in [from, to] whose cdf reaches {@code u}; {@code to} if none before it does.
     */
    private int firstReaching(final double u, final int from, final int to)
    {
        int low = from;
        int high = to;
        while (low < high)
        {
            final int mid = (low + high) >>> 1;
            if (cdf[mid] >= u)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }
        return low;
    }

    /**
     * @return number of points.
     */
    public int pointCount()
    {
        return sizes.length;
    }

    /**
     * @param index point index, 0 to {@link #pointCount()} - 1.
     * @return size of that point in bytes, before the cap.
     */
    public int sizeAt(final int index)
    {
        return sizes[index];
    }

    /**
     * @param index point index, 0 to {@link #pointCount()} - 1.
     * @return fraction of messages whose size is at most {@link #sizeAt(int)}.
     */
    public double cdfAt(final int index)
    {
        return cdf[index];
    }

    /**
     * @return cap applied to sampled sizes ({@link Integer#MAX_VALUE} when uncapped).
     */
    public int capBytes()
    {
        return capBytes;
    }

    /**
     * @return expected size of a sample in bytes, with the cap applied.
     */
    public double meanBytes()
    {
        double mean = 0.0;
        double previous = 0.0;
        for (int i = 0; i < sizes.length; i++)
        {
            mean += (cdf[i] - previous) * Math.min(sizes[i], capBytes);
            previous = cdf[i];
        }
        return mean;
    }
}
