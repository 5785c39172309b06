package dev.homa.core;

import dev.homa.nic.time.VirtualClock;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.jctools.queues.SpmcArrayQueue;

import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static dev.homa.core.HomaSocket.RECV_ANY;
import static dev.homa.core.HomaSocket.RECV_REQUEST;
import static dev.homa.core.HomaSocket.RECV_RESPONSE;

/**
 * A socket's completed messages on their way to {@code homaRecv}: requests and responses in two bounded queues the
 * protocol thread fills and any application thread drains, and the threads that wait for them, spinning, idling,
 * driving an INVOKER transport's duty cycle or parked in {@link ReceiveWaiters}.
 */
final class ReceiveQueue
{
    /** A waiter that finds no free slot in {@link ReceiveWaiters} looks again after this long. */
    private static final long UNREGISTERED_PARK_NS = 50_000;

    private final HomaTransport transport;
    private final Queue<HomaMessage> requests;
    private final Queue<HomaMessage> responses;
    private final ReceiveWaiters waiters = new ReceiveWaiters();
    private volatile boolean closed;

    /**
     * @param transport the socket's transport.
     * @param capacity  most messages of each kind waiting.
     */
    ReceiveQueue(final HomaTransport transport, final int capacity)
    {
        this.transport = transport;
        this.requests = new SpmcArrayQueue<>(capacity);
        this.responses = new SpmcArrayQueue<>(capacity);
    }

    /**
     * Protocol thread: queue a completed message and wake a thread that accepts it.
     *
     * @param message the message.
     * @return false if its queue is full.
     */
    boolean offer(final HomaMessage message)
    {
        final boolean request = HomaMessage.Kind.REQUEST == message.kind();
        if (!(request ? requests.offer(message) : responses.offer(message)))
        {
            return false;
        }
        waiters.wake(request ? RECV_REQUEST : RECV_RESPONSE);
        return true;
    }

    /**
     * End every wait: the socket closed.
     */
    void close()
    {
        closed = true;
        waiters.wakeAll();
    }

    /**
     * @param flags {@link HomaSocket#RECV_REQUEST}, {@link HomaSocket#RECV_RESPONSE} or {@link HomaSocket#RECV_ANY}.
     * @return a message, or null if none is waiting.
     */
    HomaMessage poll(final int flags)
    {
        if (0 == (flags & RECV_ANY))
        {
            throw new HomaException("homaRecv flags must include RECV_REQUEST or RECV_RESPONSE: " + flags);
        }
        HomaMessage message = null;
        if (0 != (flags & RECV_RESPONSE))
        {
            message = responses.poll();
        }
        if (null == message && 0 != (flags & RECV_REQUEST))
        {
            message = requests.poll();
        }
        return message;
    }

    /**
     * Wait for a message, as {@link HomaSocket#homaRecv(int, long, TimeUnit)} describes.
     *
     * @param flags   which kinds to accept.
     * @param timeout how long to wait.
     * @param unit    unit of the timeout.
     * @return a message, or null on timeout or close.
     */
    HomaMessage await(final int flags, final long timeout, final TimeUnit unit)
    {
        if (transport.isInvoker() && transport.context().clock() instanceof VirtualClock)
        {
            throw new HomaException("blocking homaRecv in INVOKER mode on a VirtualClock would never time out: " +
                "advance the simulation and call homaRecv(flags) instead");
        }
        final NanoClock clock = transport.context().clock();
        final long deadlineNs = clock.nanoTime() + unit.toNanos(timeout);
        final IdleStrategy idle = transport.isInvoker() ? null : transport.receiveIdleStrategy();
        if (null != idle)
        {
            idle.reset();
        }
        final long spinNs = transport.context().idleSpinNs();
        long lastWorkNs = clock.nanoTime();
        while (true)
        {
            final HomaMessage message = poll(flags);
            if (null != message)
            {
                return message;
            }
            final long nowNs = clock.nanoTime();
            if (nowNs - deadlineNs >= 0 || closed)
            {
                return null;
            }
            if (transport.isInvoker())
            {
                if (0 != transport.invoker().invoke())
                {
                    lastWorkNs = nowNs;
                }
                else if (nowNs - lastWorkNs >= spinNs)
                {
                    transport.engine().awaitWork(deadlineNs - nowNs);
                }
            }
            else if (null != idle)
            {
                transport.ensureOpen();
                idle.idle();
            }
            else if (nowNs - lastWorkNs < spinNs ||
                nowNs - lastWorkNs < ProtocolIdleStrategy.EXPECTING_SPIN_NS && transport.engine().isAwake())
            {
                // As the protocol thread polls (ProtocolIdleStrategy): yield, so a thread woken here can run. While
                // the protocol thread is awake it has work under way, or polls because it expects some, and the
                // result may be this thread's: a parked waiter would add a wake-up to the hand-off.
                Thread.yield();
            }
            else
            {
                final HomaMessage parked = park(flags, deadlineNs - nowNs);
                if (null != parked)
                {
                    return parked;
                }
            }
        }
    }

    private HomaMessage park(final int flags, final long maxNs)
    {
        transport.ensureOpen();
        final int slot = waiters.register(flags);
        if (slot < 0)
        {
            LockSupport.parkNanos(this, Math.min(maxNs, UNREGISTERED_PARK_NS));
            return null;
        }
        try
        {
            // Registered before this last look: a result queued from here on wakes the thread.
            final HomaMessage message = poll(flags);
            if (null == message && !closed)
            {
                LockSupport.parkNanos(this, maxNs);
            }
            return message;
        }
        finally
        {
            waiters.unregister(slot);
        }
    }
}
