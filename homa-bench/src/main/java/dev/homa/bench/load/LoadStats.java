package dev.homa.bench.load;

import org.HdrHistogram.Histogram;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;

/**
 * What a load client measured over the measurement window: RPCs and bytes completed in it, faults, and per size
 * bucket a latency histogram (nanoseconds, from the time each request was due, so an open-loop client's backlog
 * counts against it) and a slowdown histogram (latency over the unloaded latency for that size, times 1,000), if
 * the client was given a baseline; and how long requests due in the window waited for a free slot (an open loop's
 * backlog, part of their latency). Travels from a client process to the runner as one text line.
 */
final class LoadStats
{
    private static final long HIGHEST_NS = 120_000_000_000L;
    private static final long HIGHEST_SLOWDOWN = 100_000_000L;
    private static final int DIGITS = 3;

    final Histogram[] latency;
    final Histogram[] slowdown;
    final Histogram slotWait = new Histogram(HIGHEST_NS, DIGITS);
    long completed;
    long bytes;
    long verifyFailures;
    long errors;
    /**
     * RPCs that ended with a transport error and are not among {@link #errors}: failed in the warm-up or the drain, or
     * issued before the window. Not cleared when the window starts, so that no failure of the trial goes unseen.
     */
    long errorsOutsideWindow;
    long started;
    long due;
    long backlogOverflows;
    long windowNs;

    LoadStats(final int buckets)
    {
        latency = new Histogram[buckets];
        slowdown = new Histogram[buckets];
        for (int b = 0; b < buckets; b++)
        {
            latency[b] = new Histogram(HIGHEST_NS, DIGITS);
            slowdown[b] = new Histogram(HIGHEST_SLOWDOWN, DIGITS);
        }
    }

    void reset()
    {
        for (int b = 0; b < latency.length; b++)
        {
            latency[b].reset();
            slowdown[b].reset();
        }
        slotWait.reset();
        completed = 0;
        bytes = 0;
        verifyFailures = 0;
        errors = 0;
        started = 0;
        due = 0;
        backlogOverflows = 0;
        windowNs = 0;
    }

    void record(final int bucket, final long latencyNs, final long slowdownMilli)
    {
        latency[bucket].recordValue(Math.min(HIGHEST_NS, Math.max(1, latencyNs)));
        if (slowdownMilli > 0)
        {
            slowdown[bucket].recordValue(Math.min(HIGHEST_SLOWDOWN, slowdownMilli));
        }
    }

    void recordSlotWait(final long waitNs)
    {
        slotWait.recordValue(Math.min(HIGHEST_NS, Math.max(0, waitNs)));
    }

    /**
     * @return all buckets' latencies together.
     */
    Histogram allLatency()
    {
        final Histogram all = new Histogram(HIGHEST_NS, DIGITS);
        for (final Histogram h : latency)
        {
            all.add(h);
        }
        return all;
    }

    /**
     * Add another client's figures (same buckets); window lengths are averaged by the caller.
     *
     * @param other more figures.
     */
    void add(final LoadStats other)
    {
        for (int b = 0; b < latency.length; b++)
        {
            latency[b].add(other.latency[b]);
            slowdown[b].add(other.slowdown[b]);
        }
        slotWait.add(other.slotWait);
        completed += other.completed;
        bytes += other.bytes;
        verifyFailures += other.verifyFailures;
        errors += other.errors;
        errorsOutsideWindow += other.errorsOutsideWindow;
        started += other.started;
        due += other.due;
        backlogOverflows += other.backlogOverflows;
        windowNs = Math.max(windowNs, other.windowNs);
    }

    /**
     * @return one line of {@code key=value} pairs.
     */
    String encode()
    {
        final StringBuilder line = new StringBuilder(256);
        line.append("buckets=").append(latency.length)
            .append(" completed=").append(completed)
            .append(" bytes=").append(bytes)
            .append(" verifyFailures=").append(verifyFailures)
            .append(" errors=").append(errors)
            .append(" errorsOutsideWindow=").append(errorsOutsideWindow)
            .append(" started=").append(started)
            .append(" due=").append(due)
            .append(" backlogOverflows=").append(backlogOverflows)
            .append(" windowNs=").append(windowNs)
            .append(" slotWait=").append(encode(slotWait));
        for (int b = 0; b < latency.length; b++)
        {
            line.append(" lat").append(b).append('=').append(encode(latency[b]));
            line.append(" slow").append(b).append('=').append(encode(slowdown[b]));
        }
        return line.toString();
    }

    /**
     * @param line from {@link #encode()}.
     * @return the figures.
     */
    static LoadStats decode(final String line)
    {
        final Map<String, String> fields = new LinkedHashMap<>();
        for (final String pair : line.trim().split(" "))
        {
            final int equals = pair.indexOf('=');
            if (equals > 0)
            {
                fields.put(pair.substring(0, equals), pair.substring(equals + 1));
            }
        }
        final LoadStats stats = new LoadStats(Integer.parseInt(fields.get("buckets")));
        stats.completed = Long.parseLong(fields.get("completed"));
        stats.bytes = Long.parseLong(fields.get("bytes"));
        stats.verifyFailures = Long.parseLong(fields.get("verifyFailures"));
        stats.errors = Long.parseLong(fields.get("errors"));
        stats.errorsOutsideWindow = Long.parseLong(fields.get("errorsOutsideWindow"));
        stats.started = Long.parseLong(fields.get("started"));
        stats.due = Long.parseLong(fields.get("due"));
        stats.backlogOverflows = Long.parseLong(fields.get("backlogOverflows"));
        stats.windowNs = Long.parseLong(fields.get("windowNs"));
        stats.slotWait.add(decodeHistogram(fields.get("slotWait"), HIGHEST_NS));
        for (int b = 0; b < stats.latency.length; b++)
        {
            stats.latency[b] = decodeHistogram(fields.get("lat" + b), HIGHEST_NS);
            stats.slowdown[b] = decodeHistogram(fields.get("slow" + b), HIGHEST_SLOWDOWN);
        }
        return stats;
    }

    private static String encode(final Histogram histogram)
    {
        final ByteBuffer buffer = ByteBuffer.allocate(histogram.getNeededByteBufferCapacity());
        final int length = histogram.encodeIntoCompressedByteBuffer(buffer);
        final byte[] bytes = new byte[length];
        buffer.flip();
        buffer.get(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }

    private static Histogram decodeHistogram(final String text, final long highest)
    {
        try
        {
            final Histogram decoded = Histogram.decodeFromCompressedByteBuffer(
                ByteBuffer.wrap(Base64.getDecoder().decode(text)), highest);
            final Histogram histogram = new Histogram(highest, DIGITS);
            histogram.add(decoded);
            return histogram;
        }
        catch (final DataFormatException ex)
        {
            throw new IllegalArgumentException("bad histogram in a client's result", ex);
        }
    }
}
