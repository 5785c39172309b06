package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.priority.Cutoffs;
import dev.homa.nic.HostAddress;
import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * The bounded peer table: host address to {@link Peer}, with an intrusive LRU list. When full, the least recently
 * used peer without live RPCs is evicted (a bounded number are examined); peers idle longer than the configured
 * time are evicted by the timer. Hostile floods from many fake hosts therefore cost at most {@code maxPeers}
 * entries. (The draft asks to keep cutoffs of timed-out peers; we keep them as long as the peer is not idle, as
 * the kernel's GC does.)
 * <p>
 * Using a peer only stamps its time: the list is put in order when a scan from its head meets a peer used since it
 * took its place, which then goes to the tail (a second chance, as in the CLOCK algorithm). A packet thus writes
 * nothing but its own peer, where moving the peer to the tail at once wrote its two neighbours and the tail on every
 * packet. The order is that of the peers' last use as the scans last saw it, so eviction is least recently used
 * among the peers it examines.
 */
final class PeerTable
{
    private static final int EVICTION_SCAN = 32;
    private static final long NO_ADDRESS = HostAddress.NONE;

    private final Long2ObjectHashMap<Peer> peers = new Long2ObjectHashMap<>();
    private final ArrayDeque<Peer> free = new ArrayDeque<>();
    private final Cutoffs unknown = Cutoffs.unknownPeer();
    private final int maxPeers;
    private final long idleNs;
    private final HomaMetrics metrics;
    private Peer head;
    private Peer tail;
    // The peer of the last lookup: consecutive packets mostly come from one host (a message's packets, a client's
    // request after its previous one), and this skips the hash lookup for them.
    private long lastAddress = NO_ADDRESS;
    private Peer lastPeer;
    // Peers owing us an answer to a RESEND: while there are none, a received packet needs no peer lookup.
    private int unansweredPeers;

    PeerTable(final int maxPeers, final long idleNs, final HomaMetrics metrics)
    {
        this.maxPeers = maxPeers;
        this.idleNs = idleNs;
        this.metrics = metrics;
    }

    int size()
    {
        return peers.size();
    }

    /**
     * @param action run for every peer in the table; off the data path (a close), as it may allocate.
     */
    void forEach(final Consumer<Peer> action)
    {
        peers.values().forEach(action);
    }

    /**
     * @return when the least recently used peer becomes evictable for idleness, {@link Long#MAX_VALUE} if none.
     */
    long nextIdleEvictionNs()
    {
        return null == head ? Long.MAX_VALUE : head.listedNs + idleNs;
    }

    Peer get(final long address)
    {
        return lastAddress == address ? lastPeer : peers.get(address);
    }

    /**
     * @return the peer, created if needed, or null if the table is full of peers with live RPCs.
     */
    Peer acquire(final long address, final long nowNs)
    {
        Peer peer = lastAddress == address ? lastPeer : peers.get(address);
        if (null != peer)
        {
            touch(peer, nowNs);
            lastAddress = address;
            lastPeer = peer;
            return peer;
        }
        if (peers.size() >= maxPeers && !evictOne())
        {
            return null;
        }
        peer = free.pollFirst();
        if (null == peer)
        {
            peer = new Peer();
        }
        peer.reset(address, unknown, nowNs);
        peers.put(address, peer);
        append(peer);
        metrics.set(HomaMetrics.PEERS, peers.size());
        return peer;
    }

    /**
     * The timer sent a RESEND to this peer. One round counts per RESEND interval however many of its RPCs asked,
     * and whenever in the interval they did.
     *
     * @param peer          the peer.
     * @param tick          the timer's tick number.
     * @param intervalTicks ticks between RESENDs of one RPC.
     */
    void onResendSent(final Peer peer, final long tick, final int intervalTicks)
    {
        if (tick - peer.lastResendTick >= intervalTicks)
        {
            peer.lastResendTick = tick;
            if (0 == peer.unansweredResends++)
            {
                unansweredPeers++;
            }
        }
    }

    /**
     * Any packet from a host answers the RESENDs sent to it: it is alive.
     *
     * @param address the packet's source.
     */
    void onPacketFrom(final long address)
    {
        if (0 != unansweredPeers)
        {
            final Peer peer = get(address);
            if (null != peer)
            {
                clearUnanswered(peer);
            }
        }
    }

    /**
     * Forget a peer's unanswered RESENDs (it answered, or it was presumed dead and its RPCs aborted).
     *
     * @param peer the peer.
     */
    void clearUnanswered(final Peer peer)
    {
        if (0 != peer.unansweredResends)
        {
            peer.unansweredResends = 0;
            unansweredPeers--;
        }
    }

    void touch(final Peer peer, final long nowNs)
    {
        peer.lastActiveNs = nowNs;
    }

    /**
     * Evict peers idle for longer than the idle limit that hold no RPCs (oldest first).
     */
    void evictIdle(final long nowNs)
    {
        if (null == head || nowNs - head.listedNs < idleNs)
        {
            return;
        }
        Peer peer = head;
        int scanned = 0;
        while (null != peer && scanned++ < EVICTION_SCAN * 4)
        {
            final Peer next = peer.lruNext;
            if (peer.lastActiveNs != peer.listedNs)
            {
                relist(peer);
            }
            else if (nowNs - peer.lastActiveNs < idleNs)
            {
                break;
            }
            else if (0 == peer.rpcCount)
            {
                remove(peer);
            }
            peer = next;
        }
    }

    private boolean evictOne()
    {
        Peer peer = head;
        for (int i = 0; i < EVICTION_SCAN && null != peer; i++)
        {
            final Peer next = peer.lruNext;
            if (peer.lastActiveNs != peer.listedNs)
            {
                relist(peer);
            }
            else if (0 == peer.rpcCount)
            {
                remove(peer);
                return true;
            }
            peer = next;
        }
        return false;
    }

    /**
     * A peer used since it took its place goes to the tail, in the place of its last use.
     */
    private void relist(final Peer peer)
    {
        unlink(peer);
        append(peer);
    }

    private void remove(final Peer peer)
    {
        if (lastPeer == peer)
        {
            lastPeer = null;
            lastAddress = NO_ADDRESS;
        }
        clearUnanswered(peer);
        peers.remove(peer.address);
        unlink(peer);
        free.addFirst(peer);
        metrics.increment(HomaMetrics.PEERS_EVICTED);
        metrics.set(HomaMetrics.PEERS, peers.size());
    }

    private void append(final Peer peer)
    {
        peer.listedNs = peer.lastActiveNs;
        peer.lruPrev = tail;
        peer.lruNext = null;
        if (null == tail)
        {
            head = peer;
        }
        else
        {
            tail.lruNext = peer;
        }
        tail = peer;
    }

    private void unlink(final Peer peer)
    {
        if (null == peer.lruPrev)
        {
            head = peer.lruNext;
        }
        else
        {
            peer.lruPrev.lruNext = peer.lruNext;
        }
        if (null == peer.lruNext)
        {
            tail = peer.lruPrev;
        }
        else
        {
            peer.lruNext.lruPrev = peer.lruPrev;
        }
        peer.lruPrev = null;
        peer.lruNext = null;
    }
}
