package dev.homa.bench.sim;

import dev.homa.bench.cli.OneLineErrors;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.Topology;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * {@code homa-sim}: the cluster simulator. Runs the real Homa engine on every host of a simulated cluster (the
 * paper's 144 hosts, or one rack) in virtual time, with the paper's workloads, its ablations and pFabric in the same
 * run, and writes CSV files and PNG plots. See docs/simulation.md.
 */
@Command(name = "homa-sim", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Simulate a cluster running the real Homa engine (and pFabric) in virtual time: slowdown per message size, " +
            "delivered load, wasted bandwidth, queue peaks; or the highest sustainable load (--max-load).",
        "Every option can also come from a properties file: --config FILE, one 'option-name=value' per line " +
            "(e.g. load=0.8, transports=homa,pfabric)."})
public final class HomaSim implements Callable<Integer>
{
    /** The automatic drain lasts at least this many transmission times of the workload's longest message. */
    static final int DRAIN_LONGEST_MESSAGES = 20;
    /**
     * The automatic window is this much longer than the expected time for --largest-bucket requests: the count in a
     * window is Poisson and the largest bucket's share is rounded, so the expected time alone falls short about half
     * the time.
     */
    static final double WINDOW_MARGIN = 1.25;

    @Option(names = "--config", paramLabel = "FILE",
        description = "Properties file with option values (option name without dashes = value).")
    File config;

    @Option(names = "--topology", defaultValue = "paper",
        description = "paper (9 racks of 16 hosts, 4 spines) or rack (16 hosts, one switch). Default ${DEFAULT-VALUE}.")
    String topology;

    @Option(names = "--racks", description = "Racks (overrides the preset).")
    Integer racks;

    @Option(names = "--hosts-per-rack", description = "Hosts per rack (overrides the preset).")
    Integer hostsPerRack;

    @Option(names = "--spines", description = "Spine switches (overrides the preset).")
    Integer spines;

    @Option(names = "--host-link", defaultValue = "10g", description = "Host link rate. Default ${DEFAULT-VALUE}.")
    String hostLink;

    @Option(names = "--fabric-link", defaultValue = "40g",
        description = "ToR-spine link rate. Default ${DEFAULT-VALUE}.")
    String fabricLink;

    @Option(names = "--switch-latency", defaultValue = "250ns",
        description = "Fixed latency of each switch. Default ${DEFAULT-VALUE}.")
    String switchLatency;

    @Option(names = "--host-delay", defaultValue = "500ns",
        description = "Delay of each host link, each way (the paper's NIC and software time). " +
            "Default ${DEFAULT-VALUE}.")
    String hostDelay;

    @Option(names = "--fabric-delay", defaultValue = "0ns",
        description = "Delay of each ToR-spine link. Default ${DEFAULT-VALUE}.")
    String fabricDelay;

    @Option(names = "--host-buffer", defaultValue = "0",
        description = "Buffer of each ToR port towards a host, bytes; 0 = unlimited. Default ${DEFAULT-VALUE}.")
    String hostBuffer;

    @Option(names = "--fabric-buffer", defaultValue = "0",
        description = "Buffer of each ToR-spine port, bytes; 0 = unlimited. Default ${DEFAULT-VALUE}.")
    String fabricBuffer;

    @Option(names = "--levels", defaultValue = "8",
        description = "Priority queues per switch port. Default ${DEFAULT-VALUE}.")
    int levels;

    @Option(names = "--workload", split = ",", defaultValue = "w3",
        description = "w1..w5 and/or fixed sizes (e.g. 1500, 64k). Default ${DEFAULT-VALUE}.")
    List<String> workloads;

    @Option(names = "--load", split = ",", defaultValue = "0.8",
        description = "Offered load per host link (requests and responses on the wire), 0..1. " +
            "Default ${DEFAULT-VALUE}.")
    List<Double> loads;

    @Option(names = "--transports", split = ",", defaultValue = "all",
        description = "homa, homa-1level, homa-k1, homa-fifo, homa-static, homa-online, homa-incast, pfabric, " +
            "ideal (a central scheduler's SRPT matching), or all. Default ${DEFAULT-VALUE}.")
    List<String> transports;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of arrivals, sizes, destinations, spraying.")
    long seed;

    @Option(names = "--largest-bucket", defaultValue = "1000",
        description = "Size the window so that about this many requests fall in the largest-size bucket. " +
            "Default ${DEFAULT-VALUE}.")
    int largestBucket;

