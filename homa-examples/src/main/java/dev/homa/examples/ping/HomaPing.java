package dev.homa.examples.ping;

import java.net.URI;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.metrics.MetricsPrinter;
import dev.homa.examples.Cli;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricRegistry;
import org.HdrHistogram.Histogram;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * {@code homa-ping}: Homa's ping. {@code server} answers every request with its own bytes; {@code client} sends
 * {@code --count} requests of {@code --size} bytes one at a time (closed loop, after {@code --warmup} unmeasured
 * ones) and prints round-trip percentiles from an HdrHistogram. Any driver, chosen by URI; {@code --capture FILE}
 * writes a pcap of the frames that side sends and receives.
 * <pre>
 *   ip netns exec B homa-ping server --driver udp://198.18.0.2:4000
 *   ip netns exec A homa-ping client --driver udp://198.18.0.1:0 --server 198.18.0.2:4000 --count 10000
 *   ip netns exec B homa-ping server --driver raw://veth-b --capture server.pcap
 *   ip netns exec A homa-ping client --driver raw://veth-a --server 198.18.0.2
 *   homa-ping client --driver loopback://ping/198.18.0.1      (in-process fabric, server included)
 * </pre>
 * Both sides run the transport in {@link ThreadingMode#INVOKER} mode on their main thread and busy-spin, so the
 * numbers include no thread hand-off and no wake-up; each side keeps one core busy while it runs.
 */
@Command(name = "homa-ping", mixinStandardHelpOptions = true,
    subcommands = { HomaPing.Server.class, HomaPing.Client.class, CommandLine.HelpCommand.class },
    description = "Homa RPC round-trip times over any driver (udp://, raw://, loopback://).")
public final class HomaPing implements Runnable
{
    /** Offset of the request's sequence number in its payload. */
    static final int SEQUENCE_OFFSET = 0;
    /** Offset of the send timestamp in the payload. */
    static final int TIMESTAMP_OFFSET = 8;
    /** Smallest message: sequence and timestamp. */
    static final int MIN_SIZE = 16;
    /** How long a server that reached --count keeps running so its last reply is delivered. */
    static final long LINGER_NS = TimeUnit.MILLISECONDS.toNanos(200);

    /**
     * Run {@code homa-ping} and exit with its status.
     *
     * @param args {@code server ...} or {@code client ...}; {@code --help} for the options.
     */
    public static void main(final String[] args)
    {
        System.exit(Cli.execute(new HomaPing(), args));
    }

    @Override
    public void run()
    {
        CommandLine.usage(this, System.out);
    }

    static HomaTransport launch(final NicDriver driver)
    {
        return HomaTransport.launch(new HomaTransport.Context().driver(driver).threadingMode(ThreadingMode.INVOKER));
    }

    /**
     * Echo server: answers each request with the request's bytes.
     */
    @Command(name = "server", mixinStandardHelpOptions = true,
        description = "Answer Homa requests with their own bytes until Ctrl-C, --count or --max-seconds.")
    static final class Server implements Callable<Integer>
    {
        @Mixin
        PingDriverOptions options;

        @Option(names = "--count", defaultValue = "0", description = "Exit after answering this many (0 = no limit).")
        long count;

        @Option(names = "--max-seconds", defaultValue = "0", description = "Exit after this long (0 = no limit).")
        long maxSeconds;

        @Option(names = "--metrics", description = "Print the server's Homa counters when it exits.")
        boolean metrics;

        @Override
        public Integer call()
        {
            if (options.isLoopback())
            {
                throw new CommandLine.ParameterException(new CommandLine(this),
                    "a loopback:// fabric lives inside one JVM: run 'homa-ping client --driver loopback://...', " +
                        "which starts its own server");
            }
            final AtomicBoolean stop = new AtomicBoolean();
            final Thread main = Thread.currentThread();
            final Thread hook = new Thread(() ->
            {
                stop.set(true);
                try
                {
                    main.join(5_000);
                }
                catch (final InterruptedException ignore)
                {
                    Thread.currentThread().interrupt();
                }
            }, "homa-ping-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            final NicDriver driver = options.openDriver();
            try (EchoServer server = new EchoServer(driver, options.homaPort))
            {
                System.out.println("homa-ping server on " + HostAddress.toString(driver.localAddress()) +
                    " Homa port " + options.homaPort + (null == options.capture ? "" : ", capturing to " +
                    options.capture));
                System.out.flush();
                final long deadlineNs = 0 == maxSeconds ? Long.MAX_VALUE :
                    System.nanoTime() + TimeUnit.SECONDS.toNanos(maxSeconds);
                long idle = 0;
                while (!stop.get() && (0 == count || server.answered() < count))
                {
                    if (0 == server.doWork())
                    {
                        Thread.onSpinWait();
                        if (0 == (++idle & 0xFFF) && System.nanoTime() - deadlineNs > 0)
                        {
                            break;
                        }
                    }
                }
                // Keep the protocol running briefly so the last reply leaves and its ACK is taken.
                final long lingerEndNs = System.nanoTime() + LINGER_NS;
                while (!stop.get() && System.nanoTime() - lingerEndNs < 0)
                {
                    server.doWork();
                }
                System.out.println("answered " + server.answered() + " requests");
                if (metrics)
                {
                    MetricsPrinter.print(server.transport.metrics().snapshot(), System.out);
                }
            }
            finally
            {
                driver.close();
                try
                {
                    Runtime.getRuntime().removeShutdownHook(hook);
                }
                catch (final IllegalStateException ignore)
                {
                    // Shutting down already: the hook is what stopped the loop.
                }
            }
            return 0;
        }
    }

    /**
     * Client: closed-loop RPCs, RTT percentiles.
     */
    @Command(name = "client", mixinStandardHelpOptions = true,
        description = "Send requests one at a time and print round-trip percentiles.")
    static final class Client implements Callable<Integer>
    {
        @Mixin
        PingDriverOptions options;

        @Option(names = { "-s", "--server" }, paramLabel = "HOST[:PORT]",
            description = "Server host (with the UDP port for udp://). Not needed for loopback://.")
        String server;

        @Option(names = "--size", defaultValue = "100", description = "Request and response bytes " +
            "(default ${DEFAULT-VALUE}, at least 16).")
        int size;

        @Option(names = { "-c", "--count" }, defaultValue = "10000", description = "Measured RPCs " +
            "(default ${DEFAULT-VALUE}).")
        long count;

        @Option(names = "--warmup", defaultValue = "1000", description = "Unmeasured RPCs first " +
            "(default ${DEFAULT-VALUE}).")
        long warmup;

        @Option(names = "--timeout-ms", defaultValue = "1000", description = "Give up on one RPC after this " +
            "(default ${DEFAULT-VALUE}).")
        long timeoutMs;

        @Option(names = "--max-seconds", defaultValue = "120", description = "Stop after this long " +
            "(default ${DEFAULT-VALUE}).")
        long maxSeconds;

        @Option(names = "--distribution", description = "Also print the full percentile distribution.")
        boolean distribution;

        @Option(names = "--metrics", description = "Also print this side's Homa counters at the end.")
        boolean metrics;

        @Override
        public Integer call()
        {
            if (size < MIN_SIZE || size > HomaTransport.Context.MAX_MESSAGE_LENGTH_DEFAULT)
            {
                throw new CommandLine.ParameterException(new CommandLine(this),
                    "--size must be " + MIN_SIZE + ".." + HomaTransport.Context.MAX_MESSAGE_LENGTH_DEFAULT);
            }
            Fabric fabric = null;
            String fabricName = null;
            EchoServer localServer = null;
            NicDriver driver = null;
            final long serverAddress;
            try
            {
                if (options.isLoopback())
                {
                    // In-process fabric: this JVM is both hosts, so it runs the server too, stepped in our loop.
                    final URI uri = URI.create(options.driverUri);
                    fabricName = uri.getAuthority();
                    fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
                    FabricRegistry.register(fabricName, fabric);
                    driver = options.openDriver();
                    final long other = Fabric.hostAddress(0) == driver.localAddress() ?
                        Fabric.hostAddress(1) : Fabric.hostAddress(0);
                    localServer = new EchoServer(fabric.driver(other), options.homaPort);
                    serverAddress = other;
                }
                else
                {
                    if (null == server)
                    {
                        throw new CommandLine.ParameterException(new CommandLine(this), "--server is required");
                    }
                    driver = options.openDriver();
                    serverAddress = HostAddress.parseIpv4(server);
                }
                return ping(driver, serverAddress, localServer);
            }
            finally
            {
                if (null != localServer)
                {
                    localServer.close();
                }
                if (null != driver)
                {
                    driver.close();
                }
                if (null != fabric)
                {
                    FabricRegistry.unregister(fabricName, fabric);
                    fabric.close();
                }
            }
        }

        private int ping(final NicDriver driver, final long serverAddress, final EchoServer localServer)
        {
            final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
            final UnsafeBuffer request = new UnsafeBuffer(
                BufferUtil.allocateDirectAligned(BitUtil.align(size, 64), 64));
            final UnsafeBuffer header = new UnsafeBuffer(BufferUtil.allocateDirectAligned(64, 64));
            final long timeoutNs = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(maxSeconds);
            long failed = 0;
            try (HomaTransport transport = launch(driver); HomaSocket socket = transport.openSocket(0))
            {
                System.out.println("homa-ping " + HostAddress.toString(driver.localAddress()) + " -> " +
                    HostAddress.toString(serverAddress) + " Homa port " + options.homaPort + ": " + warmup +
                    " warm-up and " + count + " measured RPCs of " + size + " bytes" +
                    (null == options.capture ? "" : ", capturing to " + options.capture));
                long sequence = 0;
                for (long i = 0; i < warmup + count && System.nanoTime() - deadlineNs < 0; i++)
                {
                    sequence++;
                    final long start = System.nanoTime();
                    request.putLong(SEQUENCE_OFFSET, sequence, BIG_ENDIAN);
                    request.putLong(TIMESTAMP_OFFSET, start, BIG_ENDIAN);
                    final long id = socket.homaSend(serverAddress, options.homaPort, request, 0, size, sequence);
                    long rttNs = -1;
                    while (true)
                    {
                        transport.doWork();
                        if (null != localServer)
                        {
                            localServer.doWork();
                        }
                        final HomaMessage response = socket.homaRecv(HomaSocket.RECV_RESPONSE);
                        if (null != response)
                        {
                            try
                            {
                                if (!response.isError() && response.length() == size)
                                {
                                    response.getBytes(0, header, 0, MIN_SIZE);
                                    if (sequence == header.getLong(SEQUENCE_OFFSET, BIG_ENDIAN))
                                    {
                                        rttNs = System.nanoTime() - header.getLong(TIMESTAMP_OFFSET, BIG_ENDIAN);
                                    }
                                }
                                else if (response.isError())
                                {
                                    System.err.println("RPC " + response.id() + " failed: " + response.error());
                                }
                            }
                            finally
                            {
                                response.release();
                            }
                            break;
                        }
                        if (System.nanoTime() - start > timeoutNs)
                        {
                            socket.abort(id);
                            break;
                        }
                    }
                    if (rttNs < 0)
                    {
                        failed++;
                    }
                    else if (i >= warmup)
                    {
                        histogram.recordValue(Math.min(rttNs, histogram.getHighestTrackableValue()));
                    }
                }
                if (metrics)
                {
                    MetricsPrinter.print(transport.metrics().snapshot(), System.out);
                }
            }
            PingReport.print(System.out, histogram, size, failed, distribution);
            return histogram.getTotalCount() > 0 ? 0 : 1;
        }
    }

    /**
     * The server's transport and socket, driven by {@link #doWork()} on the caller's thread.
     */
    static final class EchoServer implements AutoCloseable
    {
        private final HomaTransport transport;
        private final HomaSocket socket;
        private UnsafeBuffer reply = new UnsafeBuffer(BufferUtil.allocateDirectAligned(4096, 64));
        private long answered;

        EchoServer(final NicDriver driver, final int port)
        {
            transport = launch(driver);
            socket = transport.openSocket(port);
        }

        int doWork()
        {
            int work = transport.doWork();
            final HomaMessage request = socket.homaRecv(HomaSocket.RECV_REQUEST);
            if (null != request)
            {
                try
                {
                    final int length = request.length();
                    if (length > reply.capacity())
                    {
                        // Grows to the largest request seen, once; not per request.
                        reply = new UnsafeBuffer(BufferUtil.allocateDirectAligned(BitUtil.align(length, 4096), 64));
                    }
                    request.getBytes(0, reply, 0, length);
                    socket.homaReply(request, reply, 0, length);
                    answered++;
                    work++;
                }
                finally
                {
                    request.release();
                }
            }
            return work;
        }

        long answered()
        {
            return answered;
        }

        @Override
        public void close()
        {
            socket.close();
            transport.close();
        }
    }
}
