package dev.homa.nic.raw;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class KnownPeersTest
{
    @Test
    void remembersHostsHeardFromUpToItsBoundAndCountsTheRest()
    {
        final RawEthernetCounters counters = new RawEthernetCounters();
        final KnownPeers peers = new KnownPeers(counters);
        final int base = (10 << 24) | (1 << 16);
        assertFalse(peers.contains(base));
        for (int i = 0; i < KnownPeers.MAX_PEERS; i++)
        {
            peers.heard(base + i);
            peers.heard(base + i);
        }
        assertTrue(peers.contains(base));
        assertTrue(peers.contains(base + KnownPeers.MAX_PEERS - 1));
        assertEquals(0, counters.knownPeersFull());

        peers.heard(base + KnownPeers.MAX_PEERS);
        peers.heard(base + 7);
        assertFalse(peers.contains(base + KnownPeers.MAX_PEERS), "no room: it gets single frames");
        assertEquals(1, counters.knownPeersFull(), "the host left out is counted, one already known is not");
    }
}