    @Option(names = "--warmup", defaultValue = "auto",
        description = "Virtual time before measuring; auto = the longer of 2 ms and 40 requests per host.")
    String warmup;

    @Option(names = "--window", defaultValue = "auto",
        description = "Measurement window; auto = the longer of 2 ms and what --largest-bucket needs.")
    String window;

    @Option(names = "--drain", defaultValue = "auto",
        description = "Longest wait after the window for its requests; auto = four times the window, at least 10 ms " +
            "and 20 transmission times of the longest message (none for --max-load-criterion backlog).")
    String drain;

    @Option(names = "--response-bytes", defaultValue = "1",
        description = "Bytes of each response. Default ${DEFAULT-VALUE}.")
    int responseBytes;

    @Option(names = "--fanout", defaultValue = "1",
        description = "Requests each arrival issues at once, to that many different hosts (a client gathering " +
            "from many servers: their responses converge on it). Default ${DEFAULT-VALUE}.")
    int fanout;

    @Option(names = "--cutoff-min-messages", defaultValue = "20",
        description = "homa-online: messages a receiver sees before it computes cutoffs (the engine's default is " +
            "10,000; a simulated run is too short for that). Default ${DEFAULT-VALUE}.")
    int cutoffMinMessages;

    @Option(names = "--cutoff-interval", defaultValue = "auto",
        description = "homa-online: how often receivers recompute cutoffs; auto = a twentieth of the warm-up.")
    String cutoffInterval;

    @Option(names = "--homa", paramLabel = "PROPERTY=VALUE",
        description = "A homa.* engine property for every Homa host (repeatable), e.g. homa.overcommit=4.")
    Map<String, String> homaProperties = new LinkedHashMap<>();

    @Option(names = "--pfabric-buffer", defaultValue = "auto",
        description = "pFabric's buffer per port; auto = two bandwidth-delay products of the topology.")
    String pfabricBuffer;

    @Option(names = "--pfabric-window", defaultValue = "auto",
        description = "pFabric's initial window per message; auto = one bandwidth-delay product.")
    String pfabricWindow;

    @Option(names = "--pfabric-rto", defaultValue = "auto",
        description = "pFabric's retransmission timeout; auto = three idle round trips.")
    String pfabricRto;

    @Option(names = "--max-load", description = "Find the highest sustainable load instead of running at --load.")
    boolean maxLoad;

    @Option(names = "--max-load-transports", split = ",", defaultValue = "homa,homa-k1,pfabric,ideal",
        description = "Transports for --max-load. Default ${DEFAULT-VALUE}.")
    List<String> maxLoadTransports;

    @Option(names = "--max-load-from", defaultValue = "0.5",
        description = "Lowest load --max-load probes. Default ${DEFAULT-VALUE}.")
    double maxLoadFrom;

    @Option(names = "--max-load-resolution", defaultValue = "0.01",
        description = "Resolution of --max-load. Default ${DEFAULT-VALUE}.")
    double maxLoadResolution;

    @Option(names = "--max-load-criterion", defaultValue = "delivered",
        description = "delivered: the window's RPCs delivered within 1%% of their bytes by the end of the drain; " +
            "backlog: the bytes received in the window's second half within 1%% of those sent in it (no drain " +
            "unless --drain is given; needs a window of many transmission times of the longest message). " +
            "Default ${DEFAULT-VALUE}.")
    String maxLoadCriterion;

    @Option(names = "--max-load-largest-bucket", defaultValue = "300",
        description = "--largest-bucket for each --max-load probe. Default ${DEFAULT-VALUE}.")
    int maxLoadLargestBucket;

    @Option(names = "--threads", defaultValue = "1",
        description = "Runs in parallel, each on one thread. Default ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--output", defaultValue = "sim-results", description = "Directory for CSV and PNG files.")
    Path output;

    @Option(names = "--trace-requests", paramLabel = "MIN-MAX",
        description = "Homa runs: write trace-<workload>-load<NN>-<transport>.csv, one row per measured request of " +
            "this size range (e.g. 19k-72k): when its DATA and first GRANT went out and arrived, its packets' " +
            "longest waits, the retransmissions its hosts sent and received meanwhile.")
    String traceRequests;

    /** {@link #traceRequests} parsed: {min, max} bytes, null for none. */
    private int[] traceRange;

