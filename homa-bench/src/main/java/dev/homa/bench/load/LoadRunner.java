package dev.homa.bench.load;

import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code homa-load run}: the comparison. For each path (loopback; veth between two namespaces) and each scenario,
 * every round runs every transport once, in the same order, so that a slow minute on a shared machine lands on all
 * of them; ratios are taken within a round and their median reported.
 * <ul>
 *     <li>{@code echo}: one client, one RPC at a time, echo of each size in {@code --sizes}: goodput, latency, CPU
 *     time per GB, ratios to both TCP peers and to the UDP driver's bare echo ({@link UdpEchoFloor}, the floor
 *     under any protocol over UDP); on veth also Homa over raw Ethernet against the raw driver's bare ceiling,
 *     with segmentation offload and with a frame per packet.</li>
 *     <li>{@code outstanding}: {@code --clients} clients, each with K RPCs of {@code --bulk-size} outstanding, for
 *     each K in {@code --outstanding}: aggregate goodput.</li>
 *     <li>{@code mixed}: {@code --clients} clients streaming {@code --bulk-size} RPCs and one more sending
 *     {@code --small-size} RPCs one at a time: the small RPCs' latency.</li>
 *     <li>{@code open}: the workload {@code --workload} (sizes capped at 1,000,000), open loop with Poisson arrivals
 *     at each fraction in {@code --loads} of the highest load the fastest TCP peer sustains; slowdown per
 *     size bucket against the best unloaded latency of any transport.</li>
 *     <li>{@code sweep}: one client, one RPC at a time, each size in {@code --sweep-sizes}: goodput by size, as a
 *     PNG plot.</li>
 * </ul>
 */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Compare Homa with TCP (NIO, Netty) on loopback and veth; see the class comment for scenarios.")
final class LoadRunner implements Callable<Integer>
{
    @Option(names = "--scenarios", split = ",", defaultValue = "echo,outstanding,mixed,open,sweep",
        description = "echo, outstanding, mixed, open, sweep (default ${DEFAULT-VALUE}).")
    List<String> scenarios;

    @Option(names = "--paths", split = ",", defaultValue = "loopback,veth", description = "loopback, veth.")
    List<String> paths;

    @Option(names = "--transports", split = ",", defaultValue = "homa,homa-default,nio,netty",
        description = "homa, homa-default, homa-raw, homa-raw-frames, nio, netty (homa-raw and homa-raw-frames, " +
            "which has segmentation offload off, run on veth only; default " +
            "${DEFAULT-VALUE}, and homa-raw added on veth for echo).")
    List<String> transports;

    @Option(names = "--homa-option", description = "A system property for the 'homa', 'homa-raw' and " +
        "'homa-raw-frames' transports and their variants (repeatable), e.g. -Dhoma.idle.spin=50us.")
    List<String> homaOptions = new ArrayList<>();

    @Option(names = "--variant", description = "A Homa transport with a system property of its own, " +
        "BASE+LABEL=-Dprop=value (repeatable), run in the same rounds as the others once named in --transports, e.g. " +
        "--variant homa+big=-Dhoma.max.incoming.bytes=2m --transports homa,homa+big,nio.")
    List<String> variantOptions = new ArrayList<>();

