package dev.homa.bench.load;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The open loop's bookkeeping in virtual time: what falls due, what is sent, and that the measured window starts
 * from the offered rate, not from what the warm-up fell behind by.
 */
@Timeout(10)
class LoadDriverTest
{
    private static final long MS = 1_000_000L;

    @Test
    void theMeasuredWindowStartsWithoutTheWarmUpBacklog()
    {
        final LoadDriver driver = openLoop(10_000, 1);
        final List<Integer> sent = recordSends(driver);
        driver.start(0);
        driver.poll(10 * MS);
        assertEquals(1, sent.size(), "one slot, the rest of 10 ms of arrivals wait in the backlog");

        driver.onResponse(sent.get(0), LoadMessage.OK, 10 * MS);
        driver.measure(10 * MS);
        driver.poll(10 * MS);
        assertEquals(2, sent.size(), "the first request of the window falls due at its start");
        final LoadStats stats = driver.stats();
        assertEquals(1, stats.due);
        assertEquals(1, stats.started, "sent on time: no warm-up arrival went first");
    }

    @Test
    void arrivalsDueInTheWindowAreCountedWhetherOrNotTheyAreSent()
    {
        final LoadDriver driver = openLoop(100_000, 1);
        driver.sender((slot, sequence, requestLength, responseLength) -> true);
        driver.start(0);
        driver.measure(0);
        driver.poll(10 * MS);
        final LoadStats stats = driver.stats();
        assertEquals(1, stats.started, "one slot");
        assertTrue(stats.due > 900 && stats.due < 1100, "about 1,000 arrivals in 10 ms at 100,000/s: " + stats.due);
    }

    @Test
    void aRequestThatWaitsForASlotRecordsItsWaitAndSurvivesTheTripToTheRunner()
    {
        final LoadDriver driver = openLoop(10_000, 1);
        final List<Integer> sent = recordSends(driver);
        driver.start(0);
        driver.measure(0);
        driver.poll(0);
        assertEquals(1, sent.size(), "the first arrival finds the slot free");
        driver.poll(5 * MS);
        driver.onResponse(sent.get(0), LoadMessage.OK, 5 * MS);
        driver.poll(5 * MS);
        assertEquals(2, sent.size(), "the second arrival waited in the backlog until the slot came free");
        final LoadStats stats = LoadStats.decode(driver.stats().encode());
        assertEquals(2, stats.slotWait.getTotalCount());
        assertEquals(0, stats.slotWait.getMinValue(), "the first went at once");
        assertTrue(stats.slotWait.getMaxValue() > 4 * MS,
            "the second fell due within the first 1 ms or so at 10,000/s and went at 5 ms: " +
            stats.slotWait.getMaxValue());
    }

    @Test
    void anRpcThatFailsOutsideTheWindowIsCountedApart()
    {
        final LoadDriver driver = openLoop(10_000, 3);
        final List<Integer> sent = recordSends(driver);
        driver.start(0);
        driver.poll(1 * MS);
        assertEquals(3, sent.size(), "three slots");
        driver.onResponse(sent.get(0), -1, 1 * MS);
        driver.measure(2 * MS);
        driver.onResponse(sent.get(1), -1, 3 * MS);
        driver.poll(3 * MS);
        assertTrue(sent.size() >= 4, "the freed slots take the window's first arrivals: " + sent.size());
        driver.onResponse(sent.get(3), -1, 4 * MS);
        final LoadStats stats = LoadStats.decode(driver.stats().encode());
        assertEquals(1, stats.errors, "the RPC issued in the window");
        assertEquals(2, stats.errorsOutsideWindow, "one failed in the warm-up, one was issued before the window");
    }

    /**
     * @return the slots the driver sends on, in order.
     */
    private static List<Integer> recordSends(final LoadDriver driver)
    {
        final List<Integer> sent = new ArrayList<>();
        driver.sender((slot, sequence, requestLength, responseLength) -> sent.add(slot));
        return sent;
    }

    private static LoadDriver openLoop(final double rate, final int outstanding)
    {
        final LoadSpec spec = new LoadSpec();
        spec.peer = "nio";
        spec.server = "127.0.0.1:1";
        spec.sizes = "100";
        spec.response = "echo";
        spec.outstanding = outstanding;
        spec.rate = rate;
        spec.seed = 42;
        spec.verify = "none";
        return new LoadDriver(spec);
    }
}
