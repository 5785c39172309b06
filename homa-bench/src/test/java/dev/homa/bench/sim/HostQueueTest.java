package dev.homa.bench.sim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostQueueTest
{
    private static final int HOSTS = 130;

    /**
     * Wake-ups for the current instant and for later, wake-ups while a host runs, and reschedules, at random,
     * against a plain scan by (time, index): the queue must hand out the same host at the same time at every step.
     */
    @Test
    @Timeout(60)
    void runsHostsInOrderOfTimeThenIndexWhateverWokeThem()
    {
        final long seed = 20261205L;
        System.out.println("HostQueueTest seed " + seed);
        final SplittableRandom random = new SplittableRandom(seed);
        final HomaSim sim = new HomaSim();
        new CommandLine(sim).parseArgs("--topology", "rack", "--hosts-per-rack", "2", "--workload", "1000",
            "--quiet");
        final ClusterRun run = new ClusterRun(sim.spec(sim.topology(), Workload.parse("1000"), 0.5,
            Variant.PFABRIC, 1000));
        final SimHost[] hosts = new SimHost[HOSTS];
        final long[] due = new long[HOSTS];
        final HostQueue queue = new HostQueue(hosts);
        for (int i = 0; i < HOSTS; i++)
        {
            hosts[i] = new IdleHost(i, run);
            due[i] = 1 + random.nextInt(40);
            queue.wake(hosts[i], due[i]);
        }
        long nowNs = 0;
        for (int step = 0; step < 200_000; step++)
        {
            final int expected = first(due);
            assertEquals(due[expected], queue.firstDueNs(), "step " + step);
            if (random.nextInt(4) == 0)
            {
                // A packet reaches a few hosts at some time up to the first host's, often at that very time.
                nowNs = random.nextBoolean() ? due[expected] : nowNs + random.nextLong(due[expected] - nowNs + 1);
                final int arrivals = 1 + random.nextInt(2);
                for (int i = 0; i < arrivals; i++)
                {
                    final int host = random.nextInt(HOSTS);
                    queue.wake(hosts[host], nowNs);
                    due[host] = Math.min(due[host], nowNs);
                }
                if (random.nextInt(4) == 0)
                {
                    // A wake-up for later than now, which the heap takes.
                    final int host = random.nextInt(HOSTS);
                    final long atNs = nowNs + 1 + random.nextInt(10);
                    queue.wake(hosts[host], atNs);
                    due[host] = Math.min(due[host], atNs);
                }
                continue;
            }
            nowNs = due[expected];
            final SimHost host = queue.next();
            assertSame(hosts[expected], host, "step " + step + " at " + nowNs);
            host.running = true;
            host.wokenNs = Long.MAX_VALUE;
            final int wakes = random.nextInt(4) == 0 ? 1 : 0;
            for (int i = 0; i < wakes; i++)
            {
                final int other = random.nextInt(HOSTS);
                queue.wake(hosts[other], nowNs);
                if (other != expected)
                {
                    due[other] = Math.min(due[other], nowNs);
                }
            }
            host.running = false;
            final long nextNs = Math.min(host.wokenNs, nowNs + 1 + random.nextInt(40));
            due[expected] = Math.max(nowNs + 1, nextNs);
            queue.reschedule(host, due[expected]);
        }
        assertTrue(nowNs > 5_000, "time moved on: " + nowNs);
    }

    private static int first(final long[] due)
    {
        int first = 0;
        for (int i = 1; i < due.length; i++)
        {
            if (due[i] < due[first])
            {
                first = i;
            }
        }
        return first;
    }

    private static final class IdleHost extends SimHost
    {
        IdleHost(final int index, final ClusterRun run)
        {
            super(index, run, 1, 1_000.0);
        }

        @Override
        long send(final int destination, final int bytes, final long nowNs)
        {
            return -1;
        }

        @Override
        long work(final long nowNs)
        {
            return Long.MAX_VALUE;
        }

        @Override
        long packetsSent()
        {
            return 0;
        }

        @Override
        long receivedWireBytes()
        {
            return 0;
        }

        @Override
        void addCounters(final java.util.Map<String, Long> totals)
        {
        }

        @Override
        void close()
        {
        }
    }
}