    @Option(names = "--rounds", defaultValue = "5", description = "Rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Mixin
    WarmUp warmUp = new WarmUp();

    @Option(names = "--duration", defaultValue = "4", description = "Measured seconds per trial " +
        "(default ${DEFAULT-VALUE}).")
    double duration;

    @Option(names = "--sizes", split = ",", defaultValue = "100k,1m", description = "echo: request sizes.")
    List<String> sizes;

    @Option(names = "--response", defaultValue = "echo",
        description = "echo, sweep: response length, or echo (as long as the request).")
    String response;

    @Option(names = "--clients", defaultValue = "4", description = "outstanding, mixed, open: clients.")
    int clients;

    @Option(names = "--outstanding", split = ",", defaultValue = "1,8,64", description = "outstanding: K values.")
    List<Integer> outstanding;

    @Option(names = "--bulk-size", defaultValue = "1m", description = "outstanding, mixed: bulk request size.")
    String bulkSize;

    @Option(names = "--small-size", defaultValue = "100", description = "mixed: the small RPCs' size.")
    String smallSize;

    @Option(names = "--workload", defaultValue = "w4", description = "open: the workload.")
    String workload;

    @Option(names = "--loads", split = ",", defaultValue = "0.5,0.8",
        description = "open: fractions of the highest load TCP sustains.")
    List<Double> loads;

    @Option(names = "--sweep-sizes", split = ",", defaultValue = "1k,10k,100k,1m", description = "sweep: sizes.")
    List<String> sweepSizes;

    @Option(names = "--verify", defaultValue = "sample", description = "none, sample or full.")
    String verify;

    @Option(names = "--subnet", defaultValue = "78", description = "veth: third octet of 198.18.x.0/24.")
    int subnet;

    @Option(names = "--udp-floor", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "echo: also measure the UDP driver's bare echo, the floor under Homa over udp:// " +
            "(default ${DEFAULT-VALUE}).")
    boolean udpFloor;

    @Option(names = "--verbose", description = "Print each trial's Homa counters.")
    boolean verbose;

    @Option(names = "--csv", description = "Write one row per trial and round here.")
    Path csv;

    @Option(names = "--markdown", description = "Write the tables here.")
    Path markdown;

    @Option(names = "--plot",
        description = "sweep: the goodput-by-size plot, one PNG per path: x.png gives x-loopback.png.")
    Path plot;

    private final Report report = new Report();

    @Override
    public Integer call()
    {
        PeerConfig.requireTcpForOpenLoop(scenarios, transports);
        report.line(String.format(Locale.ROOT, "homa-load run: %d rounds, %s, %.0f s measured; " +
            "homa options %s; %d cores", rounds, warmUp, duration, homaOptions,
            Runtime.getRuntime().availableProcessors()));
        for (final String path : paths)
        {
            try (Hosts hosts = Hosts.create(path.trim(), subnet))
            {
                for (final String scenario : scenarios)
                {
                    switch (scenario.trim())
                    {
                        case "echo" -> echo(hosts);
                        case "outstanding" -> outstanding(hosts);
                        case "mixed" -> mixed(hosts);
                        case "open" -> open(hosts);
                        case "sweep" -> sweep(hosts);
                        default -> throw new IllegalArgumentException("unknown scenario " + scenario);
                    }
                }
            }
        }
        report.write(markdown, csv);
        return 0;
    }

    private List<PeerConfig> peers(final Hosts hosts, final boolean withRaw)
    {
        final List<PeerConfig> list = new ArrayList<>();
        final Map<String, List<String>> variants = variants();
        for (final String name : transports)
        {
            final PeerConfig peer = PeerConfig.parse(name.trim(), homaOptions, variants);
            if ("raw".equals(peer.homaDriver()) && !hosts.isVeth())
            {
                continue;
            }
            list.add(peer);
        }
        if (withRaw && hosts.isVeth() && list.stream().noneMatch(p -> "raw".equals(p.homaDriver())))
        {
            list.add(PeerConfig.parse("homa-raw", homaOptions, Map.of()));
        }
        return list;
    }

    private Map<String, List<String>> variants()
    {
        final Map<String, List<String>> variants = new LinkedHashMap<>();
        for (final String variant : variantOptions)
        {
            final int equals = variant.indexOf('=');
            if (equals < 1 || variant.indexOf('+') < 1 || variant.indexOf('+') > equals)
            {
                throw new IllegalArgumentException("--variant must be BASE+LABEL=-Dprop=value: " + variant);
            }
            variants.computeIfAbsent(variant.substring(0, equals), k -> new ArrayList<>())
                .add(variant.substring(equals + 1));
        }
        return variants;
    }

    private LoadSpec spec(final String sizeSpec, final int k, final double rate, final long seed)
    {
        final LoadSpec spec = new LoadSpec();
        spec.peer = "homa";
        spec.server = "0.0.0.0:0";
        spec.homaThreading = "invoker";
        spec.sizes = sizeSpec;
        spec.response = "echo";
        spec.outstanding = k;
        spec.rate = rate;
        spec.seed = seed;
        spec.verify = verify;
        spec.connections = 1;
        spec.homaPort = 99;
        return spec;
    }

    private LoadSpec withResponse(final LoadSpec spec)
    {
        spec.response = response;
        return spec;
    }

    private Trial.Result trial(
        final String scenario, final Hosts hosts, final PeerConfig peer, final List<LoadSpec> specs, final int round,
        final String note)
    {
        final Trial.Result result = Trial.run(hosts, peer, specs, warmUp, duration);
        report.csvRow(scenario, hosts, result, round, specs.get(0), specs.size(), note);
        // The rows so far, after every trial: a long run that fails later keeps what it measured.
        report.write(null, csv);
        final long failedOutside = result.total().errorsOutsideWindow;
        if (verbose || result.faults() > 0 || failedOutside > 0 || result.metrics().stream().anyMatch(
            m -> m.contains("timeouts=") && !m.contains("timeouts=0 ")))
        {
            System.err.printf(Locale.ROOT,
                "%s %s round %d (%.0f s warm-up): faults %d, failed outside the window %d %s%n", scenario,
                peer.name(), round, result.warmupSeconds(), result.faults(), failedOutside, result.metrics());
        }
        return result;
    }

    // ---------------------------------------------------------------------------------------------------------
    // echo

    private void echo(final Hosts hosts)
    {
        final List<PeerConfig> peers = peers(hosts, true);
        final Map<String, List<Trial.Result>> byKey = new LinkedHashMap<>();
        final List<Double> ceilings = new ArrayList<>();
        final List<Double> frameCeilings = new ArrayList<>();
        final boolean floor = udpFloor && peers.stream().anyMatch(p -> "udp".equals(p.homaDriver()));
        final Map<String, List<Double>> floors = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++)
        {
            if (hosts.isVeth())
            {
                ceilings.add(RawCeiling.measure(hosts, warmUp.minSeconds(), duration, true));
                frameCeilings.add(RawCeiling.measure(hosts, warmUp.minSeconds(), duration, false));
            }
            for (final String size : sizes)
            {
                if (floor)
                {
                    final double gbps = UdpEchoFloor.measure(hosts, (int)MessageSizes.parseBytes(size),
                        warmUp.minSeconds(), duration);
                    floors.computeIfAbsent(size, k -> new ArrayList<>()).add(gbps);
                    if (verbose)
                    {
                        System.err.printf(Locale.ROOT, "echo udp floor %s round %d: %.2f Gb/s%n", size, round, gbps);
                    }
                }
                for (final PeerConfig peer : peers)
                {
                    byKey.computeIfAbsent(size + "/" + peer.name(), k -> new ArrayList<>())
                        .add(trial("echo", hosts, peer, List.of(withResponse(spec(size, 1, 0, round + 1))), round,
                            ""));
                }
            }
        }
        report.heading("echo on " + hosts.path + ": one client, one RPC at a time (median of " + rounds +
            " rounds; ratios paired by round)");
        report.tableHeader("size", "transport", "goodput Gb/s", "p50 us", "p99 us", "CPU s/GB", "vs nio",
            "vs netty", "faults");
        for (final String size : sizes)
        {
            for (final PeerConfig peer : peers)
            {
                final List<Trial.Result> results = byKey.get(size + "/" + peer.name());
                report.tableRow(size, peer.name(), Report.f(medianOf(results, Trial.Result::goodputGbps), 2),
                    Report.f(medianPercentile(results, 50), 0), Report.f(medianPercentile(results, 99), 0),
                    Report.f(medianOf(results, Trial.Result::cpuSecondsPerGb), 2),
                    ratio(results, byKey.get(size + "/nio")), ratio(results, byKey.get(size + "/netty")),
                    results.stream().mapToLong(Trial.Result::faults).sum());
            }
        }
        if (floor)
        {
            UdpEchoFloor.report(report, byKey, floors);
        }
        if (hosts.isVeth())
        {
            report.line(String.format(Locale.ROOT, "%nRaw driver's bare ceiling on veth (one way, full packets, no " +
                "protocol; median of %d): %.2f Gb/s with segmentation offload, %.2f Gb/s a frame per packet.",
                ceilings.size(), Report.median(ceilings), Report.median(frameCeilings)));
            for (final String size : sizes)
            {
                for (final PeerConfig peer : peers)
                {
                    if ("raw".equals(peer.homaDriver()) && peer.uriOptions().isEmpty())
                    {
                        final List<Trial.Result> raw = byKey.get(size + "/" + peer.name());
                        report.line(String.format(Locale.ROOT, "%s %s: %.0f%% of the ceiling with offload, %.0f%% " +
                            "of the frame-per-packet one (paired medians).", peer.name(), size,
                            100 * Report.pairedRatio(raw, ceilings), 100 * Report.pairedRatio(raw, frameCeilings)));
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // outstanding

    private void outstanding(final Hosts hosts)
    {
        final List<PeerConfig> peers = peers(hosts, false);
        final Map<String, List<Trial.Result>> byKey = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++)
        {
            for (final int k : outstanding)
            {
                for (final PeerConfig peer : peers)
                {
                    final List<LoadSpec> specs = new ArrayList<>();
                    for (int c = 0; c < clients; c++)
                    {
                        specs.add(spec(bulkSize, k, 0, 100L * round + c + 1));
                    }
                    byKey.computeIfAbsent(k + "/" + peer.name(), x -> new ArrayList<>())
                        .add(trial("outstanding", hosts, peer, specs, round, ""));
                }
            }
        }
        report.heading("outstanding on " + hosts.path + ": " + clients + " clients, K RPCs of " + bulkSize +
            " each outstanding (median of " + rounds + " rounds; ratios paired by round)");
        report.tableHeader("K", "transport", "aggregate goodput Gb/s", "p50 us", "p99 us", "CPU s/GB", "vs nio",
            "vs netty", "faults");
        for (final int k : outstanding)
        {
            for (final PeerConfig peer : peers)
            {
                final List<Trial.Result> results = byKey.get(k + "/" + peer.name());
                report.tableRow(k, peer.name(), Report.f(medianOf(results, Trial.Result::goodputGbps), 2),
                    Report.f(medianPercentile(results, 50), 0), Report.f(medianPercentile(results, 99), 0),
                    Report.f(medianOf(results, Trial.Result::cpuSecondsPerGb), 2),
                    ratio(results, byKey.get(k + "/nio")), ratio(results, byKey.get(k + "/netty")),
                    results.stream().mapToLong(Trial.Result::faults).sum());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // mixed

    private void mixed(final Hosts hosts)
    {
        final List<PeerConfig> peers = peers(hosts, false);
        final Map<String, List<Trial.Result>> byKey = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++)
        {
            for (final PeerConfig peer : peers)
            {
                final List<LoadSpec> specs = new ArrayList<>();
                specs.add(spec(smallSize, 1, 0, 1000L * round + 99));
                for (int c = 0; c < clients; c++)
                {
                    specs.add(spec(bulkSize, 1, 0, 1000L * round + c + 1));
                }
                byKey.computeIfAbsent(peer.name(), x -> new ArrayList<>())
                    .add(trial("mixed", hosts, peer, specs, round, "client 0 small"));
            }
        }
        report.heading("mixed on " + hosts.path + ": " + clients + " clients stream " + bulkSize + " RPCs, one " +
            "more sends " + smallSize + "-byte RPCs one at a time (median of " + rounds + " rounds)");
        report.tableHeader("transport", "small p50 us", "small p99 us", "small p99 vs nio", "small p99 vs netty",
            "bulk goodput Gb/s");
        for (final PeerConfig peer : peers)
        {
            final List<Trial.Result> results = byKey.get(peer.name());
            report.tableRow(peer.name(), Report.f(medianClientPercentile(results, 0, 50), 1),
                Report.f(medianClientPercentile(results, 0, 99), 1),
                smallRatio(results, byKey.get("nio")), smallRatio(results, byKey.get("netty")),
                Report.f(medianOf(results, Trial.Result::goodputGbps), 2));
        }
    }

    private static String smallRatio(final List<Trial.Result> results, final List<Trial.Result> tcp)
    {
        if (null == tcp)
        {
            return "-";
        }
        final List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < Math.min(results.size(), tcp.size()); r++)
        {
            ratios.add((double)results.get(r).latency(0).getValueAtPercentile(99) /
                tcp.get(r).latency(0).getValueAtPercentile(99));
        }
        return Report.f(Report.median(ratios), 2) + "x";
    }

    // ---------------------------------------------------------------------------------------------------------
    // open

    private void open(final Hosts hosts)
    {
        final List<PeerConfig> peers = peers(hosts, false);
        final MessageSizes workloadSizes = MessageSizes.parse(workload);
        // Unloaded latency by size, the best of any transport: the slowdown's denominator.
        final long[] lengths = new long[workloadSizes.bucketCount()];
        final long[] best = new long[lengths.length];
        for (int b = 0; b < lengths.length; b++)
        {
            lengths[b] = workloadSizes.bucketLimit(b);
            best[b] = Long.MAX_VALUE;
            for (final PeerConfig peer : peers)
            {
                final Trial.Result idle = Trial.run(hosts, peer, List.of(spec(Long.toString(lengths[b]), 1, 0, 7)),
                    WarmUp.fixed(Math.min(warmUp.minSeconds(), 2)), Math.min(duration, 2));
                best[b] = Math.min(best[b], idle.latency(0).getValueAtPercentile(50));
            }
        }
        final String baseline = LoadSpec.Baseline.format(lengths, best);
        // The highest load each peer sustains (closed loop, many outstanding); the offered loads are fractions of
        // the faster TCP peer's.
        double tcpRpcs = 0;
        final StringBuilder capacities = new StringBuilder();
        for (final PeerConfig peer : peers)
        {
            final List<LoadSpec> specs = new ArrayList<>();
            for (int c = 0; c < clients; c++)
            {
                specs.add(spec(workload, 8, 0, 500 + c));
            }
            final double rpcs = Trial.run(hosts, peer, specs, warmUp, duration).rpcsPerSecond();
            capacities.append(capacities.isEmpty() ? "" : ", ").append(peer.name()).append(' ')
                .append(Report.f(rpcs, 0));
            if (peer.isTcp())
            {
                tcpRpcs = Math.max(tcpRpcs, rpcs);
            }
        }
        report.heading(String.format(Locale.ROOT, "open on %s: %s, %d clients, Poisson arrivals; closed-loop " +
            "capacity (RPC/s, 8 outstanding per client): %s; the highest load TCP sustains: %.0f RPC/s (%.2f Gb/s " +
            "of requests and echoes); unloaded latency by bucket: %s", hosts.path, workload, clients, capacities,
            tcpRpcs, tcpRpcs * 2 * workloadSizes.meanLength() * 8 / 1e9, baseline));
        for (final double load : loads)
        {
            final Map<String, List<Trial.Result>> byPeer = new LinkedHashMap<>();
            for (int round = 0; round < rounds; round++)
            {
                for (final PeerConfig peer : peers)
                {
                    final List<LoadSpec> specs = new ArrayList<>();
                    for (int c = 0; c < clients; c++)
                    {
                        final LoadSpec spec = spec(workload, 64, load * tcpRpcs / clients, 1000L * round + c + 1);
                        spec.baseline = baseline;
                        specs.add(spec);
                    }
                    byPeer.computeIfAbsent(peer.name(), x -> new ArrayList<>())
                        .add(trial("open", hosts, peer, specs, round, "load " + load));
                }
            }
            report.line(String.format(Locale.ROOT, "%nLoad %.0f%% (%.0f RPC/s offered): slowdown p50 / p99 by " +
                "size bucket (median of %d rounds)%n", 100 * load, load * tcpRpcs, rounds));
            final List<String> header = new ArrayList<>(List.of("bucket (bytes <=)"));
            for (final PeerConfig peer : peers)
            {
                header.add(peer.name());
            }
            report.tableHeader(header.toArray(new String[0]));
            for (int b = 0; b < workloadSizes.bucketCount(); b++)
            {
                final List<Object> row = new ArrayList<>(List.of(workloadSizes.bucketLimit(b)));
                for (final PeerConfig peer : peers)
                {
                    final List<Double> p50 = new ArrayList<>();
                    final List<Double> p99 = new ArrayList<>();
                    for (final Trial.Result result : byPeer.get(peer.name()))
                    {
                        final Histogram slowdown = result.total().slowdown[b];
                        if (slowdown.getTotalCount() > 0)
                        {
                            p50.add(slowdown.getValueAtPercentile(50) / 1000.0);
                            p99.add(slowdown.getValueAtPercentile(99) / 1000.0);
                        }
                    }
                    // No sample: nothing due in the window was sent before its end (the backlog only grew).
                    row.add(p50.isEmpty() ? "-" :
                        Report.f(Report.median(p50), 1) + " / " + Report.f(Report.median(p99), 1));
                }
                report.tableRow(row.toArray());
            }
            final List<Object> delivered = new ArrayList<>(List.of("delivered RPC/s"));
            final List<Object> issued = new ArrayList<>(List.of("due in the window and sent (%)"));
            // Part of every latency above: the time a due request waited for one of its client's slots.
            final List<Object> slotWait = new ArrayList<>(List.of("wait for a slot p50 / p99 (ms)"));
            for (final PeerConfig peer : peers)
            {
                delivered.add(Report.f(medianOf(byPeer.get(peer.name()), Trial.Result::rpcsPerSecond), 0));
                issued.add(Report.f(medianOf(byPeer.get(peer.name()),
                    r -> 100.0 * r.total().started / Math.max(1, r.total().due)), 1));
                slotWait.add(Report.f(medianOf(byPeer.get(peer.name()),
                    r -> r.total().slotWait.getValueAtPercentile(50) / 1e6), 2) + " / " +
                    Report.f(medianOf(byPeer.get(peer.name()),
                    r -> r.total().slotWait.getValueAtPercentile(99) / 1e6), 2));
            }
            report.tableRow(delivered.toArray());
            report.tableRow(issued.toArray());
            report.tableRow(slotWait.toArray());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // sweep

    private void sweep(final Hosts hosts)
    {
        final List<PeerConfig> peers = peers(hosts, false);
        final Map<String, List<Trial.Result>> byKey = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++)
        {
            for (final String size : sweepSizes)
            {
                for (final PeerConfig peer : peers)
                {
                    byKey.computeIfAbsent(size + "/" + peer.name(), x -> new ArrayList<>())
                        .add(trial("sweep", hosts, peer, List.of(spec(size, 1, 0, round + 1)), round, ""));
                }
            }
        }
        report.heading("sweep on " + hosts.path + ": goodput by size, one RPC at a time (median of " + rounds +
            " rounds)");
        final List<String> header = new ArrayList<>(List.of("size"));
        peers.forEach(p -> header.add(p.name() + " Gb/s"));
        report.tableHeader(header.toArray(new String[0]));
        final Map<String, double[]> series = new LinkedHashMap<>();
        final double[] x = new double[sweepSizes.size()];
        for (int i = 0; i < sweepSizes.size(); i++)
        {
            final String size = sweepSizes.get(i);
            x[i] = MessageSizes.parseBytes(size);
            final List<Object> row = new ArrayList<>(List.of(size));
            for (final PeerConfig peer : peers)
            {
                final double goodput = medianOf(byKey.get(size + "/" + peer.name()), Trial.Result::goodputGbps);
                series.computeIfAbsent(peer.name(), n -> new double[sweepSizes.size()])[i] = goodput;
                row.add(Report.f(goodput, 2));
            }
            report.tableRow(row.toArray());
        }
        if (null != plot)
        {
            final String name = plot.getFileName().toString().replace(".png", "");
            final Path file = plot.resolveSibling(name + "-" + hosts.path + ".png");
            Charts.goodputBySize(file, "Echo goodput by message size, one RPC at a time (" + hosts.path + ")", x,
                series);
            report.line("Plot: " + file);
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private interface Figure
    {
        double of(Trial.Result result);
    }

    private static double medianOf(final List<Trial.Result> results, final Figure figure)
    {
        final List<Double> values = new ArrayList<>();
        results.forEach(r -> values.add(figure.of(r)));
        return Report.median(values);
    }

    private static double medianPercentile(final List<Trial.Result> results, final double percentile)
    {
        return medianOf(results, r -> Report.us(r.total().allLatency().getValueAtPercentile(percentile)));
    }

    private static double medianClientPercentile(
        final List<Trial.Result> results, final int client, final double percentile)
    {
        return medianOf(results, r -> Report.us(r.latency(client).getValueAtPercentile(percentile)));
    }

    private static String ratio(final List<Trial.Result> results, final List<Trial.Result> base)
    {
        if (null == base || base == results)
        {
            return "-";
        }
        return Report.f(Report.pairedRatio(results, base.stream().map(Trial.Result::goodputGbps).toList()), 2) + "x";
    }
}
