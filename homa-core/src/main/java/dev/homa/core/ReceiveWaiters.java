package dev.homa.core;

import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The application threads parked in a socket's blocking {@code homaRecv}, and how the protocol thread wakes them
 * when it queues a result they accept (the kernel's {@code homa_interest}). A waiter registers, looks at the queues
 * once more, then parks; the protocol thread queues, then looks for waiters: with a full fence on each side between
 * the store and the load, one of them always sees the other, so no result sits in a queue while its waiter sleeps.
 * <p>
 * Fixed capacity and no allocation: a thread that finds every slot taken waits on a short timer instead.
 */
final class ReceiveWaiters
{
    /** Most threads parked on one socket at once; more than that poll on a short timer. */
    static final int CAPACITY = 64;

    private final AtomicReferenceArray<Thread> threads = new AtomicReferenceArray<>(CAPACITY);
    private final AtomicIntegerArray flags = new AtomicIntegerArray(CAPACITY);
    private final AtomicInteger count = new AtomicInteger();

    /**
     * Register the calling thread; it must look at the queues again before it parks.
     *
     * @param recvFlags the kinds it accepts ({@link HomaSocket#RECV_REQUEST}, {@link HomaSocket#RECV_RESPONSE}).
     * @return its slot, or -1 if every slot is taken.
     */
    int register(final int recvFlags)
    {
        final Thread thread = Thread.currentThread();
        for (int i = 0; i < CAPACITY; i++)
        {
            if (null == threads.get(i) && threads.compareAndSet(i, null, thread))
            {
                flags.set(i, recvFlags);
                count.incrementAndGet();
                VarHandle.fullFence();
                return i;
            }
        }
        return -1;
    }

    /**
     * @param slot from {@link #register(int)}.
     */
    void unregister(final int slot)
    {
        flags.set(slot, 0);
        threads.set(slot, null);
        count.decrementAndGet();
    }

    /**
     * Protocol thread, after it queued a result: unpark the waiters that accept it.
     *
     * @param kindFlag {@link HomaSocket#RECV_REQUEST} or {@link HomaSocket#RECV_RESPONSE}.
     */
    void wake(final int kindFlag)
    {
        VarHandle.fullFence();
        if (0 == count.get())
        {
            return;
        }
        for (int i = 0; i < CAPACITY; i++)
        {
            final Thread thread = threads.get(i);
            if (null != thread && 0 != (flags.get(i) & kindFlag))
            {
                LockSupport.unpark(thread);
            }
        }
    }

    /**
     * Unpark every waiter (the socket closed).
     */
    void wakeAll()
    {
        wake(HomaSocket.RECV_ANY);
    }
}
