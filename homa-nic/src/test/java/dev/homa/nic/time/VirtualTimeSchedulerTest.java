package dev.homa.nic.time;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class VirtualTimeSchedulerTest
{
    @Test
    void firesInDeadlineOrderAndTiesInScheduleOrder()
    {
        final VirtualClock clock = new VirtualClock();
        final VirtualTimeScheduler scheduler = new VirtualTimeScheduler(clock);
        final List<String> fired = new ArrayList<>();
        scheduler.schedule(300, now -> fired.add("c@" + now));
        scheduler.schedule(100, now -> fired.add("a@" + now));
        scheduler.schedule(300, now -> fired.add("d@" + now));
        scheduler.schedule(200, now -> fired.add("b@" + now));

        assertEquals(100, scheduler.nextDeadlineNs());
        while (scheduler.runNext())
        {
            assertEquals(clock.nanoTime(), Long.parseLong(fired.getLast().substring(2)));
        }
        assertEquals(List.of("a@100", "b@200", "c@300", "d@300"), fired);
        assertEquals(Long.MAX_VALUE, scheduler.nextDeadlineNs());
    }

    @Test
    void eventsMayScheduleMoreEventsAndPastDeadlinesFireNow()
    {
        final VirtualClock clock = new VirtualClock(50);
        final VirtualTimeScheduler scheduler = new VirtualTimeScheduler(clock);
        final List<Long> times = new ArrayList<>();
        scheduler.schedule(10, new TimedEvent()
        {
            int remaining = 3;

            public void onTimedEvent(final long nowNs)
            {
                times.add(nowNs);
                if (--remaining > 0)
                {
                    scheduler.schedule(nowNs + 1_000, this);
                }
            }
        });
        assertEquals(3, scheduler.runUntil(10_000));
        assertEquals(List.of(50L, 1_050L, 2_050L), times);
        assertEquals(10_000, clock.nanoTime());
    }

    @Test
    void heapStaysOrderedUnderRandomLoadAndGrows()
    {
        final long seed = Long.getLong("homa.seed", 42L);
        System.out.println("VirtualTimeSchedulerTest seed=" + seed);
        final SplittableRandom random = new SplittableRandom(seed);
        final VirtualTimeScheduler scheduler = new VirtualTimeScheduler(new VirtualClock());
        final long[] last = {-1};
        final int[] count = {0};
        for (int i = 0; i < 10_000; i++)
        {
            scheduler.schedule(random.nextLong(1_000_000), now ->
            {
                assertTrue(now >= last[0]);
                last[0] = now;
                count[0]++;
            });
        }
        scheduler.runUntil(Long.MAX_VALUE - 1);
        assertEquals(10_000, count[0]);
        assertEquals(0, scheduler.size());
    }

    @Test
    void clockNeverRunsBackwards()
    {
        final VirtualClock clock = new VirtualClock(100);
        assertThrows(IllegalArgumentException.class, () -> clock.advanceTo(99));
    }
}
