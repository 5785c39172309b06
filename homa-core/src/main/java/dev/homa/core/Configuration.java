package dev.homa.core;

import org.agrona.SystemUtil;

import java.util.Locale;

/**
 * Reads the system properties that give every {@link HomaTransport.Context} setting its default (Aeron's
 * {@code Configuration} style), so a deployment can tune without code: e.g. {@code -Dhoma.overcommit=4
 * -Dhoma.tick=2ms -Dhoma.receive.pool.bytes=256m}. Sizes take k/m/g suffixes, durations ns/us/ms/s suffixes. A
 * setter on the context overrides the property. Each setting's property name and default are constants of the
 * context ({@code HomaTransport.Context.OVERCOMMIT_PROP_NAME}, {@code OVERCOMMIT_DEFAULT}), grouped by concept.
 * The properties:
 * <pre>
 * homa.max.message.length, homa.max.peers, homa.max.server.rpcs, homa.max.rpcs.per.socket,
 * homa.max.incoming.requests.per.peer, homa.max.receive.bytes.per.peer, homa.receive.reserve.bytes,
 * homa.retransmit.budget.percent, homa.max.answers.per.peer.per.tick, homa.max.answers.unknown.per.tick,
 * homa.receive.page.bytes, homa.receive.pool.bytes, homa.send.pool.bytes,
 * homa.tick, homa.resend.ticks, homa.resend.interval.ticks, homa.resend.backoff, homa.timeout.ticks,
 * homa.timeout.resends, homa.max.resends.per.peer.per.tick, homa.request.ack.ticks, homa.max.unanswered.resends,
 * homa.response.stall.ticks, homa.peer.idle,
 * homa.rtt, homa.unscheduled.bytes, homa.overcommit, homa.max.incoming.bytes, homa.bulk.incoming.bytes,
 * homa.max.incoming.bytes.per.peer, homa.window.bytes, homa.max.active.per.peer, homa.max.ungranted.per.peer,
 * homa.grant.fifo.fraction,
 * homa.grant.fifo.increment, homa.strict.overcommit, homa.grant.fifo.order, homa.incast.enabled, homa.incast.threshold,
 * homa.incast.unscheduled.bytes,
 * homa.max.nic.queue.bytes, homa.small.message.bytes, homa.max.send.burst, homa.poll.burst, homa.pacer.fifo.fraction,
 * homa.static.cutoffs, homa.cutoff.interval, homa.cutoff.minimum.messages, homa.cutoff.window.messages,
 * homa.unscheduled.levels,
 * homa.driver.uri, homa.threading.mode, homa.idle.spin, homa.command.buffer.bytes, homa.command.timeout,
 * homa.completion.queue.capacity, homa.counters.enabled, homa.counters.dir, homa.counters.interval,
 * homa.duty.cycle.stall.threshold,
 * homa.print.configuration
 * </pre>
 * A value that does not parse fails the context's construction with a {@link HomaConfigurationException} naming
 * the property.
 */
public final class Configuration
{
    private Configuration()
    {
    }

    /**
     * Read a duration property.
     *
     * @param name         property name.
     * @param defaultValue nanoseconds without the property.
     * @return nanoseconds.
     */
    public static long durationNs(final String name, final long defaultValue)
    {
        final String value = System.getProperty(name);
        try
        {
            return null == value ? defaultValue : SystemUtil.parseDuration(name, value);
        }
        catch (final RuntimeException ex)
        {
            throw new HomaConfigurationException(name + " is not a duration: " + value);
        }
    }

    /**
     * Read a size property that must fit an int.
     *
     * @param name         property name.
     * @param defaultValue bytes without the property.
     * @return bytes.
     */
    public static int sizeInt(final String name, final int defaultValue)
    {
        final long value = sizeLong(name, defaultValue);
        if (value > Integer.MAX_VALUE)
        {
            throw new HomaConfigurationException(name + " too large for an int: " + value);
        }
        return (int)value;
    }

    /**
     * Read a size property.
     *
     * @param name         property name.
     * @param defaultValue bytes without the property.
     * @return bytes.
     */
    public static long sizeLong(final String name, final long defaultValue)
    {
        final String value = System.getProperty(name);
        try
        {
            return null == value ? defaultValue : SystemUtil.parseSize(name, value);
        }
        catch (final RuntimeException ex)
        {
            throw new HomaConfigurationException(name + " is not a size: " + value);
        }
    }

    /**
     * Read an integer property.
     *
     * @param name         property name.
     * @param defaultValue value without the property.
     * @return the integer.
     */
    public static int intValue(final String name, final int defaultValue)
    {
        final String value = System.getProperty(name);
        try
        {
            return null == value ? defaultValue : Integer.parseInt(value.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new HomaConfigurationException(name + " is not an integer: " + value);
        }
    }

    /**
     * Read a boolean property.
     *
     * @param name         property name.
     * @param defaultValue value without the property.
     * @return the boolean.
     */
    public static boolean boolValue(final String name, final boolean defaultValue)
    {
        final String value = System.getProperty(name);
        if (null == value)
        {
            return defaultValue;
        }
        switch (value.trim().toLowerCase(Locale.ROOT))
        {
            case "true":
                return true;
            case "false":
                return false;
            default:
                throw new HomaConfigurationException(name + " is not true or false: " + value);
        }
    }

    /**
     * Read a string property.
     *
     * @param name         property name.
     * @param defaultValue value without the property (may be null).
     * @return the string.
     */
    public static String stringValue(final String name, final String defaultValue)
    {
        return System.getProperty(name, defaultValue);
    }

    /**
     * Read an enum property.
     *
     * @param name         property name.
     * @param type         the enum.
     * @param defaultValue value without the property.
     * @param <E>          the enum type.
     * @return the constant named by the property, in any case.
     */
    public static <E extends Enum<E>> E enumValue(final String name, final Class<E> type, final E defaultValue)
    {
        final String value = System.getProperty(name);
        try
        {
            return null == value ? defaultValue : Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException ex)
        {
            throw new HomaConfigurationException(name + " is not one of " +
                java.util.Arrays.toString(type.getEnumConstants()) + ": " + value);
        }
    }

    /**
     * Read a property holding a comma-separated list of sizes.
     *
     * @param name         property name.
     * @param defaultValue value without the property (may be null).
     * @return the comma-separated sizes of the property.
     */
    public static int[] intArray(final String name, final int[] defaultValue)
    {
        final String value = System.getProperty(name);
        if (null == value)
        {
            return defaultValue;
        }
        final String[] parts = value.split(",");
        final int[] result = new int[parts.length];
        for (int i = 0; i < parts.length; i++)
        {
            try
            {
                final long size = SystemUtil.parseSize(name, parts[i].trim());
                if (size > Integer.MAX_VALUE)
                {
                    throw new NumberFormatException(parts[i]);
                }
                result[i] = (int)size;
            }
            catch (final RuntimeException ex)
            {
                throw new HomaConfigurationException(name + " is not a list of sizes: " + value);
            }
        }
        return result;
    }
}
