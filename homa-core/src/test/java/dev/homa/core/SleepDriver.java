package dev.homa.core;

import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.NicDriver;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A driver for tests of how the protocol thread sleeps: it says whether the thread may sleep in it ({@code canSleep}),
 * counts each sleep, and either returns at once (for virtual time, where nothing would end the sleep) or parks the
 * thread until {@link #wakeup()} or the end of the wait.
 */
final class SleepDriver extends ForwardingNicDriver
{
    final AtomicInteger sleeps = new AtomicInteger();
    volatile boolean canSleep;
    private final boolean blocks;
    private volatile Thread sleeper;

    /**
     * @param delegate the driver that moves the packets.
     * @param canSleep whether the protocol thread may sleep in this driver at first.
     * @param blocks   whether a sleep parks the thread (true) or returns at once (false).
     */
    SleepDriver(final NicDriver delegate, final boolean canSleep, final boolean blocks)
    {
        super(delegate);
        this.canSleep = canSleep;
        this.blocks = blocks;
    }

    @Override
    public boolean canAwaitReadable()
    {
        return canSleep;
    }

    @Override
    public int awaitReadable(final long maxWaitNs)
    {
        sleeps.incrementAndGet();
        if (blocks)
        {
            sleeper = Thread.currentThread();
            LockSupport.parkNanos(this, maxWaitNs);
            sleeper = null;
        }
        return 0;
    }

    @Override
    public void wakeup()
    {
        final Thread thread = sleeper;
        if (null != thread)
        {
            LockSupport.unpark(thread);
        }
    }
}
