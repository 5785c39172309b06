package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * The peer table: bounded, a full table makes room by evicting its least recently used peer without RPCs, never
 * one with RPCs; the timer evicts peers idle past the limit; RESEND rounds count once per interval.
 */
@Timeout(30)
final class PeerTableTest
{
    private static final long IDLE_NS = 1_000;

    private final HomaMetrics metrics = new HomaMetrics();
    private final PeerTable table = new PeerTable(3, IDLE_NS, metrics);

    @Test
    void aFullTableEvictsTheLeastRecentlyUsedPeer()
    {
        final Peer first = table.acquire(1, 0);
        table.acquire(2, 1);
        table.acquire(3, 2);
        assertSame(first, table.acquire(1, 3), "a known peer is found, and becomes the most recently used");

        assertNotNull(table.acquire(4, 4));
        assertEquals(3, table.size());
        assertNull(table.get(2), "peer 2 was the least recently used");
        assertSame(first, table.get(1));
        assertEquals(1, metrics.get(HomaMetrics.PEERS_EVICTED));
    }

    @Test
    void aPeerWithRpcsIsNeverEvicted()
    {
        for (long address = 1; address <= 3; address++)
        {
            table.acquire(address, address).rpcCount = 1;
        }
        assertNull(table.acquire(4, 10), "every peer holds RPCs: no room");
        table.get(2).rpcCount = 0;
        assertNotNull(table.acquire(4, 11));
        assertNull(table.get(2));
        assertNotNull(table.get(1));
    }

    @Test
    void theTimerEvictsOnlyPeersIdlePastTheLimitWithoutRpcs()
    {
        table.acquire(1, 0);
        table.acquire(2, 0).rpcCount = 1;
        table.acquire(3, 500);
        assertEquals(IDLE_NS, table.nextIdleEvictionNs());

        table.evictIdle(IDLE_NS - 1);
        assertEquals(3, table.size(), "nobody idle long enough yet");
        table.evictIdle(IDLE_NS);
        assertNull(table.get(1));
        assertNotNull(table.get(2), "idle, but it holds an RPC");
        assertNotNull(table.get(3), "not idle long enough");
    }

    @Test
    void aPeerUsedSinceItWasListedIsPassedOverByTheIdleScan()
    {
        final Peer first = table.acquire(1, 0);
        table.acquire(2, 0);
        assertSame(first, table.acquire(1, IDLE_NS - 100), "used again: its place in the list is now stale");
        assertEquals(IDLE_NS, table.nextIdleEvictionNs(), "the scan is due when the head's listed time expires");

        table.evictIdle(IDLE_NS);
        assertNull(table.get(2), "idle since it was listed");
        assertSame(first, table.get(1), "used since it was listed: it goes to the tail instead");
        assertEquals(2 * IDLE_NS - 100, table.nextIdleEvictionNs(), "the head is now the peer used last");
    }

    @Test
    void resendRoundsCountOncePerIntervalUntilThePeerAnswers()
    {
        final Peer peer = table.acquire(1, 0);
        table.onResendSent(peer, 10, 5);
        table.onResendSent(peer, 12, 5);
        assertEquals(1, peer.unansweredResends, "a second RPC's RESEND in the same interval is the same round");
        table.onResendSent(peer, 15, 5);
        assertEquals(2, peer.unansweredResends);
        table.onPacketFrom(1);
        assertEquals(0, peer.unansweredResends, "any packet from the peer answers");
    }
}
