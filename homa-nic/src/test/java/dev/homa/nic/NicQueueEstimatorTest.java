package dev.homa.nic;

import dev.homa.nic.time.VirtualClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

@Timeout(10)
class NicQueueEstimatorTest
{
    private static final long TEN_GBPS = 10_000_000_000L;

    @Test
    void backlogGrowsByWireTimeAndDrainsWithTheClock()
    {
        final VirtualClock clock = new VirtualClock(1_000);
        final NicQueueEstimator estimator = new NicQueueEstimator(clock, TEN_GBPS);

        estimator.onTransmit(1500, clock.nanoTime());
        estimator.onTransmit(1500, clock.nanoTime());
        // 1500 B at 10 Gb/s under-estimated by 1% is 1212.12 ns, rounded up per call.
        assertEquals(2 * 1213, estimator.backlogNs());
        // Two frames, less the rounding up of each call to a whole nanosecond.
        assertEquals(3000, estimator.queuedBytes(), 3);

        clock.advanceBy(1213);
        assertEquals(1213, estimator.backlogNs());
        clock.advanceBy(5_000);
        assertEquals(0, estimator.backlogNs());
        assertEquals(0, estimator.queuedBytes());
    }

    @Test
    void anIdleLinkRestartsTheEstimateFromNow()
    {
        final VirtualClock clock = new VirtualClock();
        final NicQueueEstimator estimator = new NicQueueEstimator(clock, TEN_GBPS);
        estimator.onTransmit(1500, clock.nanoTime());
        clock.advanceBy(1_000_000);
        estimator.onTransmit(1500, clock.nanoTime());
        assertEquals(1_000_000 + 1213, estimator.linkIdleTimeNs());
    }

    @Test
    void aBatchCountsAsItsTotalBytes()
    {
        final VirtualClock clock = new VirtualClock(500);
        final NicQueueEstimator estimator = new NicQueueEstimator(clock, TEN_GBPS);
        estimator.onTransmit(64 * 1500L, clock.nanoTime());
        // 96,000 B at 9.9 Gb/s: 77,575.76 ns, rounded up once for the whole flush.
        assertEquals(77_576, estimator.backlogNs());
        clock.advanceBy(77_576);
        assertEquals(0, estimator.backlogNs());
    }

    @Test
    void rejectsANonPositiveLinkRate()
    {
        assertThrows(IllegalArgumentException.class, () -> new NicQueueEstimator(new VirtualClock(), 0));
    }
}
