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

    /**
     * @return true if the socket takes requests: it was opened on a port of the application's choosing, as a
     *         kernel socket is a server once bound (homa_sock_bind). A socket on a port the transport picked is a
     *         client only, and requests for it are refused as for a port nobody has open.
     */
    boolean server();
}
