package dev.homa.core;

import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;

/**
 * How the thread that runs a transport's duty cycle idles: it keeps polling for a short while after its last work
 * (as the kernel's Homa polls before a receiving thread sleeps), then sleeps in the driver ({@code epoll_wait} on
 * UDP) until a packet may have arrived, another thread hands the engine work, or the engine's own next deadline
 * (timer tick, pacer) comes. So an idle transport costs no CPU and still answers the first packet of a burst
 * without a park timer's delay. A driver that cannot wait makes it park for at most 50 us instead.
 * <p>
 * While the engine expects a packet within a round trip ({@link HomaEngine#expectsWorkSoon(boolean)}: granted
 * data on its way, or a GRANT awaited for a message being sent) it polls for up to {@value #EXPECTING_SPIN_NS} ns
 * instead: where the kernel answers DATA and GRANTs in softirq context, a userspace protocol thread that slept would
 * add a wake-up to every grant round trip, and a peer that slept meanwhile another, so a message would move at the
 * pace of wake-ups. A {@link ThreadingMode#DEDICATED} protocol thread polls as long while a hand-off with an
 * application thread is due (a response awaited, a request with the application); an INVOKER loop has none, its own
 * thread runs the protocol.
 * <p>
 * Polling yields the processor at every step ({@code sched_yield}, a no-op when nothing else wants it): the kernel
 * tends to wake the thread a packet is for on the processor of the thread that sent it, so a peer process on the
 * same host, woken by this thread's own packet, may be queued behind it; a poll that never yielded would hold it
 * off until the spin ended, and with it the reply the spin waits for.
 * <p>
 * The default of a {@link ThreadingMode#DEDICATED} transport; an {@link ThreadingMode#INVOKER} loop gets one from
 * {@link HomaTransport#newIdleStrategy()}. Not thread-safe: one per driving thread.
 */
public final class ProtocolIdleStrategy implements IdleStrategy
{
    /** Longest poll while a packet is expected; a peer slower than that is waited for asleep. */
    static final long EXPECTING_SPIN_NS = 200_000;
    private static final long NOT_IDLE = Long.MIN_VALUE;

    private final HomaEngine engine;
    private final NanoClock clock;
    private final long spinNs;
    private final long maxWaitNs;
    private final boolean handOffs;
    private long idleSinceNs = NOT_IDLE;
    private long spellSpinNs;

    /**
     * @param engine    the engine whose duty cycle the thread runs.
     * @param clock     the engine's clock.
     * @param spinNs    how long to poll after the last work when nothing is expected.
     * @param maxWaitNs longest sleep in the driver.
     * @param handOffs  true for a DEDICATED protocol thread, which hands results to application threads.
     */
    ProtocolIdleStrategy(
        final HomaEngine engine, final NanoClock clock, final long spinNs, final long maxWaitNs, final boolean handOffs)
    {
        this.handOffs = handOffs;
        this.engine = engine;
        this.clock = clock;
        this.spinNs = spinNs;
        this.maxWaitNs = maxWaitNs;
    }

    @Override
    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            idleSinceNs = NOT_IDLE;
        }
        else
        {
            idle();
        }
    }

    @Override
    public void idle()
    {
        idleUpTo(maxWaitNs);
    }

    /**
     * One idle step with a deadline of the caller's own: poll, or sleep for at most {@code waitNs}.
     *
     * @param waitNs longest sleep, e.g. until the application's next timer.
     */
    public void idleUpTo(final long waitNs)
    {
        final long nowNs = clock.nanoTime();
        if (NOT_IDLE == idleSinceNs)
        {
            idleSinceNs = nowNs;
            spellSpinNs = engine.expectsWorkSoon(handOffs) ? Math.max(spinNs, EXPECTING_SPIN_NS) : spinNs;
        }
        if (nowNs - idleSinceNs < spellSpinNs)
        {
            Thread.yield();
        }
        else
        {
            engine.awaitWork(Math.min(waitNs, maxWaitNs));
        }
    }

    @Override
    public void reset()
    {
        idleSinceNs = NOT_IDLE;
    }

    @Override
    public String alias()
    {
        return "homa-protocol";
    }
}
