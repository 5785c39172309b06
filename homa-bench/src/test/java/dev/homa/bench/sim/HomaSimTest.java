package dev.homa.bench.sim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator's smoke configuration: one small rack, every transport, a short window. The same seed gives
 * byte-identical result files; every run delivers its load and measures something in every bucket.
 */
class HomaSimTest
{
    private static final String[] SMOKE = {
        "--topology", "rack", "--hosts-per-rack", "8", "--workload", "w3", "--load", "0.5", "--transports", "all",
        "--warmup", "300us", "--window", "1ms", "--drain", "20ms", "--seed", "11", "--quiet" };

    @Test
    @Timeout(120)
    void theSameSeedGivesByteIdenticalResultsAndEveryTransportDeliversItsLoad(@TempDir final Path temp)
        throws IOException
    {
        final Path first = temp.resolve("first");
        final Path second = temp.resolve("second");
        assertEquals(0, HomaSim.execute(with(SMOKE, "--output", first.toString())));
        assertEquals(0, HomaSim.execute(with(SMOKE, "--output", second.toString(), "--no-plots")));
        for (final String file : new String[]{ ResultFiles.RESULTS, ResultFiles.SUMMARY, ResultFiles.COUNTERS })
        {
            assertArrayEquals(Files.readAllBytes(first.resolve(file)), Files.readAllBytes(second.resolve(file)),
                file + " differs between two runs with seed 11");
        }
        assertTrue(Files.size(first.resolve("slowdown-p99-w3-load50.png")) > 10_000, "p99 plot written");

        final List<String> summary = Files.readAllLines(first.resolve(ResultFiles.SUMMARY));
        assertEquals(1 + Variant.values().length, summary.size(), "one line per transport");
        for (final String line : summary.subList(1, summary.size()))
        {
            final String[] fields = line.split(",");
            final double share = Double.parseDouble(fields[6]);
            assertTrue(share > 0.999, "every RPC of the window delivered: " + line);
            assertTrue(Long.parseLong(fields[12]) > 1_000, "requests measured: " + line);
        }
        // Cutoffs from the workload are installed at launch and never change; homa-online computes its own.
        final List<String> counters = Files.readAllLines(first.resolve(ResultFiles.COUNTERS));
        assertTrue(counters.contains("W3,0.50,homa,cutoff_changes,0"), "homa keeps the workload's cutoffs");
        assertTrue(counters.stream().anyMatch(line -> line.startsWith("W3,0.50,homa-online,cutoff_changes,") &&
            !line.endsWith(",0")), "homa-online computes its own");
        final List<String> buckets = Files.readAllLines(first.resolve(ResultFiles.RESULTS));
        for (final String line : buckets.subList(1, buckets.size()))
        {
            final String[] fields = line.split(",");
            assertTrue(Long.parseLong(fields[5]) > 0, "every bucket measured: " + line);
            assertTrue(Double.parseDouble(fields[6]) >= 1.0 - 1e-9, "slowdown at least 1: " + line);
        }
    }

    @Test
    @Timeout(60)
    void aNetworkThatKeepsUpReceivesInTheWindowWhatWasOfferedInIt(@TempDir final Path temp) throws IOException
    {
        assertEquals(0, HomaSim.execute("--topology", "rack", "--hosts-per-rack", "8", "--workload", "1000",
            "--load", "0.5", "--transports", "homa,pfabric", "--warmup", "300us", "--window", "2ms", "--drain", "5ms",
            "--seed", "3", "--quiet", "--no-plots", "--output", temp.toString()));
        final List<String> summary = Files.readAllLines(temp.resolve(ResultFiles.SUMMARY));
        assertEquals(3, summary.size());
        for (final String line : summary.subList(1, summary.size()))
        {
            final String[] fields = line.split(",");
            final double receivedShare = Double.parseDouble(fields[8]);
            assertTrue(Math.abs(receivedShare - 1) < 0.01, "received within 1% of offered: " + line);
            final double ofReceivable = Double.parseDouble(fields[10]);
            assertTrue(ofReceivable > 0.99 && ofReceivable <= 1.0, "received what could be: " + line);
        }
    }

