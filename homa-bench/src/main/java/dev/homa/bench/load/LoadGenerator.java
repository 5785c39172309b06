package dev.homa.bench.load;

import dev.homa.bench.cli.OneLineErrors;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.metrics.MetricsSnapshot;
import dev.homa.core.wire.PacketType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code homa-load}: request/response load over Homa and over TCP (Java NIO, Netty) with one process layout and
 * one framing, so that the transports are compared and nothing else. {@code run} is the command to use: it builds
 * the hosts (loopback, or two network namespaces joined by veth), starts a server JVM and N client JVMs per
 * transport, drives them through warm-up and measurement, and reports goodput, latency percentiles, slowdowns and
 * CPU time, paired by round. {@code server} and {@code client} are the processes it starts.
 */
@Command(name = "homa-load", mixinStandardHelpOptions = true,
    subcommands = { LoadRunner.class, LoadGenerator.Server.class, LoadGenerator.Client.class,
        RawCeiling.Sink.class, RawCeiling.Blaster.class, UdpEchoFloor.Server.class, UdpEchoFloor.Client.class,
        CommandLine.HelpCommand.class },
    description = "Request/response load over Homa, Java NIO TCP and Netty TCP, compared in one run.")
public final class LoadGenerator implements Runnable
{
    /** Line a server prints when it accepts requests; its port follows. */
    static final String READY = "READY";
    /** Line a client prints with its figures. */
    static final String RESULT = "RESULT";
    /** Line a Homa process prints with a few of its counters on exit. */
    static final String METRICS = "METRICS";

    /**
     * Run {@code homa-load} and exit with its status.
     *
     * @param args a subcommand and its options; {@code --help} lists them.
     */
    public static void main(final String[] args)
    {
        System.exit(new CommandLine(new LoadGenerator())
            .setExecutionExceptionHandler(OneLineErrors.handler("homa-load")).execute(args));
    }

    @Override
    public void run()
    {
        CommandLine.usage(this, System.out);
    }

    /**
     * A server process: prints {@value #READY} and its port, serves until its standard input closes.
     */
    @Command(name = "server", description = "Serve echo RPCs until standard input closes (started by 'run').")
    static final class Server implements Callable<Integer>
    {
        @Option(names = "--peer", required = true, description = "homa, nio or netty.")
        String peer;

        @Option(names = "--bind", defaultValue = "127.0.0.1:0", description = "TCP: address and port to listen on.")
        String bind;

        @Option(names = "--homa-uri", description = "Homa: the driver URI (udp://IP:PORT, raw://IFNAME).")
        String homaUri;

        @Option(names = "--homa-port", defaultValue = "99", description = "Homa: the server socket's port.")
        int homaPort;

        @Option(names = "--homa-threading", defaultValue = "invoker", description = "Homa: invoker or dedicated.")
        String homaThreading;

        @Option(names = "--max-message", defaultValue = "1000000", description = "Largest request or response.")
        int maxMessage;

        @Override
        public Integer call() throws Exception
        {
            final AtomicBoolean stop = new AtomicBoolean();
            final PrintStream out = System.out;
            switch (peer)
            {
                case "homa" ->
                {
                    try (HomaServer server = new HomaServer(homaUri, homaPort, maxMessage,
                        "dedicated".equalsIgnoreCase(homaThreading)))
                    {
                        ready(out, server.driverPort(), stop);
                        server.run(stop::get);
                        out.println(METRICS + " " + summary(server.metrics()));
                    }
                }
                case "nio" ->
                {
                    try (NioServer server = new NioServer(address(bind), maxMessage))
                    {
                        ready(out, server.port(), stop);
                        server.run(stop::get);
                    }
                }
                case "netty" ->
                {
                    try (NettyServer server = new NettyServer(address(bind), maxMessage))
                    {
                        ready(out, server.port(), stop);
                        awaitEndOfInput(System.in);
                    }
                }
                default -> throw new CommandLine.ParameterException(new CommandLine(this), "unknown peer " + peer);
            }
            out.flush();
            return 0;
        }

