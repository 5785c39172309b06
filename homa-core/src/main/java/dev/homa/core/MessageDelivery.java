package dev.homa.core;

import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * Hands finished messages (requests, responses, errors) to the application's sockets and takes them back: a socket
 * that cannot accept a message now gets it later from its overflow queue, in order; a message the application
 * releases (from any thread) comes back through a queue, its receive-pool pages are freed and the message object is
 * pooled for the next one.
 */
final class MessageDelivery
{
    private static final int RELEASE_LIMIT = 256;

    private final ManyToOneConcurrentArrayQueue<HomaMessage> releases = new ManyToOneConcurrentArrayQueue<>(1 << 16);
    private final Consumer<HomaMessage> releaser = this::onRelease;
    private final ArrayDeque<HomaMessage> freeMessages = new ArrayDeque<>();
    private final Int2ObjectHashMap<EngineSocket> sockets;
    private final PagePool receivePool;
    private final InboundAllocator allocator;
    private final int maxPages;
    private final InvokerThread invokerThread;
    private final Runnable wake;
    private Consumer<HomaMessage> forwarder;
    private int overflowCount;

    /**
     * @param sockets     the bound sockets by port.
     * @param receivePool where delivered messages' bytes live.
     * @param allocator   gets pages to waiting messages once released ones free some.
     * @param maxPages    pages of the longest message.
     * @param invokerThread tells whether a release runs on the protocol thread between duty cycles.
     * @param wake        wakes a sleeping protocol thread after a release was queued.
     */
    MessageDelivery(
        final Int2ObjectHashMap<EngineSocket> sockets,
        final PagePool receivePool,
        final InboundAllocator allocator,
        final int maxPages,
        final InvokerThread invokerThread,
        final Runnable wake)
    {
        this.sockets = sockets;
        this.receivePool = receivePool;
        this.allocator = allocator;
        this.maxPages = maxPages;
        this.invokerThread = invokerThread;
        this.wake = wake;
    }

    /**
     * @param forwarder starts the reply that a message handed back by {@code homaReply(request, body)} becomes.
     */
    void forwardWith(final Consumer<HomaMessage> forwarder)
    {
        this.forwarder = forwarder;
    }

    /**
     * @return true if released messages or overflowed deliveries wait for the next duty cycle.
     */
    boolean hasPendingWork()
    {
        return !releases.isEmpty() || 0 != overflowCount;
    }

    /**
     * @return messages waiting in sockets' overflow queues.
     */
    int overflowCount()
    {
        return overflowCount;
    }

    /**
     * Return an undelivered message to the pool.
     *
     * @param message the message.
     */
    void recycle(final HomaMessage message)
    {
        message.clear();
        freeMessages.addLast(message);
    }

    /**
     * Drop the messages a closing socket never accepted, freeing their pages.
     *
     * @param socket the socket.
     */
    void discardOverflow(final EngineSocket socket)
    {
        HomaMessage message;
        while (null != (message = socket.overflow.pollFirst()))
        {
            overflowCount--;
            freePages(message);
            message.clear();
            freeMessages.addLast(message);
        }
    }

    private void onRelease(final HomaMessage message)
    {
        if (invokerThread.mayRunInline() && !allocator.hasWaiting())
        {
            // The protocol thread itself, between duty cycles: free at once, no queue. With messages waiting for
            // pages the next duty cycle frees them, so that it also hands the pages on and sends what that allows.
            free(message);
            return;
        }
        while (!releases.offer(message))
        {
            if (invokerThread.invokerMode())
            {
                // INVOKER mode: the caller is the protocol thread, so nobody else would ever drain the queue.
                drainReleases();
            }
            else
            {
                Thread.onSpinWait();
            }
        }
        wake.run();
    }

    /**
     * Take back a bounded number of messages the application released.
     *
     * @return messages taken back.
     */
    int drainReleases()
    {
        int count = 0;
        HomaMessage message;
        while (count < RELEASE_LIMIT && null != (message = releases.poll()))
        {
            free(message);
            count++;
        }
        if (0 != count && allocator.hasWaiting())
        {
            allocator.retryWaiting();
        }
        return count;
    }

    private void free(final HomaMessage message)
    {
        if (message.isForwarded())
        {
            // Handed back as a reply's body: its pages become the reply's.
            forwarder.accept(message);
            return;
        }
        freePages(message);
        message.clear();
        freeMessages.addLast(message);
    }

    /**
     * Return a message's pages to the receive pool (the message object stays as it is).
     *
     * @param message the message.
     */
    void freePages(final HomaMessage message)
    {
        for (int i = 0, n = message.pageCount(); i < n; i++)
        {
            receivePool.free(message.page(i));
        }
    }

    /**
     * @return a pooled message object to fill.
     */
    HomaMessage takeMessage()
    {
        final HomaMessage message = freeMessages.pollFirst();
        return null != message ? message : new HomaMessage(maxPages, releaser);
    }

    /**
     * Hand a message to a socket, behind any it could not take yet.
     *
     * @param socket  the socket.
     * @param message the message.
     */
    void deliver(final EngineSocket socket, final HomaMessage message)
    {
        if (!socket.overflow.isEmpty() || !socket.api.deliver(message))
        {
            socket.overflow.addLast(message);
            overflowCount++;
        }
    }

    /**
     * Complete the RPC's future if it has one (dropping the message if the application gave the future up), else
     * deliver to its socket.
     *
     * @param rpc     the client RPC.
     * @param message its response or error.
     */
    void deliverClient(final Rpc rpc, final HomaMessage message)
    {
        if (!rpc.future)
        {
            deliver(rpc.socket, message);
        }
        else if (!rpc.socket.api.completeFuture(rpc.id, message))
        {
            // The application completed or cancelled the future itself (its ABORT is on the way): nobody wants this.
            free(message);
        }
    }

    /**
     * Retry the messages sockets could not take earlier.
     *
     * @return messages delivered.
     */
    int deliverOverflow()
    {
        int delivered = 0;
        for (final EngineSocket socket : sockets.values())
        {
            HomaMessage message;
            while (null != (message = socket.overflow.peekFirst()) && socket.api.deliver(message))
            {
                socket.overflow.pollFirst();
                overflowCount--;
                delivered++;
            }
        }
        return delivered;
    }
}
