package dev.homa.core;

import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayDeque;

/**
 * The protocol thread's side of a {@link HomaSocket}: its client RPCs by id, its server RPCs by a hash of
 * (client host, id) with collision chains (so the composite key needs no allocation), and results the application's
 * queues could not take yet. A server RPC is (client host, client port, id) for a request's DATA, as in
 * homa_rpc_alloc_server, but an ack names it by (client host, id) alone, as homa_rpc_find_server does: a client
 * host's ids are unique across its sockets and its acks for all of them travel together.
 */
final class EngineSocket
{
    final int port;
    final SocketEndpoint api;
    /** Takes requests ({@link SocketEndpoint#server()}). */
    final boolean server;
    final Long2ObjectHashMap<Rpc> clientRpcs = new Long2ObjectHashMap<>();
    final Long2ObjectHashMap<Rpc> serverRpcs = new Long2ObjectHashMap<>();
    final ArrayDeque<HomaMessage> overflow = new ArrayDeque<>();
    int serverRpcCount;

    EngineSocket(final int port, final SocketEndpoint api)
    {
        this.port = port;
        this.api = api;
        this.server = api.server();
    }

    static long serverKey(final long clientAddress, final long id)
    {
        long h = id * 0x9E3779B97F4A7C15L;
        h ^= clientAddress * 0xC2B2AE3D27D4EB4FL;
        return h ^ (h >>> 29);
    }

    Rpc findServer(final long clientAddress, final int clientPort, final long id)
    {
        Rpc rpc = serverRpcs.get(serverKey(clientAddress, id));
        while (null != rpc)
        {
            if (rpc.id == id && rpc.peerAddress == clientAddress && rpc.peerPort == clientPort)
            {
                return rpc;
            }
            rpc = rpc.hashNext;
        }
        return null;
    }

    /**
     * @return the server RPC with this id from this client host, whichever client port it came from, or null.
     */
    Rpc findServer(final long clientAddress, final long id)
    {
        Rpc rpc = serverRpcs.get(serverKey(clientAddress, id));
        while (null != rpc)
        {
            if (rpc.id == id && rpc.peerAddress == clientAddress)
            {
                return rpc;
            }
            rpc = rpc.hashNext;
        }
        return null;
    }

    void addServer(final Rpc rpc)
    {
        final long key = serverKey(rpc.peerAddress, rpc.id);
        rpc.hashKey = key;
        // One probe: put hands back the chain this RPC now heads.
        rpc.hashNext = serverRpcs.put(key, rpc);
        serverRpcCount++;
    }

    void removeServer(final Rpc rpc)
    {
        final Rpc first = serverRpcs.get(rpc.hashKey);
        if (first == rpc)
        {
            if (null == rpc.hashNext)
            {
                serverRpcs.remove(rpc.hashKey);
            }
            else
            {
                serverRpcs.put(rpc.hashKey, rpc.hashNext);
            }
        }
        else
        {
            Rpc prev = first;
            while (null != prev && prev.hashNext != rpc)
            {
                prev = prev.hashNext;
            }
            if (null != prev)
            {
                prev.hashNext = rpc.hashNext;
            }
        }
        rpc.hashNext = null;
        serverRpcCount--;
    }
}