        private static void ready(final PrintStream out, final int port, final AtomicBoolean stop)
        {
            out.println(READY + " " + port);
            out.flush();
            final Thread watcher = new Thread(() ->
            {
                awaitEndOfInput(System.in);
                stop.set(true);
            }, "stdin-watcher");
            watcher.setDaemon(true);
            watcher.start();
        }
    }

    /**
     * A client process: prints {@value #READY}, then follows {@link ClientControl}'s commands and prints
     * {@value #RESULT} with its figures.
     */
    @Command(name = "client", description = "Send RPCs as told on standard input (started by 'run').")
    static final class Client implements Callable<Integer>
    {
        @Mixin
        LoadSpec spec;

        @Override
        public Integer call() throws Exception
        {
            final PrintStream out = System.out;
            final LoadDriver driver = new LoadDriver(spec);
            final ClientControl control = new ClientControl();
            switch (spec.peer)
            {
                case "homa" ->
                {
                    try (HomaClient client = new HomaClient(spec, driver))
                    {
                        driver.sender(client);
                        out.println(READY);
                        out.flush();
                        control.listen(System.in);
                        client.run(driver, control, out);
                        out.println(METRICS + " " + summary(client.transport().metrics()));
                    }
                }
                case "nio" ->
                {
                    try (NioClient client = new NioClient(spec, driver))
                    {
                        driver.sender(client);
                        out.println(READY);
                        out.flush();
                        control.listen(System.in);
                        client.run(driver, control, out);
                    }
                }
                case "netty" ->
                {
                    final NettyClient client = new NettyClient(spec, driver, control);
                    out.println(READY);
                    out.flush();
                    control.listen(System.in);
                    client.run(out);
                }
                default -> throw new CommandLine.ParameterException(new CommandLine(this),
                    "unknown peer " + spec.peer);
            }
            out.flush();
            return 0;
        }
    }

    static InetSocketAddress address(final String hostPort)
    {
        final int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    static void awaitEndOfInput(final InputStream input)
    {
        try
        {
            while (input.read() >= 0)
            {
                // Servers take no commands: only the end of input matters.
            }
        }
        catch (final IOException ignore)
        {
            // Counts as the end.
        }
    }

    /**
     * @param metrics a transport's counters.
     * @return the few that say whether a run was clean: retransmissions, timeouts, drops.
     */
    static String summary(final HomaMetrics metrics)
    {
        final MetricsSnapshot s = metrics.snapshot();
        long drops = 0;
        final StringBuilder which = new StringBuilder();
        for (int i = 0; i < s.length(); i++)
        {
            // The engine's drops and the driver's, the kernel's socket-buffer drops among them; how often the UDP
            // driver read a payload straight to its place, and how often a guess missed; and its packets, GSO sends
            // and GRO reads, whose ratios say how many packets a system call moved.
            final String name = s.name(i);
            final boolean drop = name.startsWith("drop") || name.startsWith("driver.") && name.contains("drop");
            final boolean shown = name.startsWith("driver.rx_place") || name.startsWith("driver.packets_") ||
                name.startsWith("driver.gso_") || name.startsWith("driver.gro_");
            if ((drop || shown) && 0 != s.get(i))
            {
                drops += drop ? s.get(i) : 0;
                which.append(' ').append(name).append('=').append(s.get(i));
            }
        }
        return "resends=" + s.get(HomaMetrics.RESENDS_REQUESTED) +
            " retransmitted=" + s.get(HomaMetrics.RETRANSMITTED_PACKETS) +
            " timeouts=" + (s.get(HomaMetrics.CLIENT_TIMEOUTS) + s.get(HomaMetrics.SERVER_TIMEOUTS)) +
            " drops=" + drops +
            " pacerThrottled=" + s.get(HomaMetrics.PACER_THROTTLED) +
            " dataPackets=" + s.get(HomaMetrics.PACKETS_SENT + PacketType.DATA - PacketType.MIN_TYPE) +
            " grants=" + s.get(HomaMetrics.PACKETS_SENT + PacketType.GRANT - PacketType.MIN_TYPE) +
            " budgetWidened=" + s.get(HomaMetrics.INCOMING_BUDGET_WIDENED) + which;
    }
}
