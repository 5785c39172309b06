package dev.homa.bench.sim;

import java.util.Arrays;

/**
 * A client's RPCs in flight as the workload sees them: when each request was handed to the transport and how long
 * it is, found by RPC id (client ids are even and handed out in sequence, so {@code id / 2} modulo a power of two
 * is a slot). The ring doubles when a slot it needs is still taken; nothing is allocated per RPC.
 */
final class RpcLedger
{
    private static final long FREE = -1;

    private long[] ids = new long[1024];
    private long[] startNs = new long[1024];
    private int[] bytes = new int[1024];
    private int[] destinations = new int[1024];
    private boolean[] delivered = new boolean[1024];
    private int mask = 1023;
    private int live;

    RpcLedger()
    {
        Arrays.fill(ids, FREE);
    }

    /**
     * @param id      the RPC's id as the client knows it.
     * @param atNs    when the request was handed to the transport.
     * @param length  request bytes.
     * @param server  the server host.
     */
    void add(final long id, final long atNs, final int length, final int server)
    {
        int slot = (int)(id >>> 1) & mask;
        while (FREE != ids[slot])
        {
            grow();
            slot = (int)(id >>> 1) & mask;
        }
        ids[slot] = id;
        startNs[slot] = atNs;
        bytes[slot] = length;
        destinations[slot] = server;
        delivered[slot] = false;
        live++;
    }

    /**
     * @param id a client RPC id.
     * @return its slot, or -1 if it is not in flight.
     */
    int find(final long id)
    {
        final int slot = (int)(id >>> 1) & mask;
        return ids[slot] == id ? slot : -1;
    }

    long startNs(final int slot)
    {
        return startNs[slot];
    }

    int bytes(final int slot)
    {
        return bytes[slot];
    }

    int destination(final int slot)
    {
        return destinations[slot];
    }

    /**
     * @param action called with the slot of every RPC in flight.
     */
    void forEach(final java.util.function.IntConsumer action)
    {
        for (int slot = 0; slot < ids.length; slot++)
        {
            if (FREE != ids[slot])
            {
                action.accept(slot);
            }
        }
    }

    /**
     * @param slot a live RPC's slot.
     * @return true the first time its request is delivered, false after (a request may run twice: at-least-once).
     */
    boolean markDelivered(final int slot)
    {
        final boolean first = !delivered[slot];
        delivered[slot] = true;
        return first;
    }

    /**
     * @param slot a live RPC's slot.
     * @return true once its request reached the server.
     */
    boolean isDelivered(final int slot)
    {
        return delivered[slot];
    }

    void remove(final int slot)
    {
        ids[slot] = FREE;
        live--;
    }

    /**
     * @return RPCs in flight.
     */
    int live()
    {
        return live;
    }

    private void grow()
    {
        final long[] oldIds = ids;
        final long[] oldStart = startNs;
        final int[] oldBytes = bytes;
        final boolean[] oldDelivered = delivered;
        final int[] oldDestinations = destinations;
        final int capacity = oldIds.length << 1;
        ids = new long[capacity];
        startNs = new long[capacity];
        bytes = new int[capacity];
        delivered = new boolean[capacity];
        destinations = new int[capacity];
        Arrays.fill(ids, FREE);
        mask = capacity - 1;
        for (int i = 0; i < oldIds.length; i++)
        {
            if (FREE != oldIds[i])
            {
                final int slot = (int)(oldIds[i] >>> 1) & mask;
                ids[slot] = oldIds[i];
                startNs[slot] = oldStart[i];
                bytes[slot] = oldBytes[i];
                delivered[slot] = oldDelivered[i];
                destinations[slot] = oldDestinations[i];
            }
        }
    }
}
