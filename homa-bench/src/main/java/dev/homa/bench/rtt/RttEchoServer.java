package dev.homa.bench.rtt;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The server side of {@link DriverRttBenchmark}, run as its own JVM inside the server's namespace
 * ({@code ip netns exec NS java ... dev.homa.bench.rtt.RttEchoServer --path ...}). It opens the path's server, prints
 * {@value #READY} on standard output, answers requests in a busy-spin loop, and stops when its standard input
 * closes (the benchmark's signal) or after {@code --max-seconds}, whichever comes first; then it prints
 * {@code DONE answered=N}.
 */
@Command(name = "rtt-echo-server", mixinStandardHelpOptions = true,
    description = "Server side of the driver RTT benchmark (started by DriverRttBenchmark).")
public final class RttEchoServer implements Callable<Integer>
{
    /** Line printed once the server can answer. */
    public static final String READY = "READY";
    /** Start of the last line: the number of requests answered follows. */
    public static final String DONE_PREFIX = "DONE answered=";

    @Option(names = "--path", required = true,
        description = "af-packet, af-packet-recv, kernel-udp, raw-echo, udp-echo, homa-raw, homa-udp")
    String path;

    @Option(names = "--client-if", required = true)
    String clientInterface;

    @Option(names = "--server-if", required = true)
    String serverInterface;

    @Option(names = "--client-ip", required = true)
    String clientIp;

    @Option(names = "--server-ip", required = true)
    String serverIp;

    @Option(names = "--client-mac", required = true)
    String clientMac;

    @Option(names = "--server-mac", required = true)
    String serverMac;

    @Option(names = "--client-port", required = true)
    int clientPort;

    @Option(names = "--server-port", required = true)
    int serverPort;

    @Option(names = "--size", required = true)
    int size;

    @Option(names = "--max-seconds", defaultValue = "120", description = "Hard stop (default ${DEFAULT-VALUE}).")
    long maxSeconds;

    private volatile boolean stop;

    /**
     * Run the server and exit with its status.
     *
     * @param args see the options.
     */
    public static void main(final String[] args)
    {
        System.exit(new CommandLine(new RttEchoServer()).execute(args));
    }

    @Override
    public Integer call()
    {
        final RttSetup setup = new RttSetup(clientInterface, serverInterface, clientIp, serverIp, clientMac,
            serverMac, clientPort, serverPort, size);
        final PrintStream out = System.out;
        final Thread stdinWatcher = new Thread(this::watchStdin, "stdin-watcher");
        stdinWatcher.setDaemon(true);
        stdinWatcher.start();
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(maxSeconds);
        try (RttServer server = RttEndpoints.server(RttPath.of(path), setup))
        {
            out.println(READY);
            out.flush();
            long idle = 0;
            while (!stop)
            {
                if (0 == server.doWork())
                {
                    // Busy spin, as the client does: nothing parks, so no wake-up is ever measured.
                    Thread.onSpinWait();
                    if (0 == (++idle & 0xFFF) && System.nanoTime() - deadlineNs > 0)
                    {
                        out.println("stopping: --max-seconds " + maxSeconds + " reached");
                        break;
                    }
                }
            }
            out.println(DONE_PREFIX + server.answered());
            out.flush();
            return 0;
        }
        catch (final RuntimeException ex)
        {
            out.println("FAILED " + ex);
            out.flush();
            ex.printStackTrace();
            return 1;
        }
    }

    private void watchStdin()
    {
        try (InputStream in = System.in)
        {
            while (in.read() >= 0)
            {
                // Any bytes are ignored: only end of stream means stop.
            }
        }
        catch (final IOException ignore)
        {
            // A broken pipe means the benchmark is gone: stop as well.
        }
        stop = true;
    }
}
