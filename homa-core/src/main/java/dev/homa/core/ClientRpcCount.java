package dev.homa.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A socket's client RPCs in flight, started minus ended: application threads count starts (and take back the ones
 * that failed to start), only the protocol thread counts ends, with an ordered store on its own field instead of a
 * locked decrement on the path that delivers a response.
 */
final class ClientRpcCount
{
    private static final VarHandle ENDED;

    static
    {
        try
        {
            ENDED = MethodHandles.lookup().findVarHandle(ClientRpcCount.class, "ended", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final AtomicLong started = new AtomicLong();
    @SuppressWarnings("unused")
    private long ended;

    /**
     * Any thread: count a start unless that makes more than {@code max} in flight.
     *
     * @param max most RPCs in flight.
     * @return false, counting nothing, if {@code max} are already in flight.
     */
    boolean tryStart(final int max)
    {
        if (started.incrementAndGet() - (long)ENDED.getAcquire(this) > max)
        {
            started.decrementAndGet();
            return false;
        }
        return true;
    }

    /**
     * Any thread: take back a start whose RPC never began.
     */
    void cancelStart()
    {
        started.decrementAndGet();
    }

    /**
     * Protocol thread only: an RPC ended.
     */
    void end()
    {
        ENDED.setRelease(this, ended + 1);
    }

    /**
     * @return RPCs in flight.
     */
    int inFlight()
    {
        return (int)(started.get() - (long)ENDED.getAcquire(this));
    }
}
