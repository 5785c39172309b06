package dev.homa.core;


/**
 * How the protocol thread reaches an application socket: the socket's side of the hand-off, kept off the public
 * {@code HomaSocket} API (this package is not exported from the module).
 */
interface SocketEndpoint
{
    /**
     * Hand a result to the application's receive queue.
     *
     * @param message request, response or error.
     * @return false if the queue is full (the engine keeps it and retries later).
     */
    boolean deliver(HomaMessage message);

    /**
     * Complete the future of an RPC started with {@code call}, if it has one.
     *
     * @param id      client RPC id.
     * @param message the response or error.
     * @return true if a future took it.
     */
    boolean completeFuture(long id, HomaMessage message);

    /**
     * A client RPC of this socket ended (delivered, failed or aborted).
     */
    void onClientRpcEnded();
}
