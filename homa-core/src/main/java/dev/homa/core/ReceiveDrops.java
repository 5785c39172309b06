package dev.homa.core;

import dev.homa.nic.NicDriver;
import org.agrona.concurrent.CachedNanoClock;

/**
 * Whether the driver's kernel side dropped received packets lately ({@link NicDriver#receiveDrops()}): a full UDP
 * socket buffer or receive ring loses whatever arrives, the first packets of new requests among it. A RESEND for a
 * server RPC this host does not know may then come from a client whose request was lost that way, and RPC_UNKNOWN
 * would make it send the request again into the same full buffer, restart after restart, until its RPC times out
 * (an RPC_UNKNOWN does not end a client's silence). So while drops are recent such a RESEND is answered BUSY: the
 * client waits, and restarts once the drops have stopped for {@code windowNs}. The kernel's Homa answers RPC_UNKNOWN;
 * it has no socket buffer to overflow. The count is read at most once per {@code windowNs} / 8. Protocol thread only.
 */
final class ReceiveDrops
{
    private final NicDriver driver;
    private final CachedNanoClock clock;
    private final long windowNs;
    private final long readIntervalNs;
    private long seen;
    private long lastReadNs = Long.MIN_VALUE / 2;
    private long lastIncreaseNs = Long.MIN_VALUE / 2;

    /**
     * @param driver   the driver whose drops count.
     * @param clock    the duty cycle's cached time.
     * @param windowNs how long after the last drop seen drops count as recent: one resend interval.
     */
    ReceiveDrops(final NicDriver driver, final CachedNanoClock clock, final long windowNs)
    {
        this.driver = driver;
        this.clock = clock;
        this.windowNs = windowNs;
        this.readIntervalNs = Math.max(1, windowNs / 8);
    }

    /**
     * @return true if the driver's count of dropped packets grew within the window.
     */
    boolean recent()
    {
        final long nowNs = clock.nanoTime();
        if (nowNs - lastReadNs >= readIntervalNs)
        {
            lastReadNs = nowNs;
            final long drops = driver.receiveDrops();
            if (drops != seen)
            {
                seen = drops;
                lastIncreaseNs = nowNs;
            }
        }
        return nowNs - lastIncreaseNs < windowNs;
    }
}
