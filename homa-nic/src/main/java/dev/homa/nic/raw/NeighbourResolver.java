package dev.homa.nic.raw;

import java.util.concurrent.locks.LockSupport;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.PacketPool;
import org.agrona.concurrent.NanoClock;

/**
 * Next-hop MACs for the send path. They come from the kernel's table over rtnetlink ({@link NeighbourTable}),
 * reloaded every {@link RawEthernetDriverContext#neighbourRefreshNs}; a miss asks the kernel to ARP for the address
 * (at most once per retry interval, however many packets miss) and holds a copy of the packet until the MAC is known,
 * as the kernel's neighbour layer does ({@link NeighbourHold}: up to 64 packets, for up to 3 s; beyond that a packet
 * is dropped and counted in {@link RawEthernetCounters#txUnresolved()}). Consecutive packets mostly go to the same
 * host, so the last answer is kept until the table changes.
 */
final class NeighbourResolver
{
    private static final long AWAIT_POLL_NS = 200_000;

    private final NeighbourTable neighbours;
    private final NeighbourHold hold = new NeighbourHold();
    private final NeighbourHold.Release holdRelease = new HeldPacketRelease();
    private final PacketPool pool;
    private final FrameTransmitter transmitter;
    private final RawEthernetCounters counters;
    private final NanoClock clock;
    private final long refreshNs;
    private final long retryNs;
    private long nextRefreshNs;
    private long nextMissRefreshNs;
    private int lastDestinationIp;
    private long lastDestinationMac = NeighbourTable.NO_MAC;
    private int lastGeneration = -1;

    NeighbourResolver(
        final NeighbourTable neighbours,
        final PacketPool pool,
        final FrameTransmitter transmitter,
        final RawEthernetDriverContext context,
        final RawEthernetCounters counters)
    {
        this.neighbours = neighbours;
        this.pool = pool;
        this.transmitter = transmitter;
        this.counters = counters;
        this.clock = context.clock;
        this.refreshNs = context.neighbourRefreshNs;
        this.retryNs = context.neighbourRetryNs;
        this.nextRefreshNs = clock.nanoTime() + refreshNs;
    }

    /**
     * @param destinationIp an on-link host, network order.
     * @return its MAC, or {@link NeighbourTable#NO_MAC} if not known yet.
     */
    long macOf(final int destinationIp)
    {
        if (destinationIp == lastDestinationIp && neighbours.generation() == lastGeneration &&
            NeighbourTable.NO_MAC != lastDestinationMac)
        {
            return lastDestinationMac;
        }
        final long mac = neighbours.lookup(destinationIp);
        lastDestinationIp = destinationIp;
        lastDestinationMac = mac;
        lastGeneration = neighbours.generation();
        return mac;
    }

    /**
     * A packet for a host not resolved yet: ask the kernel to resolve it and keep a copy of the packet until it
     * has, if there is room. The caller keeps its packet.
     */
    void holdUnresolved(final Packet packet, final int destinationIp, final int priority)
    {
        requestResolution(destinationIp);
        final Packet copy = hold.hasRoom() ? pool.acquire() : null;
        if (null == copy)
        {
            counters.txUnresolved++;
            return;
        }
        // The copy outlives the caller's payload: its gathered pieces are flattened into it.
        copy.length(packet.copyWireBytes(copy.buffer(), 0));
        counters.txHeld++;
        hold.hold(copy, destinationIp, priority, clock.nanoTime());
    }

    /**
     * Queue the held packets whose hosts are resolved now, if a look-up is due.
     *
     * @return packets queued on the transmitter.
     */
    int releaseHeldIfDue()
    {
        if (0 == hold.count())
        {
            return 0;
        }
        final long nowNs = clock.nanoTime();
        if (!hold.due(nowNs))
        {
            return 0;
        }
        neighbours.refresh();
        if (transmitter.room() < hold.count())
        {
            // Never more than the batch holds: the rest wait for the next look-up.
            return 0;
        }
        return hold.release(nowNs, neighbours, holdRelease);
    }

    /**
     * Reload the table if its period has passed.
     */
    void refreshIfDue(final long nowNs)
    {
        if (nowNs - nextRefreshNs >= 0)
        {
            nextRefreshNs = nowNs + refreshNs;
            neighbours.refresh();
        }
    }

    /**
     * Wait until the kernel knows the MAC of a host, asking it to ARP; for start-up, not the data path.
     *
     * @param destination {@link HostAddress} of the peer (on-link).
     * @param timeoutNs   longest wait.
     * @return true if resolved.
     */
    boolean await(final long destination, final long timeoutNs)
    {
        final int ip = HostAddress.ipv4Of(destination);
        final long deadline = System.nanoTime() + timeoutNs;
        neighbours.refresh();
        if (NeighbourTable.NO_MAC != neighbours.lookup(ip))
        {
            return true;
        }
        final int error = neighbours.requestResolution(ip);
        if (0 != error)
        {
            throw new RawEthernetException("asking the kernel to resolve " + HostAddress.toString(destination) +
                " failed: " + LibC.describe(error) + (LibC.EPERM == error ? " (needs CAP_NET_ADMIN)" : ""));
        }
        while (System.nanoTime() - deadline < 0)
        {
            neighbours.refresh();
            if (NeighbourTable.NO_MAC != neighbours.lookup(ip))
            {
                return true;
            }
            LockSupport.parkNanos(AWAIT_POLL_NS);
        }
        return false;
    }

    /**
     * @param destinationIp a host, network order.
     * @return its MAC as the table knows it now, or {@link NeighbourTable#NO_MAC}.
     */
    long lookup(final int destinationIp)
    {
        return neighbours.lookup(destinationIp);
    }

    /**
     * Drop the held packets and close the rtnetlink socket.
     */
    void close()
    {
        hold.clear(holdRelease);
        neighbours.close();
    }

    private void requestResolution(final int destinationIp)
    {
        final long nowNs = clock.nanoTime();
        if (nowNs - nextMissRefreshNs >= 0)
        {
            nextMissRefreshNs = nowNs + retryNs;
            final int error = neighbours.requestResolution(destinationIp);
            if (0 != error)
            {
                // E.g. EPERM without CAP_NET_ADMIN: the kernel will not ARP for us; visible, not thrown per packet.
                counters.resolutionErrors++;
                counters.lastResolutionErrno = error;
            }
            neighbours.refresh();
        }
    }

    /**
     * Sends a held packet once its host is resolved (the pool slot goes back after the flush) or drops it.
     */
    private final class HeldPacketRelease implements NeighbourHold.Release
    {
        @Override
        public void send(final Packet packet, final int destinationIp, final int priority, final long mac)
        {
            transmitter.queueOwned(packet, destinationIp, mac, priority);
        }

        @Override
        public void drop(final Packet packet)
        {
            counters.txUnresolved++;
            pool.release(packet);
        }
    }
}
