package dev.homa.nic.raw;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.homa.test.NetnsPair;
import org.agrona.CloseHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An idle protocol thread sleeps in the raw driver ({@code ppoll} on its sockets and an eventfd) instead of parking on
 * a timer: it wakes for a frame that arrives, for a wake-up rung before or during the sleep, and otherwise when the
 * time is up. Two namespaces joined by veth.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RawEthernetAwaitTest
{
    private static final long LONG_WAIT_NS = TimeUnit.SECONDS.toNanos(20);

    private NetnsPair pair;
    private RawEthernetDriver a;
    private RawEthernetDriver b;

    @BeforeEach
    void setUp() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        pair = NetnsPair.create("hrawait");
        a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?pool=256"));
        b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB() + "?pool=256"));
        assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)), "A resolves B");
        assertTrue(b.canAwaitReadable());
        drain(b);
    }

    @AfterEach
    void tearDown()
    {
        CloseHelper.closeAll(a, b, pair);
    }

    @Test
    void sleepsUntilTheTimeIsUpWithNothingToRead()
    {
        final long startNs = System.nanoTime();
        assertEquals(0, b.awaitReadable(TimeUnit.MILLISECONDS.toNanos(30)));
        assertTrue(System.nanoTime() - startNs >= TimeUnit.MILLISECONDS.toNanos(25), "it slept");
    }

    @Test
    void wakesForAFrame() throws Exception
    {
        RawEthernetDriverTest.sendOne(a, b.localAddress(), 3);
        assertTrue(b.awaitReadable(LONG_WAIT_NS) > 0, "one already in the ring");
        assertEquals(1, drain(b));

        // The frame comes while the other thread sleeps: give it 20 ms to fall asleep (if it has not, the frame
        // ends the wait before it starts, as above), then send until it wakes.
        final CompletableFuture<Integer> sleeper = CompletableFuture.supplyAsync(() -> b.awaitReadable(LONG_WAIT_NS));
        final long sendFromNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        while (!sleeper.isDone())
        {
            if (System.nanoTime() - sendFromNs > 0)
            {
                RawEthernetDriverTest.sendOne(a, b.localAddress(), 3);
            }
            Thread.onSpinWait();
        }
        assertTrue(sleeper.get() > 0, "woken by a frame");
        assertTrue(drain(b) > 0);
    }

    @Test
    void wakesForAWakeUpRungBeforeOrDuringTheSleep() throws Exception
    {
        b.wakeup();
        final long startNs = System.nanoTime();
        assertTrue(b.awaitReadable(LONG_WAIT_NS) > 0, "rung before");
        assertTrue(System.nanoTime() - startNs < LONG_WAIT_NS / 2);
        assertEquals(0, b.awaitReadable(TimeUnit.MILLISECONDS.toNanos(1)), "a ring wakes one sleep");

        final CompletableFuture<Integer> sleeper = CompletableFuture.supplyAsync(() -> b.awaitReadable(LONG_WAIT_NS));
        while (!sleeper.isDone())
        {
            b.wakeup();
            Thread.onSpinWait();
        }
        assertTrue(sleeper.get() > 0, "rung during");
    }

    private static int drain(final RawEthernetDriver driver)
    {
        final int[] count = new int[1];
        int delivered;
        do
        {
            delivered = driver.poll((packet) ->
            {
                count[0]++;
                driver.release(packet);
            }, 64);
        }
        while (delivered > 0);
        return count[0];
    }
}
