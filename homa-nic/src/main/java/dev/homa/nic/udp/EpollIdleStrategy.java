package dev.homa.nic.udp;

import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.locks.LockSupport;

/**
 * An {@link IdleStrategy} for the thread that owns a {@link UdpDriver}: after a short spin it waits in
 * {@code epoll_wait} on the driver's sockets instead of parking, so an idle protocol thread wakes when a datagram
 * arrives rather than when a park timer expires, and costs no CPU meanwhile. The wait is bounded so that timers
 * still run on time; {@link UdpDriver#wakeup()} ends it early from another thread (e.g. when the application
 * enqueues work for the protocol).
 * <p>
 * Only the owner thread may wait on the driver's event loop. Called on any other thread (an application thread
 * blocking for a result with the transport's idle strategy), or before the driver has an owner, it parks for the
 * bounded wait instead, so that it never makes the wrong thread the owner.
 */
public final class EpollIdleStrategy implements IdleStrategy
{
    private final UdpDriver driver;
    private final int maxSpins;
    private final long maxWaitNs;
    private int spins;

    /**
     * Create a strategy that spins a few idle calls, then waits in epoll on the driver's sockets.
     *
     * @param driver    the driver whose sockets to wait on; the strategy must run on its owner thread.
     * @param maxSpins  idle calls that only spin before waiting in epoll.
     * @param maxWaitNs longest wait in epoll per idle call, at least 1 ns.
     */
    public EpollIdleStrategy(final UdpDriver driver, final int maxSpins, final long maxWaitNs)
    {
        if (maxSpins < 0 || maxWaitNs < 1)
        {
            throw new IllegalArgumentException("maxSpins >= 0 and maxWaitNs >= 1 required: " + maxSpins + ", " +
                maxWaitNs);
        }
        this.driver = driver;
        this.maxSpins = maxSpins;
        this.maxWaitNs = maxWaitNs;
    }

    @Override
    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            spins = 0;
        }
        else
        {
            idle();
        }
    }

    @Override
    public void idle()
    {
        if (!driver.isOwnerThread())
        {
            LockSupport.parkNanos(maxWaitNs);
        }
        else if (spins < maxSpins)
        {
            spins++;
            Thread.onSpinWait();
        }
        else
        {
            driver.awaitReadable(maxWaitNs);
        }
    }

    @Override
    public void reset()
    {
        spins = 0;
    }

    @Override
    public String alias()
    {
        return "udp-epoll";
    }
}