    @Test
    @Timeout(60)
    void tracedRequestsShowWhereTheirTimeWent(@TempDir final Path temp) throws IOException
    {
        assertEquals(0, HomaSim.execute("--topology", "rack", "--hosts-per-rack", "8", "--workload", "30000",
            "--load", "0.5", "--transports", "homa,pfabric", "--warmup", "300us", "--window", "1ms", "--drain", "5ms",
            "--seed", "3", "--quiet", "--no-plots", "--trace-requests", "20k-40k", "--output", temp.toString()));
        assertFalse(Files.exists(temp.resolve("trace-30000b-load50-pfabric.csv")), "Homa runs only");
        final List<String> trace = Files.readAllLines(temp.resolve("trace-30000b-load50-homa.csv"));
        assertEquals(RequestTrace.HEADER.trim(), trace.get(0));
        final String[] homa = Files.readAllLines(temp.resolve(ResultFiles.SUMMARY)).get(1).split(",");
        assertEquals(Long.parseLong(homa[12]), trace.size() - 1, "every measured request traced");
        double slowest = 0;
        for (final String line : trace.subList(1, trace.size()))
        {
            final String[] f = line.split(",");
            assertEquals("30000", f[2]);
            assertEquals("true", f[5], "delivered: " + line);
            final double total = Double.parseDouble(f[7]);
            final double firstSent = Double.parseDouble(f[8]);
            final double firstGrantSent = Double.parseDouble(f[9]);
            final double firstGrantDelivered = Double.parseDouble(f[10]);
            final double lastDelivered = Double.parseDouble(f[13]);
            assertTrue(firstSent >= 0 && firstSent < firstGrantSent, "unscheduled bytes before a GRANT: " + line);
            assertTrue(firstGrantSent < firstGrantDelivered && firstGrantDelivered < lastDelivered, line);
            assertTrue(Integer.parseInt(f[11]) >= 1, "30 KB needs grants: " + line);
            assertTrue(lastDelivered <= total, "the last packet arrives before the request is delivered: " + line);
            assertTrue(Double.parseDouble(f[14]) >= -0.001, "no packet beats its idle time: " + line);
            assertTrue(Integer.parseInt(f[16]) > Integer.parseInt(f[17]), "scheduled below unscheduled: " + line);
            slowest = Math.max(slowest, Double.parseDouble(f[6]));
        }
        final String[] bucket = Files.readAllLines(temp.resolve(ResultFiles.RESULTS)).get(1).split(",");
        assertTrue(slowest >= Double.parseDouble(bucket[7]), "the trace holds the p99: " + slowest);
    }

    @Test
    @Timeout(60)
    void aClientGatheringFromManyServersMarksItsRequestsOnlyWithIncastHandlingOn(@TempDir final Path temp)
        throws IOException
    {
        assertEquals(0, HomaSim.execute("--topology", "rack", "--workload", "100", "--fanout", "15",
            "--response-bytes", "20000", "--load", "0.5", "--transports", "homa,homa-incast", "--warmup", "300us",
            "--window", "1ms", "--drain", "20ms", "--seed", "5", "--quiet", "--no-plots", "--output",
            temp.toString()));
        final List<String> counters = Files.readAllLines(temp.resolve(ResultFiles.COUNTERS));
        assertTrue(counters.contains("100B,0.50,homa,incast_marked_requests,0"), "off by default: " + counters);
        assertTrue(counters.stream().anyMatch(line ->
            line.startsWith("100B,0.50,homa-incast,incast_limited_responses,") && !line.endsWith(",0")),
            "15 responses converge on each client: " + counters);
        final List<String> summary = Files.readAllLines(temp.resolve(ResultFiles.SUMMARY));
        final int rpcP99 = List.of(summary.get(0).split(",")).indexOf("rpc_p99_slowdown");
        for (final String line : summary.subList(1, 3))
        {
            final String[] fields = line.split(",");
            assertTrue(Double.parseDouble(fields[6]) > 0.999, "every RPC of the window delivered: " + line);
            assertTrue(Double.parseDouble(fields[rpcP99]) >= 1.0, "RPC p99 slowdown measured: " + line);
        }
    }

    @Test
    @Timeout(60)
    void theBacklogCriterionTellsALoadTheNetworkCarriesFromOneItCannot()
    {
        final HomaSim sim = new HomaSim();
        new CommandLine(sim).parseArgs("--topology", "rack", "--hosts-per-rack", "8", "--workload", "1000",
            "--warmup", "300us", "--window", "2ms", "--drain", "0ns", "--seed", "3", "--quiet");
        final Workload workload = Workload.parse("1000");
        final RunResult carried = new ClusterRun(sim.spec(sim.topology(), workload, 0.5, Variant.HOMA, 1000)).run();
        final RunResult beyond = new ClusterRun(sim.spec(sim.topology(), workload, 1.2, Variant.HOMA, 1000)).run();
        assertTrue(LoadSearch.Criterion.BACKLOG.sustained(carried), "0.5 carried: " + carried.lateReceivedShare());
        assertEquals(0.5, carried.lateReceivedLoad(), 0.05, "the second half received what was sent in it");
        assertFalse(LoadSearch.Criterion.BACKLOG.sustained(beyond), "1.2 is beyond the link: " +
            beyond.lateReceivedShare());
        assertTrue(beyond.lateReceivedLoad() <= 1.0, "no link carries more than its rate");
        assertTrue(beyond.lateSentLoad() > 1.05, "the senders' backlog grows too: " + beyond.lateSentLoad());
    }

