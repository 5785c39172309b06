package dev.homa.core;

import java.util.concurrent.CompletableFuture;

/**
 * The future of a {@link HomaSocket#call}: completed by the protocol thread with the response, or by the application
 * (cancel, orTimeout, complete...), which aborts the RPC.
 */
final class RpcFuture extends CompletableFuture<HomaMessage>
{
    private final HomaSocket socket;
    private final long id;

    RpcFuture(final HomaSocket socket, final long id)
    {
        this.socket = socket;
        this.id = id;
    }

    /**
     * @return the RPC's id.
     */
    long id()
    {
        return id;
    }

    @Override
    public boolean complete(final HomaMessage value)
    {
        final boolean done = super.complete(value);
        if (done)
        {
            socket.abandon(this);
        }
        return done;
    }

    @Override
    public boolean completeExceptionally(final Throwable ex)
    {
        final boolean done = super.completeExceptionally(ex);
        if (done)
        {
            socket.abandon(this);
        }
        return done;
    }

    @Override
    public boolean cancel(final boolean mayInterruptIfRunning)
    {
        final boolean done = super.cancel(mayInterruptIfRunning);
        if (done)
        {
            socket.abandon(this);
        }
        return done;
    }
}
