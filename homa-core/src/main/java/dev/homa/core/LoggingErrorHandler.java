package dev.homa.core;

import org.agrona.ErrorHandler;
import org.agrona.concurrent.NanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * The default {@link HomaTransport.Context#errorHandler(ErrorHandler)}: an exception thrown inside the duty cycle
 * (it is also counted in {@code errors}) goes to SLF4J with its stack trace, the first at once and later ones at
 * most once every ten seconds with the count of those not logged, so a failure on every packet cannot flood the
 * log or slow the protocol thread.
 */
final class LoggingErrorHandler implements ErrorHandler
{
    private static final Logger LOG = LoggerFactory.getLogger("dev.homa.core.protocol");
    private static final long INTERVAL_NS = TimeUnit.SECONDS.toNanos(10);

    private final NanoClock clock;
    private long nextLogNs = Long.MIN_VALUE;
    private long unlogged;

    /**
     * @param clock the transport's clock, which paces the reports.
     */
    LoggingErrorHandler(final NanoClock clock)
    {
        this.clock = clock;
    }

    @Override
    public synchronized void onError(final Throwable throwable)
    {
        final long nowNs = clock.nanoTime();
        if (Long.MIN_VALUE != nextLogNs && nowNs - nextLogNs < 0)
        {
            unlogged++;
            return;
        }
        nextLogNs = nowNs + INTERVAL_NS;
        if (0 == unlogged)
        {
            LOG.error("error on the Homa protocol thread", throwable);
        }
        else
        {
            LOG.error("error on the Homa protocol thread ({} more since the last report)", unlogged, throwable);
        }
        unlogged = 0;
    }
}
