package dev.homa.bench.rtt;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.homa.bench.driver.VethNamespaces;
import dev.homa.nic.linux.CurrentThread;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Small-RPC round-trip times over the real drivers next to their floors, in one run, on two network namespaces
 * joined by a veth pair. For each path, in order: start the server as its own JVM in namespace
 * B ({@code ip netns exec}), run the client on a thread of this JVM that has entered namespace A, warm up, take
 * samples into an HdrHistogram, stop the server. The whole list runs {@code --rounds} times and each path's rounds
 * are merged, so that a burst of unrelated work on a shared machine lands on every path alike. Then print one table
 * with p50/p90/p99/p99.9/max and each driver path's ratio to its floor (raw paths to AF_PACKET, UDP paths to the
 * kernel UDP socket).
 * <p>
 * Method, after Aeron's {@code EmbeddedPingPong}: closed loop (one request in flight, the next sent when the reply
 * arrives), timestamp and sequence in the payload, both sides busy-spin when idle (no parking, so no wake-up latency
 * is measured; it also means each side keeps a core busy). Closed loop is right for RTT but suffers coordinated
 * omission: a stall delays one sample instead of every request that would have been sent during it, so high
 * percentiles under load are understated; this benchmark measures unloaded RTT only. Round trips that time out are
 * counted, not recorded.
 * <p>
 * Bounded: every path stops after its share of {@code --samples} or its {@code --max-seconds} budget per round (a
 * third of it at most for warm-up), the server stops when its standard input closes or at its own deadline, and the
 * namespaces are deleted on every exit path (finally block and shutdown hook). Needs root.
 */
@Command(name = "driver-rtt", mixinStandardHelpOptions = true,
    description = "Small-RPC RTT over raw/UDP drivers and Homa next to AF_PACKET and kernel UDP floors, on veth.")
public final class DriverRttBenchmark implements java.util.concurrent.Callable<Integer>
{
    private static final long SERVER_START_SECONDS = 60;

    @Option(names = "--paths", split = ",",
        defaultValue = "af-packet,af-packet-recv,kernel-udp,raw-echo,udp-echo,udp-echo-connected,homa-raw,homa-udp," +
            "homa-udp-connected",
        description = "Paths in run order (default ${DEFAULT-VALUE}).")
    List<String> paths;

    @Option(names = "--size", defaultValue = "100", description = "Payload bytes each way (default ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--warmup", defaultValue = "20000", description = "Warm-up round trips per path " +
        "(default ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--samples", defaultValue = "100000", description = "Measured round trips per path " +
        "(default ${DEFAULT-VALUE}).")
    long samples;

    @Option(names = "--max-seconds", defaultValue = "15", description = "Time budget per path and round, warm-up " +
        "included (default ${DEFAULT-VALUE}).")
    long maxSeconds;

    @Option(names = "--rounds", defaultValue = "3", description = "Run the list of paths this many times, each " +
        "round taking its share of --samples, and merge: a burst of other work on the machine then hits every path " +
        "alike instead of one (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--timeout-ms", defaultValue = "1000", description = "Give up on one round trip after this " +
        "(default ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--subnet", defaultValue = "77", description = "Third octet of 198.18.x.0/24 " +
        "(default ${DEFAULT-VALUE}).")
    int subnet;

    @Option(names = "--client-cpu", defaultValue = "-1", description = "Pin the client thread to this CPU " +
        "(default: not pinned).")
    int clientCpu;

    @Option(names = "--server-cpus", description = "Run the server JVM under 'taskset -c LIST' (default: not pinned).")
    String serverCpus;

    @Option(names = "--server-jvm-option", description = "Extra option for the server JVM (repeatable).")
    List<String> serverJvmOptions = new ArrayList<>();

    @Option(names = "--output", description = "Also write the report (Markdown) to this file.")
    Path output;

