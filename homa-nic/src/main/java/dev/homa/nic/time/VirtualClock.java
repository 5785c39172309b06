package dev.homa.nic.time;

import org.agrona.concurrent.NanoClock;

/**
 * A clock that moves only when told to. Tests and the simulator own it; protocol code sees a {@link NanoClock}.
 */
public final class VirtualClock implements NanoClock
{
    private long nowNs;

    /**
     * A clock at time 0.
     */
    public VirtualClock()
    {
        this(0);
    }

    /**
     * @param startNs initial time.
     */
    public VirtualClock(final long startNs)
    {
        this.nowNs = startNs;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public long nanoTime()
    {
        return nowNs;
    }

    /**
     * @param timeNs new time; never earlier than now.
     */
    public void advanceTo(final long timeNs)
    {
        if (timeNs < nowNs)
        {
            throw new IllegalArgumentException("time cannot go backwards: now=" + nowNs + " requested=" + timeNs);
        }
        nowNs = timeNs;
    }

    /**
     * @param deltaNs nanoseconds to add, not negative.
     */
    public void advanceBy(final long deltaNs)
    {
        advanceTo(nowNs + deltaNs);
    }
}
