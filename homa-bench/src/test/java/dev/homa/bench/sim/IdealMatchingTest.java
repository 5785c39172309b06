package dev.homa.bench.sim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ideal transport: after every event its matching is the greedy SRPT matching of the messages in flight, computed
 * afresh; on an idle network every message takes its idle time; and it carries the requests the cluster runs issue.
 */
class IdealMatchingTest
{
    private static RunSpec spec(final String workload, final double load, final long seed, final String window)
    {
        final HomaSim sim = new HomaSim();
        new CommandLine(sim).parseArgs("--topology", "rack", "--hosts-per-rack", "8", "--workload", workload,
            "--warmup", "1ms", "--window", window, "--drain", "0ns", "--seed", Long.toString(seed), "--quiet");
        return sim.spec(sim.topology(), Workload.parse(workload), load, Variant.IDEAL, 1000);
    }

    @Test
    @Timeout(60)
    void afterEveryEventTheMatchingIsTheGreedySrptMatching()
    {
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("IdealMatchingTest seed " + seed + " (replay with -Dhoma.seed=" + seed + ")");
        // Heavy-tailed sizes beyond the links' rate: long waits, many preemptions, receivers with backlogs.
        final RunResult result = new IdealMatching(spec("w4", 1.2, seed, "20ms")).verifying().run();
        assertTrue(result.measuredRequests() > 1_000, "requests measured: " + result.measuredRequests());
        assertTrue(result.lateReceivedLoad() > 0.5, "the links carry most of it: " + result.lateReceivedLoad());
    }

    @Test
    @Timeout(60)
    void onAnIdleNetworkEveryMessageTakesItsIdleTime()
    {
        final RunResult result = new IdealMatching(spec("w3", 0.001, 5, "200ms")).run();
        for (int bucket = 0; bucket < result.p50().length; bucket++)
        {
            if (result.bucketCounts()[bucket] > 0)
            {
                assertEquals(1.0, result.p50()[bucket], 1e-9, "bucket " + bucket);
            }
        }
        assertEquals(1.0, result.rpcP50(), 1e-9, "an RPC: its request's idle time, then its response's");
        assertEquals(0, result.incompleteTotal());
    }

    @Test
    @Timeout(60)
    void itCarriesWhatTheLinksCanAndNoMore()
    {
        final RunResult carried = new IdealMatching(spec("1000", 0.7, 3, "5ms")).run();
        assertEquals(carried.lateSentLoad(), carried.lateReceivedLoad(), 0.01, "one-packet messages at 0.7");
        final RunResult beyond = new IdealMatching(spec("1000", 1.2, 3, "5ms")).run();
        assertTrue(beyond.lateReceivedLoad() <= 1.0 + 1e-9, "no link beyond its rate: " + beyond.lateReceivedLoad());
        assertTrue(beyond.lateReceivedLoad() > 0.9, "nearly every link busy: " + beyond.lateReceivedLoad());
    }
}