    /**
     * Run the benchmark and exit with its status.
     *
     * @param args see {@code --help}.
     */
    public static void main(final String[] args)
    {
        System.exit(new CommandLine(new DriverRttBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception
    {
        if (rounds < 1 || samples < 1 || warmup < 0 || maxSeconds < 1 || size < RttPayload.MIN_PAYLOAD)
        {
            throw new CommandLine.ParameterException(new CommandLine(this), "need --rounds >= 1, --samples >= 1, " +
                "--warmup >= 0, --max-seconds >= 1 and --size >= " + RttPayload.MIN_PAYLOAD);
        }
        final List<RttPath> order = new ArrayList<>();
        for (final String id : paths)
        {
            order.add(RttPath.of(id.trim()));
        }
        final String reason = VethNamespaces.skipReasonIfUnavailable();
        if (null != reason)
        {
            System.err.println("driver-rtt cannot run here: " + reason);
            return 2;
        }

        final List<RttResult> results = new ArrayList<>();
        final List<List<RttResult>> byRound = new ArrayList<>();
        final String header = environment();
        System.out.println(header);
        try (VethNamespaces hosts = VethNamespaces.create("hbrtt", subnet))
        {
            final RttSetup setup = new RttSetup(VethNamespaces.IF_A, VethNamespaces.IF_B, hosts.ipA(), hosts.ipB(),
                hosts.macA(), hosts.macB(), 40_001, 40_002, size);
            final ExecutorService clientThread =
                Executors.newSingleThreadExecutor(VethNamespaces.threadsIn(hosts.nsA()));
            try
            {
                final RttResult[] merged = new RttResult[order.size()];
                final long roundSamples = (samples + rounds - 1) / rounds;
                for (int round = 1; round <= rounds; round++)
                {
                    System.out.println("-- round " + round + " of " + rounds);
                    final List<RttResult> thisRound = new ArrayList<>();
                    for (int i = 0; i < order.size(); i++)
                    {
                        final RttResult result = runPath(hosts, clientThread, order.get(i), setup, roundSamples);
                        System.out.println(summary(result));
                        merged[i] = null == merged[i] ? result : merged[i].merge(result);
                        thisRound.add(result);
                    }
                    byRound.add(thisRound);
                }
                results.addAll(List.of(merged));
            }
            finally
            {
                clientThread.shutdownNow();
            }
        }

        final String report = header + "\n" + RttTable.format(results, byRound);
        System.out.println();
        System.out.println(report);
        if (null != output)
        {
            Files.writeString(output, report, StandardCharsets.UTF_8);
        }
        return 0;
    }

    private RttResult runPath(
        final VethNamespaces hosts, final ExecutorService clientThread, final RttPath path, final RttSetup setup,
        final long sampleCount)
        throws InterruptedException
    {
        System.out.println("== " + path.id() + ": " + path.description());
        final ServerProcess server = ServerProcess.start(hosts, path, setup, maxSeconds + SERVER_START_SECONDS,
            serverJvmOptions, serverCpus);
        RttResult result;
        try
        {
            final String ready = server.awaitReady(SERVER_START_SECONDS);
            if (!RttEchoServer.READY.equals(ready))
            {
                return RttResult.skipped(path, "server did not start: " + ready);
            }
            final Future<RttResult> client = clientThread.submit(() ->
            {
                if (clientCpu >= 0)
                {
                    CurrentThread.pinTo(clientCpu);
                }
                return measure(path, setup, sampleCount);
            });
            try
            {
                result = client.get(maxSeconds + 60, TimeUnit.SECONDS);
            }
            catch (final ExecutionException ex)
            {
                result = RttResult.skipped(path, "client failed: " + ex.getCause());
            }
            catch (final TimeoutException ex)
            {
                client.cancel(true);
                result = RttResult.skipped(path, "client did not finish within its budget");
            }
        }
        finally
        {
            server.stop();
        }
        return result.withAnswered(server.answered());
    }

    private RttResult measure(final RttPath path, final RttSetup setup, final long sampleCount)
    {
        final long timeoutNs = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        final long budgetNs = TimeUnit.SECONDS.toNanos(maxSeconds);
        final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        try (RttClient client = RttEndpoints.client(path, setup))
        {
            final long start = System.nanoTime();
            final long warmupDeadline = start + budgetNs / 3;
            long sequence = 0;
            long warmups = 0;
            long warmupTimeouts = 0;
            while (warmups < warmup && System.nanoTime() - warmupDeadline < 0)
            {
                if (client.roundTrip(++sequence, timeoutNs) < 0)
                {
                    warmupTimeouts++;
                }
                warmups++;
            }
            final long deadline = start + budgetNs;
            final long measureStart = System.nanoTime();
            long timeouts = 0;
            long taken = 0;
            while (taken < sampleCount && System.nanoTime() - deadline < 0)
            {
                final long rttNs = client.roundTrip(++sequence, timeoutNs);
                taken++;
                if (rttNs < 0)
                {
                    timeouts++;
                }
                else
                {
                    histogram.recordValue(Math.min(rttNs, histogram.getHighestTrackableValue()));
                }
            }
            final long elapsedNs = System.nanoTime() - measureStart;
            String note = null;
            if (taken < sampleCount || warmups < warmup)
            {
                note = "cut short by the " + maxSeconds + " s budget: " + warmups + "/" + warmup + " warm-up, " +
                    taken + "/" + sampleCount + " samples";
            }
            if (warmupTimeouts > 0)
            {
                note = (null == note ? "" : note + "; ") + warmupTimeouts + " warm-up round trips timed out";
            }
            return new RttResult(path, histogram, timeouts, warmups, elapsedNs, note, -1);
        }
        catch (final UnsupportedOperationException ex)
        {
            return RttResult.skipped(path, ex.getMessage());
        }
    }

    private static String summary(final RttResult result)
    {
        if (!result.hasSamples())
        {
            return "   no samples: " + result.note();
        }
        return String.format(java.util.Locale.ROOT,
            "   %d samples in %.1f s, %d timeouts: p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us%s",
            result.histogram().getTotalCount(), result.elapsedNs() / 1e9, result.timeouts(), result.micros(50),
            result.micros(99), result.micros(99.9), result.histogram().getMaxValue() / 1000.0,
            null == result.note() ? "" : " (" + result.note() + ")");
    }

    private String environment()
    {
        final StringBuilder text = new StringBuilder();
        text.append("driver-rtt ").append(Instant.now()).append('\n');
        text.append("kernel ").append(read("/proc/sys/kernel/osrelease")).append(", ")
            .append(Runtime.getRuntime().availableProcessors()).append(" CPUs, load average ")
            .append(read("/proc/loadavg")).append('\n');
        text.append("java ").append(System.getProperty("java.vm.name")).append(' ')
            .append(System.getProperty("java.runtime.version")).append('\n');
        text.append("payload ").append(size).append(" B each way (frames: 38 B Ethernet+802.1Q+IPv4 header + 56 B " +
            "Homa header + payload; UDP: 56 B + payload), warm-up ").append(warmup)
            .append(" per path and round, samples ").append(samples).append(" in ").append(rounds)
            .append(" rounds, budget ").append(maxSeconds)
            .append(" s per path and round, timeout ").append(timeoutMs)
            .append(" ms");
        if (clientCpu >= 0 || null != serverCpus)
        {
            text.append(", client thread on CPU ").append(clientCpu < 0 ? "any" : Integer.toString(clientCpu))
                .append(", server JVM on CPUs ").append(null == serverCpus ? "any" : serverCpus);
        }
        text.append('\n');
        return text.toString();
    }

    private static String read(final String file)
    {
        try
        {
            return Files.readString(Path.of(file)).trim();
        }
        catch (final IOException ex)
        {
            return "?";
        }
    }

    /**
     * A server JVM in namespace B, its output relayed with a prefix; stopped by closing its standard input.
     */
    private static final class ServerProcess
    {
        private final Process process;
        private final CompletableFuture<String> ready = new CompletableFuture<>();
        private final CompletableFuture<Long> answered = new CompletableFuture<>();
        private Thread relay;

        private ServerProcess(final Process process, final String tag)
        {
            this.process = process;
            relay = new Thread(() -> relay(tag), "relay-" + tag);
            relay.setDaemon(true);
            relay.start();
        }

        static ServerProcess start(
            final VethNamespaces hosts, final RttPath path, final RttSetup setup, final long maxSeconds,
            final List<String> jvmOptions, final String cpus)
        {
            final String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            final List<String> command = new ArrayList<>();
            if (null != cpus)
            {
                command.addAll(List.of("taskset", "-c", cpus));
            }
            command.addAll(List.of(java,
                "-Xms256m", "-Xmx256m",
                "--enable-native-access=ALL-UNNAMED",
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
            command.addAll(jvmOptions);
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), RttEchoServer.class.getName(),
                "--path", path.id(), "--max-seconds", Long.toString(maxSeconds)));
            command.addAll(setup.toArguments());
            return new ServerProcess(hosts.start(hosts.nsB(), command), path.id());
        }

        String awaitReady(final long seconds) throws InterruptedException
        {
            try
            {
                return ready.get(seconds, TimeUnit.SECONDS);
            }
            catch (final ExecutionException ex)
            {
                return String.valueOf(ex.getCause());
            }
            catch (final TimeoutException ex)
            {
                return "no " + RttEchoServer.READY + " within " + seconds + " s";
            }
        }

        void stop() throws InterruptedException
        {
            try
            {
                process.getOutputStream().close();
            }
            catch (final IOException ignore)
            {
                // Already exited: nothing to signal.
            }
            if (!process.waitFor(15, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
            relay.join(2_000);
        }

        long answered()
        {
            return answered.getNow(-1L);
        }

        private void relay(final String tag)
        {
            try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while (null != (line = reader.readLine()))
                {
                    if (!ready.isDone() && (RttEchoServer.READY.equals(line) || line.startsWith("FAILED")))
                    {
                        ready.complete(line);
                    }
                    if (line.startsWith(RttEchoServer.DONE_PREFIX))
                    {
                        answered.complete(Long.parseLong(line.substring(RttEchoServer.DONE_PREFIX.length()).trim()));
                    }
                    System.out.println("   [server " + tag + "] " + line);
                }
            }
            catch (final IOException ignore)
            {
                // The process is gone; the exit is handled by stop().
            }
            ready.complete("server exited with status " + process.onExit().join().exitValue() + " before " +
                RttEchoServer.READY);
        }
    }
}
