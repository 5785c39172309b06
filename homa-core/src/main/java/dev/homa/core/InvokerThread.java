package dev.homa.core;

/**
 * In {@link dev.homa.core.ThreadingMode#INVOKER} mode, the application thread that drives the duty cycle is the
 * protocol thread: when that same thread calls {@code homaSend}, {@code homaReply} or releases a message between
 * two duty cycles, the engine does the work at once instead of queueing it for the next cycle. That saves the
 * command ring's claim, copy and commit, a second copy out of it, and up to a whole duty cycle of latency per
 * message, as the kernel does when {@code sendmsg} transmits in the caller's context.
 * <p>
 * The first thread to run a duty cycle owns the engine. If a duty cycle ever runs on another thread (an invoker
 * shared between threads under the application's own lock), inline work stops for good and everything goes through
 * the queues, which are safe from any thread. Inline work never runs inside a duty cycle (a future's callback
 * calling {@code homaSend} on the protocol thread), so the engine is never re-entered.
 */
final class InvokerThread
{
    private final boolean enabled;
    private volatile Thread owner;
    private boolean shared;
    private boolean inDutyCycle;

    /**
     * @param invokerMode true when the application drives the duty cycle; false disables inline work.
     */
    InvokerThread(final boolean invokerMode)
    {
        this.enabled = invokerMode;
    }

    /**
     * A duty cycle (or an inline operation) starts on the current thread.
     */
    void enter()
    {
        inDutyCycle = true;
        if (enabled)
        {
            final Thread current = Thread.currentThread();
            if (current != owner && !shared)
            {
                if (null == owner)
                {
                    owner = current;
                }
                else
                {
                    shared = true;
                    owner = null;
                }
            }
        }
    }

    /**
     * The duty cycle or inline operation is over.
     */
    void exit()
    {
        inDutyCycle = false;
    }

    /**
     * @return true in INVOKER mode: the application's threads drive the duty cycle.
     */
    boolean invokerMode()
    {
        return enabled;
    }

    /**
     * @return true while a duty cycle or an inline operation runs.
     */
    boolean inDutyCycle()
    {
        return inDutyCycle;
    }

    /**
     * @return true if the caller may run protocol work now: it is the owning invoker thread and no duty cycle runs.
     */
    boolean mayRunInline()
    {
        return enabled && Thread.currentThread() == owner && !inDutyCycle;
    }

    /**
     * @return true if the current thread drives the duty cycle, or no thread has yet (or several share it).
     */
    boolean isOwnerOrUnowned()
    {
        final Thread current = owner;
        return null == current || Thread.currentThread() == current;
    }
}
