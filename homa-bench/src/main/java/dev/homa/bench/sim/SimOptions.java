package dev.homa.bench.sim;

import org.agrona.SystemUtil;

import java.util.Locale;

/**
 * Parsing of the simulator's sizes, durations and rates: {@code 64k}, {@code 1m} (powers of 1024, Agrona's
 * {@link SystemUtil#parseSize}); {@code 250ns}, {@code 20ms}, {@code 1s}; {@code 10g}, {@code 40gbps} (bits per
 * second, powers of 1000).
 */
final class SimOptions
{
    private SimOptions()
    {
    }

    /**
     * @param text a size: digits with an optional k, m or g.
     * @return bytes.
     * @throws IllegalArgumentException if malformed.
     */
    static long parseSize(final String text)
    {
        try
        {
            return SystemUtil.parseSize("size", text.trim());
        }
        catch (final RuntimeException ex)
        {
            throw new IllegalArgumentException("not a size (e.g. 1500, 64k, 1m): " + text);
        }
    }

    /**
     * @param text a duration: digits with ns, us, ms or s.
     * @return nanoseconds.
     * @throws IllegalArgumentException if malformed.
     */
    static long parseDurationNs(final String text)
    {
        try
        {
            return SystemUtil.parseDuration("duration", text.trim());
        }
        catch (final RuntimeException ex)
        {
            throw new IllegalArgumentException("not a duration (e.g. 250ns, 20ms, 1s): " + text);
        }
    }

    /**
     * @param text a link rate: a number of bits per second with an optional k, m or g (powers of 1000) and an
     *             optional "bps", e.g. {@code 10g}, {@code 40gbps}, {@code 2.5g}.
     * @return bits per second.
     * @throws IllegalArgumentException if malformed or not positive.
     */
    static long parseRate(final String text)
    {
        String value = text.trim().toLowerCase(Locale.ROOT);
        if (value.endsWith("bps"))
        {
            value = value.substring(0, value.length() - 3);
        }
        long unit = 1;
        final char last = value.isEmpty() ? ' ' : value.charAt(value.length() - 1);
        switch (last)
        {
            case 'k' -> unit = 1_000L;
            case 'm' -> unit = 1_000_000L;
            case 'g' -> unit = 1_000_000_000L;
            default -> unit = 1;
        }
        if (1 != unit)
        {
            value = value.substring(0, value.length() - 1);
        }
        try
        {
            final double rate = Double.parseDouble(value) * unit;
            if (!(rate >= 1))
            {
                throw new IllegalArgumentException("a link rate must be positive: " + text);
            }
            return Math.round(rate);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("not a link rate (e.g. 10g, 40gbps): " + text);
        }
    }
}
