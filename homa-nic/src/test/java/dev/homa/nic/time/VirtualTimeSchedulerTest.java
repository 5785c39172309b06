package dev.homa.nic.time;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
    void firesInTheOrderOfOneHeapOfDeadlineAndSequenceNearAndFar()
    {
        final long seed = Long.getLong("homa.seed", 7L);
        System.out.println("VirtualTimeSchedulerTest order seed=" + seed);
        final SplittableRandom random = new SplittableRandom(seed);
        final VirtualClock clock = new VirtualClock(1_000);
        final VirtualTimeScheduler scheduler = new VirtualTimeScheduler(clock);
        // The reference: every event's (deadline, sequence), sorted, is the order they must fire in.
        final List<long[]> expected = new ArrayList<>();
        final List<long[]> fired = new ArrayList<>();
        final long[] sequence = {0};
        final TimedEvent[] spawner = new TimedEvent[1];
        spawner[0] = now ->
        {
            for (int i = random.nextInt(4); i > 0; i--)
            {
                // Near (inside the wheel), far (beyond it), at the same instant, or in the past.
                final long delay = switch (random.nextInt(4))
                {
                    case 0 -> random.nextLong(3_000);
                    case 1 -> VirtualTimeScheduler.WHEEL_SLOTS + random.nextLong(5L * VirtualTimeScheduler.WHEEL_SLOTS);
                    case 2 -> 0;
                    default -> -random.nextLong(100);
                };
                final long deadline = Math.max(now, now + delay);
                final long id = sequence[0]++;
                expected.add(new long[]{ deadline, id });
                scheduler.schedule(now + delay, at ->
                {
                    fired.add(new long[]{ at, id });
                    if (fired.size() < 20_000)
                    {
                        spawner[0].onTimedEvent(at);
                    }
                });
            }
        };
        for (int i = 0; i < 50; i++)
        {
            spawner[0].onTimedEvent(clock.nanoTime());
        }
        while (scheduler.runNext())
        {
            if (random.nextInt(50) == 0 && scheduler.nextDeadlineNs() > clock.nanoTime() + 10)
            {
                // Whoever drives the clock may move it on between events (the simulator runs hosts then).
                clock.advanceTo(clock.nanoTime() + random.nextLong(scheduler.nextDeadlineNs() - clock.nanoTime()));
                spawner[0].onTimedEvent(clock.nanoTime());
            }
        }
        expected.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        assertEquals(expected.size(), fired.size());
        for (int i = 0; i < expected.size(); i++)
        {
            assertArrayEquals(expected.get(i), fired.get(i), "event " + i + " of " + expected.size());
        }
        assertEquals(0, scheduler.size());
    }

    @Test
    void clockNeverRunsBackwards()
    {
        final VirtualClock clock = new VirtualClock(100);
        assertThrows(IllegalArgumentException.class, () -> clock.advanceTo(99));
    }
}
