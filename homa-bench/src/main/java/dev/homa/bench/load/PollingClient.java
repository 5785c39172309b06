package dev.homa.bench.load;

import dev.homa.nic.linux.CurrentThread;

import java.io.PrintStream;

/**
 * A load client's transport that is driven by one loop on one thread (Homa, Java NIO): the loop applies the runner's
 * commands, lets the {@link LoadDriver} issue what is due, lets the transport move bytes and hand responses back,
 * and sleeps in the transport's own wait when nothing happened, until the next open-loop arrival at the latest.
 */
abstract class PollingClient implements LoadDriver.Sender, AutoCloseable
{
    /** After the stop, RPCs in flight get this long to complete. */
    static final long DRAIN_NS = 10_000_000_000L;
    /** Longest single sleep, so that commands and deadlines are seen without a wake-up too. */
    static final long IDLE_MAX_NS = 10_000_000L;

    /**
     * Move bytes and hand every response that arrived to {@link LoadDriver#onResponse}.
     *
     * @param driver the client logic.
     * @return work done; 0 if nothing happened.
     */
    abstract int pollIo(LoadDriver driver);

    /**
     * Wait for I/O, a {@link #wake()} or the time.
     *
     * @param maxWaitNs longest wait.
     */
    abstract void idle(long maxWaitNs);

    /**
     * End an {@link #idle} early; any thread.
     */
    abstract void wake();

    @Override
    public abstract void close();

    /**
     * Run the client until the runner's stop and the drain after it, then print the result line.
     *
     * @param driver  the client logic, with this transport as its sender.
     * @param control the runner's commands.
     * @param out     where the result line goes.
     */
    final void run(final LoadDriver driver, final ClientControl control, final PrintStream out)
    {
        CurrentThread.minimiseTimerSlack();
        control.onCommand(this::wake);
        boolean stopped = false;
        long drainDeadlineNs = Long.MAX_VALUE;
        while (true)
        {
            final long nowNs = System.nanoTime();
            int phase;
            while (ClientControl.NONE != (phase = control.next()))
            {
                switch (phase)
                {
                    case ClientControl.PHASE_GO -> driver.start(nowNs);
                    case ClientControl.PHASE_MEASURE -> driver.measure(nowNs);
                    default ->
                    {
                        driver.stop(nowNs);
                        stopped = true;
                        drainDeadlineNs = nowNs + DRAIN_NS;
                    }
                }
            }
            final int work = driver.poll(nowNs) + pollIo(driver);
            if (stopped && (0 == driver.inFlight() || nowNs - drainDeadlineNs > 0))
            {
                break;
            }
            if (0 == work)
            {
                final long dueNs = driver.nextDueNs();
                final long waitNs = Long.MAX_VALUE == dueNs ? IDLE_MAX_NS : Math.min(IDLE_MAX_NS, dueNs - nowNs);
                if (waitNs > 0)
                {
                    idle(waitNs);
                }
            }
        }
        out.println("RESULT " + driver.stats().encode());
        out.flush();
    }
}
