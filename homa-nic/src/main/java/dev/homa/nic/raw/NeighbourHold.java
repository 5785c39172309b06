package dev.homa.nic.raw;

import dev.homa.nic.Packet;

/**
 * Packets for hosts whose MAC the kernel is still resolving, held rather than dropped, as the kernel's neighbour
 * layer queues them ({@code unres_qlen}): the first packet to a new peer is then late by one ARP exchange, not lost
 * until a RESEND. Each is a copy in a driver pool slot (the caller owns its own packet again after the flush). The
 * driver looks the waiting hosts up every {@link #CHECK_INTERVAL_NS} while any packet waits, sends those it can and
 * drops (counted) those older than {@link #TIMEOUT_NS}. Bounded by {@link #CAPACITY}; beyond it a packet is dropped
 * as before.
 */
final class NeighbourHold
{
    /** Packets held at most, for all hosts together. */
    static final int CAPACITY = 64;
    /** How often waiting hosts are looked up again (an ARP exchange on a LAN takes tens of microseconds). */
    static final long CHECK_INTERVAL_NS = 100_000L;
    /** How long a packet may wait: the kernel gives up after three probes a second apart. */
    static final long TIMEOUT_NS = 3_000_000_000L;

    private final Packet[] packets = new Packet[CAPACITY];
    private final int[] destinations = new int[CAPACITY];
    private final int[] priorities = new int[CAPACITY];
    private final long[] heldSinceNs = new long[CAPACITY];
    private int count;
    private long nextCheckNs;

    /**
     * @return packets waiting.
     */
    int count()
    {
        return count;
    }

    /**
     * @return true if room is left.
     */
    boolean hasRoom()
    {
        return count < CAPACITY;
    }

    /**
     * @param copy          a pool packet holding a copy of the Homa bytes.
     * @param destinationIp where it goes, network order.
     * @param priority      its level.
     * @param nowNs         the time.
     */
    void hold(final Packet copy, final int destinationIp, final int priority, final long nowNs)
    {
        final int i = count++;
        packets[i] = copy;
        destinations[i] = destinationIp;
        priorities[i] = priority;
        heldSinceNs[i] = nowNs;
        if (1 == count)
        {
            nextCheckNs = nowNs + CHECK_INTERVAL_NS;
        }
    }

    /**
     * @param nowNs the time.
     * @return true if the waiting hosts are due for another look-up.
     */
    boolean due(final long nowNs)
    {
        return 0 != count && nowNs - nextCheckNs >= 0;
    }

    /**
     * Hand every packet whose host is resolved now to {@code release}, drop the expired ones, keep the rest.
     *
     * @param nowNs     the time.
     * @param neighbours the table, refreshed by the caller.
     * @param release   sends a packet (and takes it back to the pool after the flush) or drops it.
     * @return packets handed on.
     */
    int release(final long nowNs, final NeighbourTable neighbours, final Release release)
    {
        nextCheckNs = nowNs + CHECK_INTERVAL_NS;
        int kept = 0;
        int sent = 0;
        for (int i = 0; i < count; i++)
        {
            final Packet packet = packets[i];
            final long mac = neighbours.lookup(destinations[i]);
            if (NeighbourTable.NO_MAC != mac)
            {
                release.send(packet, destinations[i], priorities[i], mac);
                sent++;
            }
            else if (nowNs - heldSinceNs[i] >= TIMEOUT_NS)
            {
                release.drop(packet);
            }
            else
            {
                packets[kept] = packet;
                destinations[kept] = destinations[i];
                priorities[kept] = priorities[i];
                heldSinceNs[kept] = heldSinceNs[i];
                kept++;
            }
        }
        for (int i = kept; i < count; i++)
        {
            packets[i] = null;
        }
        count = kept;
        return sent;
    }

    /**
     * Takes every held packet back (closing).
     *
     * @param release drops each.
     */
    void clear(final Release release)
    {
        for (int i = 0; i < count; i++)
        {
            release.drop(packets[i]);
            packets[i] = null;
        }
        count = 0;
    }

    /**
     * Where held packets go.
     */
    interface Release
    {
        /**
         * @param packet        the held copy.
         * @param destinationIp its host, now resolved.
         * @param priority      its level.
         * @param mac           the host's MAC.
         */
        void send(Packet packet, int destinationIp, int priority, long mac);

        /**
         * @param packet the held copy, expired or never to be sent.
         */
        void drop(Packet packet);
    }
}
