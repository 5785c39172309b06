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
        return ended(super.complete(value));
    }

    @Override
    public boolean completeExceptionally(final Throwable ex)
    {
        return ended(super.completeExceptionally(ex));
    }

    @Override
    public boolean cancel(final boolean mayInterruptIfRunning)
    {
        return ended(super.cancel(mayInterruptIfRunning));
    }

    /**
     * However the future completed, tell the socket, which aborts the RPC if the application ended it.
     */
    private boolean ended(final boolean done)
    {
        if (done)
        {
            socket.abandon(this);
        }
        return done;
    }
}
