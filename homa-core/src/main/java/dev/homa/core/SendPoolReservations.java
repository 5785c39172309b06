package dev.homa.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Send-pool units promised to messages that application threads handed over but the protocol thread has not yet
 * freed: the application side reserves (any thread, a compare-and-set), the protocol thread releases when a
 * message ends. Two counters instead of one shared one, so the protocol thread's side is a plain ordered store on
 * its own field rather than a locked read-modify-write on the path that completes an RPC.
 */
final class SendPoolReservations
{
    private static final VarHandle RELEASED;

    static
    {
        try
        {
            RELEASED = MethodHandles.lookup().findVarHandle(SendPoolReservations.class, "released", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final AtomicLong reserved = new AtomicLong();
    @SuppressWarnings("unused")
    private long released;

    /**
     * Any thread: reserve units for a message about to be handed over.
     *
     * @param units    units the message needs.
     * @param capacity units in the send pool.
     * @return false if the pool cannot take it now.
     */
    public boolean tryReserve(final int units, final int capacity)
    {
        while (true)
        {
            final long current = reserved.get();
            if (current - (long)RELEASED.getAcquire(this) + units > capacity)
            {
                return false;
            }
            if (reserved.compareAndSet(current, current + units))
            {
                return true;
            }
        }
    }

    /**
     * The reserving thread: give back a reservation whose message was never handed over.
     *
     * @param units the units reserved.
     */
    public void cancel(final int units)
    {
        reserved.addAndGet(-units);
    }

    /**
     * Protocol thread only: a message handed over has ended (or was refused), its units are free again.
     *
     * @param units the units it had reserved.
     */
    void release(final int units)
    {
        RELEASED.setRelease(this, released + units);
    }

    /**
     * @return units reserved and not yet released (any thread; a moment's view).
     */
    public long inUse()
    {
        return reserved.get() - (long)RELEASED.getAcquire(this);
    }
}
