package dev.homa.core;

import org.agrona.SystemUtil;

/**
 * Defaults of every {@link HomaTransport.Context} setting from system properties (Aeron {@code Configuration}
 * style), so a deployment can tune without code: e.g. {@code -Dhoma.overcommit=4 -Dhoma.tick=2ms
 * -Dhoma.receive.pool.bytes=256m}. Sizes take k/m/g suffixes, durations ns/us/ms/s suffixes. A setter on the
 * context overrides the property. Property names:
 * <pre>
 * homa.max.message.length, homa.rtt, homa.unscheduled.bytes, homa.overcommit, homa.max.incoming.bytes,
 * homa.window.bytes, homa.max.active.per.peer, homa.grant.fifo.fraction, homa.grant.fifo.increment,
 * homa.max.nic.queue.bytes, homa.small.message.bytes, homa.tick, homa.resend.ticks, homa.resend.interval.ticks,
 * homa.timeout.ticks, homa.request.ack.ticks, homa.incast.enabled, homa.incast.threshold,
 * homa.incast.unscheduled.bytes, homa.receive.page.bytes, homa.receive.pool.bytes, homa.send.pool.bytes,
 * homa.max.peers, homa.peer.idle, homa.max.server.rpcs, homa.max.rpcs.per.socket, homa.cutoff.interval,
 * homa.command.buffer.bytes, homa.pacer.fifo.fraction, homa.strict.overcommit, homa.grant.fifo.order,
 * homa.max.incoming.requests.per.peer, homa.max.receive.bytes.per.peer, homa.receive.reserve.bytes,
 * homa.max.incoming.bytes.per.peer, homa.retransmit.budget.percent, homa.max.unanswered.resends,
 * homa.max.answers.per.peer.per.tick, homa.max.answers.unknown.per.tick, homa.response.stall.ticks,
 * homa.counters.enabled, homa.counters.dir, homa.counters.interval, homa.print.configuration
 * </pre>
 */
public final class Configuration
{
    private Configuration()
    {
    }

    /**
     * @param name         property name.
     * @param defaultValue value without the property, e.g. {@code 1ms}.
     * @return nanoseconds.
     */
    public static long durationNs(final String name, final String defaultValue)
    {
        try
        {
            return SystemUtil.parseDuration(name, System.getProperty(name, defaultValue));
        }
        catch (final RuntimeException ex)
        {
            throw new HomaConfigurationException(name + " is not a duration: " + System.getProperty(name));
        }
    }

    /**
     * @param name         property name.
     * @param defaultValue value without the property, e.g. {@code 64k}.
     * @return bytes.
     */
    public static int sizeInt(final String name, final String defaultValue)
    {
        final long value = sizeLong(name, defaultValue);
        if (value > Integer.MAX_VALUE)
        {
            throw new HomaConfigurationException(name + " too large for an int: " + value);
        }
        return (int)value;
    }

    /**
     * @param name         property name.
     * @param defaultValue value without the property, e.g. {@code 64m}.
     * @return bytes.
     */
    public static long sizeLong(final String name, final String defaultValue)
    {
        try
        {
            return SystemUtil.parseSize(name, System.getProperty(name, defaultValue));
        }
        catch (final RuntimeException ex)
        {
            throw new HomaConfigurationException(name + " is not a size: " + System.getProperty(name));
        }
    }

    /**
     * @param name         property name.
     * @param defaultValue value without the property.
     * @return the integer.
     */
    public static int intValue(final String name, final String defaultValue)
    {
        try
        {
            return Integer.parseInt(System.getProperty(name, defaultValue).trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new HomaConfigurationException(name + " is not an integer: " + System.getProperty(name));
        }
    }

    /**
     * @param name         property name.
     * @param defaultValue value without the property.
     * @return the boolean.
     */
    public static boolean boolValue(final String name, final String defaultValue)
    {
        return Boolean.parseBoolean(System.getProperty(name, defaultValue).trim());
    }
}