    @Test
    @Timeout(60)
    void eachTierOfLinksIsAsBusyAsTheTrafficThatCrossesIt()
    {
        final HomaSim sim = new HomaSim();
        new CommandLine(sim).parseArgs("--racks", "2", "--hosts-per-rack", "4", "--spines", "2", "--workload",
            "1000", "--warmup", "300us", "--window", "2ms", "--drain", "0ns", "--seed", "3", "--quiet");
        final RunResult result =
            new ClusterRun(sim.spec(sim.topology(), Workload.parse("1000"), 0.5, Variant.PFABRIC, 1000)).run();
        final double[] busy = result.tierBusy();
        assertEquals(2 * Tier.values().length, busy.length);
        final double offered = result.offeredLoad();
        // Host links carry the requests and responses (and pFabric's acknowledgements, a few percent more).
        final double uplink = busy[2 * Tier.HOST_UPLINK.ordinal()];
        final double downlink = busy[2 * Tier.HOST_DOWNLINK.ordinal()];
        assertTrue(uplink > offered && uplink < offered * 1.2, "uplinks: " + uplink + " offered " + offered);
        assertTrue(downlink > offered && downlink < offered * 1.2, "downlinks: " + downlink);
        // 4 of a host's 7 peers are in the other rack; each ToR's 2 uplinks of 40 Gb/s serve 4 hosts of 10 Gb/s.
        final double fabric = uplink * 4 / 7.0 * 4 * 10 / (2 * 40.0);
        for (final Tier tier : new Tier[]{ Tier.TOR_UPLINK,
            Tier.SPINE_DOWNLINK })
        {
            final double mean = busy[2 * tier.ordinal()];
            assertEquals(fabric, mean, fabric * 0.15, tier + ": " + mean);
        }
        for (int i = 0; i < busy.length; i += 2)
        {
            assertTrue(busy[i] <= busy[i + 1] && busy[i + 1] <= 1.0, "mean <= max <= 1: " + busy[i] + " " +
                busy[i + 1]);
        }
    }

    @Test
    @Timeout(10)
    void noTwoHostsDrawTheSameStream()
    {
        final int hosts = 144;
        final int draws = 300;
        final java.util.Set<Long> seen = new java.util.HashSet<>();
        for (int host = 0; host < hosts; host++)
        {
            final java.util.SplittableRandom random = Arrivals.hostRandom(1, host);
            for (int i = 0; i < draws; i++)
            {
                assertTrue(seen.add(random.nextLong()), "host " + host + " repeats a draw of another host");
            }
        }
    }

    @Test
    @Timeout(60)
    void anotherSeedGivesAnotherRun(@TempDir final Path temp) throws IOException
    {
        final String[] small = {
            "--topology", "rack", "--hosts-per-rack", "4", "--workload", "w2", "--load", "0.4", "--transports",
            "homa", "--warmup", "200us", "--window", "200us", "--quiet", "--no-plots" };
        assertEquals(0, HomaSim.execute(with(small, "--seed", "1", "--output", temp.resolve("a").toString())));
        assertEquals(0, HomaSim.execute(with(small, "--seed", "2", "--output", temp.resolve("b").toString())));
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(temp.resolve("a").resolve(ResultFiles.RESULTS)),
            Files.readAllBytes(temp.resolve("b").resolve(ResultFiles.RESULTS))), "the seed drives the run");
    }

    @Test
    @Timeout(10)
    void aMessageOfManyMegabytesHasItsExactIdleTime()
    {
        // W5's longest message: 235,200,000 bits take 23.52 ms at 10 Gb/s; bits x 10^12 does not fit a long.
        assertEquals(23_520_000_000L, IdleTimes.transmitPs(29_400_000L * 8, 10_000_000_000L));
        assertEquals(800L, IdleTimes.transmitPs(8, 10_000_000_000L));
        assertEquals(2_333_333_333_333L, IdleTimes.transmitPs(7, 3));
    }

    @Test
    @Timeout(30)
    void badOptionsFailInOneLine(@TempDir final Path temp)
    {
        assertEquals(2, HomaSim.execute("--workload", "w9", "--output", temp.toString(), "--quiet"));
        assertEquals(2, HomaSim.execute("--transports", "tcp", "--output", temp.toString(), "--quiet"));
        assertEquals(2, HomaSim.execute("--load", "0", "--output", temp.toString(), "--quiet"));
    }

    @Test
    @Timeout(60)
    void aPropertiesFileSetsOptions(@TempDir final Path temp) throws IOException
    {
        final Path config = temp.resolve("sim.properties");
        Files.writeString(config, "topology=rack\nhosts-per-rack=4\nworkload=1000\nload=0.3\ntransports=pfabric\n" +
            "warmup=100us\nwindow=200us\nno-plots=true\nquiet=true\n");
        assertEquals(0, HomaSim.execute("--config", config.toString(), "--output", temp.resolve("out").toString()));
        final List<String> summary = Files.readAllLines(temp.resolve("out").resolve(ResultFiles.SUMMARY));
        assertEquals(2, summary.size());
        assertTrue(summary.get(1).startsWith("1000B,0.30,pfabric,4,"), summary.get(1));
    }

    private static String[] with(final String[] base, final String... more)
    {
        final String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }
}
