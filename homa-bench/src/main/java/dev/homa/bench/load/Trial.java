package dev.homa.bench.load;

import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.List;

/**
 * One measurement: a server process and its clients for one transport, through warm-up, a measurement window and
 * the drain after it; the clients' figures and every process's CPU time over the window.
 */
final class Trial
{
    private static final long START_NS = 60_000_000_000L;
    private static final long RESULT_NS = PollingClient.DRAIN_NS + 60_000_000_000L;
    /**
     * Servers listen below Linux's ephemeral range (32768-60999 by default): a port in it may be held by a client
     * connection of an earlier trial, still open or in TIME_WAIT, and the server's bind would fail.
     */
    private static int nextPort = 20_100;

    /**
     * What a trial measured.
     *
     * @param peer          the transport.
     * @param clients       each client's figures, in the order of the specs.
     * @param cpuSeconds    CPU time of the server and all clients during the window.
     * @param windowSeconds length of the window.
     * @param metrics       Homa's counter summaries (server first), empty for TCP.
     * @param warmupSeconds how long the trial warmed up.
     */
    record Result(PeerConfig peer, List<LoadStats> clients, double cpuSeconds, double windowSeconds,
        List<String> metrics, double warmupSeconds)
    {
        LoadStats total()
        {
            final LoadStats total = new LoadStats(clients.get(0).latency.length);
            for (final LoadStats client : clients)
            {
                total.add(client);
            }
            return total;
        }

        /**
         * @return request and response bytes per second of all clients, in Gb/s.
         */
        double goodputGbps()
        {
            return total().bytes * 8.0 / windowSeconds / 1e9;
        }

        /**
         * @return RPCs completed per second, all clients.
         */
        double rpcsPerSecond()
        {
            return total().completed / windowSeconds;
        }

        /**
         * @return CPU seconds of both hosts per GB of request and response bytes.
         */
        double cpuSecondsPerGb()
        {
            final long bytes = total().bytes;
            return 0 == bytes ? Double.NaN : cpuSeconds / (bytes / 1e9);
        }

        /**
         * @param client index.
         * @return that client's latencies, all buckets.
         */
        Histogram latency(final int client)
        {
            return clients.get(client).allLatency();
        }

        long faults()
        {
            final LoadStats total = total();
            return total.errors + total.verifyFailures;
        }
    }

    private Trial()
    {
    }

    /**
     * @param hosts           where the processes run.
     * @param peer            the transport.
     * @param specs           one spec per client (aimed at the server here).
     * @param warmUp          the warm-up before the window.
     * @param durationSeconds the window.
     * @return the figures.
     */
    static Result run(
        final Hosts hosts,
        final PeerConfig peer,
        final List<LoadSpec> specs,
        final WarmUp warmUp,
        final double durationSeconds)
    {
        final int port = nextPort++;
        final List<ChildProcess> clients = new ArrayList<>();
        final List<String> metrics = new ArrayList<>();
        try (ChildProcess server = ChildProcess.start(peer.name() + "-server", hosts.serverNamespace,
            peer.jvmOptions(), peer.serverArguments(hosts, port)))
        {
            final String ready = server.awaitLine(LoadGenerator.READY, START_NS);
            final int serverPort = Integer.parseInt(ready.substring(LoadGenerator.READY.length()).trim());
            try
            {
                for (int i = 0; i < specs.size(); i++)
                {
                    final LoadSpec spec = specs.get(i).copy();
                    peer.aim(spec, hosts, serverPort);
                    final List<String> args = new ArrayList<>(List.of("client"));
                    args.addAll(spec.toArguments());
                    clients.add(ChildProcess.start(peer.name() + "-client" + i, hosts.clientNamespace,
                        peer.jvmOptions(), args));
                }
                for (final ChildProcess client : clients)
                {
                    client.awaitLine(LoadGenerator.READY, START_NS);
                }
                clients.forEach(c -> c.send(ClientControl.GO));
                final double warmupSeconds = warmUp.await(() -> compilerSeconds(server, clients), Trial::sleep);
                final double cpuBefore = cpu(server, clients);
                clients.forEach(c -> c.send(ClientControl.MEASURE));
                final long startNs = System.nanoTime();
                sleep(durationSeconds);
                clients.forEach(c -> c.send(ClientControl.STOP));
                final double windowSeconds = (System.nanoTime() - startNs) / 1e9;
                final double cpuSeconds = cpu(server, clients) - cpuBefore;
                final List<LoadStats> stats = new ArrayList<>();
                for (final ChildProcess client : clients)
                {
                    final String line = client.awaitLine(LoadGenerator.RESULT, RESULT_NS);
                    stats.add(LoadStats.decode(line.substring(LoadGenerator.RESULT.length())));
                }
                if (peer.isHoma())
                {
                    for (final ChildProcess client : clients)
                    {
                        metrics.add(client.awaitLine(LoadGenerator.METRICS, START_NS));
                    }
                }
                return new Result(peer, stats, cpuSeconds, windowSeconds, metrics, warmupSeconds);
            }
            finally
            {
                clients.forEach(ChildProcess::close);
                server.close();
                if (peer.isHoma())
                {
                    try
                    {
                        metrics.add(0, server.awaitLine(LoadGenerator.METRICS, 1_000_000_000L));
                    }
                    catch (final IllegalStateException ignore)
                    {
                        // Diagnostics only.
                    }
                }
            }
        }
    }

    private static double cpu(final ChildProcess server, final List<ChildProcess> clients)
    {
        double total = server.cpuSeconds();
        for (final ChildProcess client : clients)
        {
            total += client.cpuSeconds();
        }
        return total;
    }

    private static double[] compilerSeconds(final ChildProcess server, final List<ChildProcess> clients)
    {
        final double[] seconds = new double[1 + clients.size()];
        seconds[0] = server.compilerSeconds();
        for (int i = 0; i < clients.size(); i++)
        {
            seconds[1 + i] = clients.get(i).compilerSeconds();
        }
        return seconds;
    }

    /**
     * The runner's wait through a trial's phases.
     *
     * @param seconds how long.
     */
    static void sleep(final double seconds)
    {
        try
        {
            Thread.sleep((long)(seconds * 1000));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", ex);
        }
    }
}