    @Option(names = "--no-plots", description = "Write the CSV files only.")
    boolean noPlots;

    @Option(names = "--quiet", description = "No progress lines.")
    boolean quiet;

    /**
     * Run the simulator and exit with its status.
     *
     * @param args command line.
     */
    public static void main(final String[] args)
    {
        System.exit(execute(args));
    }

    /**
     * @param args command line.
     * @return exit status: 0 done, 2 bad usage or a failed run.
     */
    static int execute(final String... args)
    {
        final CommandLine commandLine = new CommandLine(new HomaSim());
        for (int i = 0; i < args.length; i++)
        {
            final String arg = args[i];
            final String file = arg.startsWith("--config=") ? arg.substring("--config=".length()) :
                "--config".equals(arg) && i + 1 < args.length ? args[i + 1] : null;
            if (null != file)
            {
                if (!new File(file).isFile())
                {
                    System.err.println("homa-sim: no config file " + file);
                    return 2;
                }
                commandLine.setDefaultValueProvider(new CommandLine.PropertiesDefaultProvider(new File(file)));
            }
        }
        commandLine.setExecutionExceptionHandler(OneLineErrors.handler("homa-sim"));
        final int status = commandLine.execute(args);
        return 0 == status ? 0 : 2;
    }

    @Override
    public Integer call() throws Exception
    {
        for (final Map.Entry<String, String> entry : homaProperties.entrySet())
        {
            if (!entry.getKey().startsWith("homa."))
            {
                throw new IllegalArgumentException("--homa takes homa.* properties: " + entry.getKey());
            }
            System.setProperty(entry.getKey(), entry.getValue());
        }
        final Topology base = topology();
        final List<Workload> parsedWorkloads = new ArrayList<>();
        for (final String spec : workloads)
        {
            parsedWorkloads.add(Workload.parse(spec));
        }
        for (final double load : loads)
        {
            if (!(load > 0 && load < 1.5))
            {
                throw new IllegalArgumentException("a load is a fraction of the host link, e.g. 0.8: " + load);
            }
        }
        final List<Variant> variants = variants(transports);
        traceRange = null == traceRequests ? null : RequestTrace.parseRange(traceRequests);
        if (threads < 1)
        {
            throw new IllegalArgumentException("--threads must be at least 1: " + threads);
        }
        final ExecutorService pool = Executors.newFixedThreadPool(threads);
        try
        {
            if (maxLoad)
            {
                return maxLoad(base, parsedWorkloads, variants(maxLoadTransports), pool);
            }
            final List<RunSpec> specs = new ArrayList<>();
            for (final Workload workload : parsedWorkloads)
            {
                for (final double load : loads)
                {
                    for (final Variant variant : variants)
                    {
                        specs.add(spec(base, workload, load, variant, largestBucket));
                    }
                }
            }
            final List<RunResult> results = runAll(specs, pool);
            ResultFiles.write(output, results);
            if (!noPlots)
            {
                plot(results);
            }
            log("wrote " + output.toAbsolutePath());
            return 0;
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    private int maxLoad(final Topology base, final List<Workload> parsedWorkloads, final List<Variant> variants,
        final ExecutorService pool) throws Exception
    {
        final LoadSearch.Criterion criterion = LoadSearch.Criterion.parse(maxLoadCriterion);
        final List<Future<LoadSearch.Outcome>> futures = new ArrayList<>();
        for (final Workload workload : parsedWorkloads)
        {
            for (final Variant variant : variants)
            {
                futures.add(pool.submit(() -> LoadSearch.search(
                    (load) -> spec(base, workload, load, variant, maxLoadLargestBucket), this::runLogged,
                    maxLoadFrom, maxLoadResolution, criterion)));
            }
        }
        final List<LoadSearch.Outcome> outcomes = new ArrayList<>();
        final List<RunResult> probes = new ArrayList<>();
        for (final Future<LoadSearch.Outcome> future : futures)
        {
            final LoadSearch.Outcome outcome = future.get();
            outcomes.add(outcome);
            probes.addAll(outcome.runs());
            log(String.format(Locale.ROOT, "%s %s: highest sustainable load %.2f (%d probes)", outcome.workload(),
                outcome.variant().id(), outcome.maxLoad(), outcome.probes()));
        }
        ResultFiles.writeMaxLoad(output, outcomes);
        ResultFiles.write(output, probes);
        if (!noPlots)
        {
            SlowdownCharts.maxLoad(output.resolve("max-load.png"), outcomes);
        }
        log("wrote " + output.toAbsolutePath());
        return 0;
    }

    private List<RunResult> runAll(final List<RunSpec> specs, final ExecutorService pool) throws Exception
    {
        final List<Future<RunResult>> futures = new ArrayList<>();
        for (final RunSpec spec : specs)
        {
            futures.add(pool.submit(() -> runLogged(spec)));
        }
        final List<RunResult> results = new ArrayList<>();
        for (final Future<RunResult> future : futures)
        {
            results.add(future.get());
        }
        return results;
    }

    private RunResult runLogged(final RunSpec spec)
    {
        final ClusterRun run = Variant.IDEAL == spec.variant() ? null : new ClusterRun(spec);
        final RequestTrace trace = null == traceRange || !spec.variant().isHoma() || maxLoad ? null :
            run.trace(traceRange[0], traceRange[1]);
        final RunResult result = null == run ? new IdealMatching(spec).run() : run.run();
        if (null != trace)
        {
            trace.write(output.resolve(String.format(Locale.ROOT, "trace-%s-load%02.0f-%s.csv",
                spec.workload().name().toLowerCase(Locale.ROOT), spec.load() * 100, spec.variant().id())),
                result.simulatedNs());
        }
        log(String.format(Locale.ROOT, "%s load %.2f %-13s offered %.4f delivered %.4f (%.2f%%) " +
            "received %.4f (%.2f%%, %.2f%% of receivable) wasted %.3f measured %d incomplete %d " +
            "late received %.2f%% smallest-bucket p99 %.2f RPC p99 %.2f | " +
            "%d packets in %.1f s: %.0f packets/s (%.0f per CPU second)",
            spec.workload().name(), spec.load(), spec.variant().id(), result.offeredLoad(), result.deliveredLoad(),
            100 * result.deliveredShare(), result.receivedLoad(), 100 * result.receivedShare(),
            100 * result.receivedOfReceivable(), result.wastedDownlink(), result.measuredRequests(),
            result.incompleteTotal(), 100 * result.lateReceivedShare(), result.p99()[0], result.rpcP99(),
            result.packets(), result.wallNs() / 1e9, result.packetsPerSecond(), result.packetsPerCpuSecond()));
        return result;
    }

    private void plot(final List<RunResult> results)
    {
        final Map<String, List<RunResult>> groups = new LinkedHashMap<>();
        for (final RunResult result : results)
        {
            final String key = String.format(Locale.ROOT, "%s-load%02.0f", result.spec().workload().name()
                .toLowerCase(Locale.ROOT), result.spec().load() * 100);
            groups.computeIfAbsent(key, (k) -> new ArrayList<>()).add(result);
        }
        for (final Map.Entry<String, List<RunResult>> group : groups.entrySet())
        {
            SlowdownCharts.slowdownBySize(output.resolve("slowdown-p99-" + group.getKey() + ".png"),
                group.getValue(), 99);
            SlowdownCharts.slowdownBySize(output.resolve("slowdown-p50-" + group.getKey() + ".png"),
                group.getValue(), 50);
        }
    }

    private void log(final String line)
    {
        if (!quiet)
        {
            synchronized (System.out)
            {
                System.out.println(line);
            }
        }
    }

    Topology topology()
    {
        final Topology.Builder builder = Topology.builder();
        switch (topology.toLowerCase(Locale.ROOT))
        {
            case "paper" -> builder.racks(9).hostsPerRack(16).spines(4);
            case "rack" -> builder.racks(1).hostsPerRack(16).spines(0);
            default -> throw new IllegalArgumentException("--topology is paper or rack: " + topology);
        }
        if (null != racks)
        {
            builder.racks(racks);
        }
        if (null != hostsPerRack)
        {
            builder.hostsPerRack(hostsPerRack);
        }
        if (null != spines)
        {
            builder.spines(spines);
        }
        return builder.hostLinkBitsPerSecond(SimOptions.parseRate(hostLink))
            .fabricLinkBitsPerSecond(SimOptions.parseRate(fabricLink))
            .switchLatencyNs(SimOptions.parseDurationNs(switchLatency))
            .hostLinkDelayNs(SimOptions.parseDurationNs(hostDelay))
            .fabricLinkDelayNs(SimOptions.parseDurationNs(fabricDelay))
            .hostPortBufferBytes(SimOptions.parseSize(hostBuffer))
            .fabricPortBufferBytes(SimOptions.parseSize(fabricBuffer))
            .priorityLevels(levels)
            .sprayingSeed(seed)
            .build();
    }

    private static List<Variant> variants(final List<String> names)
    {
        final List<Variant> variants = new ArrayList<>();
        for (final String name : names)
        {
            if ("all".equalsIgnoreCase(name.trim()))
            {
                variants.addAll(List.of(Variant.values()));
            }
            else
            {
                variants.add(Variant.parse(name));
            }
        }
        return variants;
    }

    /**
     * The run of one transport on one workload at one load, with the durations planned from the workload.
     */
    RunSpec spec(final Topology base, final Workload workload, final double load, final Variant variant,
        final int bucketTarget)
    {
        final int payloadPerPacket = Fabric.DEFAULT_MAX_PACKET_LENGTH - PfabricHost.HEADER_LENGTH;
        final int overhead = PfabricHost.HEADER_LENGTH + Fabric.DEFAULT_WIRE_OVERHEAD_BYTES;
        final double linkBytesPerNs = base.hostLinkBitsPerSecond() / 8e9;
        final double wirePerRpc = workload.meanWireBytes(payloadPerPacket, overhead) +
            Workload.wireBytes(responseBytes, payloadPerPacket, overhead);
        final double meanGapNs = wirePerRpc / (load * linkBytesPerNs);
        if (fanout < 1 || fanout >= base.hosts())
        {
            throw new IllegalArgumentException("--fanout is 1 to one less than the hosts: " + fanout);
        }
        final double largestShare = workload.bucketShare(workload.bucketCount() - 1);
        final double neededNs = bucketTarget * meanGapNs / (base.hosts() * largestShare);
        final long windowNs = "auto".equals(window) ? Math.max(2_000_000L, (long)(neededNs * WINDOW_MARGIN)) :
            SimOptions.parseDurationNs(window);
        final long warmupNs = "auto".equals(warmup) ? Math.max(2_000_000L, (long)(40 * meanGapNs)) :
            SimOptions.parseDurationNs(warmup);
        // A stable network still serves its longest messages last (SRPT): at 80% load one can take many times
        // its own transmission time, so the drain must cover that or it would count a stable run as falling behind.
        final long longestNs =
            (long)(Workload.wireBytes(workload.maxBytes(), payloadPerPacket, overhead) / linkBytesPerNs);
        final long drainNs = !"auto".equals(drain) ? SimOptions.parseDurationNs(drain) : backlogSearch() ? 0 :
            Math.max(Math.max(10_000_000L, 4 * windowNs), DRAIN_LONGEST_MESSAGES * longestNs);
        final long cutoffIntervalNs = "auto".equals(cutoffInterval) ? Math.max(100_000L, warmupNs / 20) :
            SimOptions.parseDurationNs(cutoffInterval);
        final long fullFrame = Fabric.DEFAULT_MAX_PACKET_LENGTH + Fabric.DEFAULT_WIRE_OVERHEAD_BYTES;
        final long rttPs = base.idleFrameLatencyPs((int)fullFrame, 1 == base.racks()) +
            base.idleFrameLatencyPs(PfabricHost.ACK_LENGTH + Fabric.DEFAULT_WIRE_OVERHEAD_BYTES, 1 == base.racks());
        final long bdpBytes = rttPs * base.hostLinkBitsPerSecond() / 8 / 1_000_000_000_000L;
        return new RunSpec(base, workload, load, variant, seed, warmupNs, windowNs, drainNs, responseBytes,
            fanout, cutoffMinMessages, cutoffIntervalNs,
            "auto".equals(pfabricBuffer) ? 2 * bdpBytes : SimOptions.parseSize(pfabricBuffer),
            (int)("auto".equals(pfabricWindow) ? bdpBytes : SimOptions.parseSize(pfabricWindow)),
            "auto".equals(pfabricRto) ? Math.max(1, 3 * rttPs / 1000) : SimOptions.parseDurationNs(pfabricRto));
    }

    /**
     * @return true if this is a --max-load search by the backlog criterion, which needs no drain.
     */
    private boolean backlogSearch()
    {
        return maxLoad && LoadSearch.Criterion.BACKLOG == LoadSearch.Criterion.parse(maxLoadCriterion);
    }

    Function<RunSpec, RunResult> runner()
    {
        return this::runLogged;
    }
}
