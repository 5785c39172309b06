package dev.homa.system;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import dev.homa.nic.Packet;
import dev.homa.nic.raw.RawEthernetDriver;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The server JVM of every two-process test: opens a driver from a URI in the namespace it was started in and echoes,
 * either each packet back to its source at the level it came at ({@code packet}), or each Homa request as its
 * response ({@code rpc}). Prints {@code READY <address>} once it serves.
 * <p>
 * One stop protocol: the parent closes the server's standard input (which also happens when the parent dies). The
 * server then stops taking work, lets its last responses be acknowledged, prints {@code DONE <count> <driver
 * counters>} and exits 0. It gives up after {@value #MAX_MINUTES} minutes with status 4.
 * <p>
 * Arguments: {@code packet|rpc}, driver URI, the client's IPv4 address (a raw driver resolves it before READY), and
 * for {@code rpc} the Homa port. Other transport settings come from the JVM's {@code homa.*} system properties.
 */
public final class EchoServer
{
    /** First word of the line that says the server serves. */
    public static final String READY = "READY";
    /** First word of the line that says it stopped. */
    public static final String DONE = "DONE";
    static final int MAX_MINUTES = 5;
    static final int TIMEOUT_TICKS = 2000;

    private static final int BURST = 64;
    private static final int GAVE_UP_STATUS = 4;
    private static final long LINGER_NS = TimeUnit.SECONDS.toNanos(2);

    private static volatile boolean stop;

    private EchoServer()
    {
    }

    /**
     * Both ends of an RPC test: a dedicated protocol thread, and an RPC timeout of 2 s instead of 100 ms, because
     * two JVMs (and captures) share the build's cores and a starved process can stay silent longer than the default
     * allows; the protocol's timeouts are not under test here.
     *
     * @param driver the transport's driver.
     * @return the settings.
     */
    static HomaTransport.Context transportContext(final NicDriver driver)
    {
        return new HomaTransport.Context()
            .driver(driver)
            .threadingMode(ThreadingMode.DEDICATED)
            .timeoutTicks(TIMEOUT_TICKS);
    }

    /**
     * @param args mode, URI, client address, port.
     */
    public static void main(final String[] args)
    {
        final boolean rpc = "rpc".equals(args[0]);
        final long client = HostAddress.parseIpv4(args[2]);
        stopWhenInputCloses();
        final long deadlineNs = System.nanoTime() + TimeUnit.MINUTES.toNanos(MAX_MINUTES);
        try (NicDriver driver = NicDrivers.open(args[1]))
        {
            if (driver instanceof RawEthernetDriver raw && !raw.awaitNeighbour(client, TimeUnit.SECONDS.toNanos(10)))
            {
                System.out.println("FAILED: cannot resolve " + args[2]);
                System.exit(3);
            }
            final long count = rpc ?
                serveRpcs(driver, Integer.parseInt(args[3]), deadlineNs) : echoPackets(driver, deadlineNs);
            System.out.println(DONE + " " + count + " " + counters(driver));
        }
        System.exit(stop ? 0 : GAVE_UP_STATUS);
    }

    private static long echoPackets(final NicDriver driver, final long deadlineNs)
    {
        ready(driver);
        final Packet[] batch = new Packet[BURST];
        final int[] count = new int[1];
        long echoed = 0;
        while (!stop && System.nanoTime() - deadlineNs < 0)
        {
            count[0] = 0;
            driver.poll((packet) -> batch[count[0]++] = packet, BURST);
            for (int i = 0; i < count[0]; i++)
            {
                driver.send(batch[i], batch[i].source(), Math.max(0, batch[i].priority()));
            }
            driver.flush();
            for (int i = 0; i < count[0]; i++)
            {
                driver.release(batch[i]);
                batch[i] = null;
            }
            echoed += count[0];
        }
        return echoed;
    }

    private static long serveRpcs(final NicDriver driver, final int port, final long deadlineNs)
    {
        long served = 0;
        try (HomaTransport transport = HomaTransport.launch(transportContext(driver)))
        {
            final HomaSocket socket = transport.openSocket(port);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[HomaTransport.Context.MAX_MESSAGE_LENGTH_DEFAULT]);
            ready(driver);
            while (!stop && System.nanoTime() - deadlineNs < 0)
            {
                final HomaMessage request = socket.homaRecv(HomaSocket.RECV_REQUEST, 100, TimeUnit.MILLISECONDS);
                if (null == request)
                {
                    continue;
                }
                final int length = request.length();
                request.getBytes(0, buffer, 0, length);
                socket.homaReply(request, buffer, 0, length);
                request.release();
                served++;
            }
            // The client has all its responses; their acknowledgements may still be on the way.
            final long lingerDeadlineNs = System.nanoTime() + LINGER_NS;
            while (System.nanoTime() - lingerDeadlineNs < 0 && transport.metrics().get(HomaMetrics.ACTIVE_RPCS) > 0)
            {
                Thread.onSpinWait();
            }
        }
        return served;
    }

    private static void ready(final NicDriver driver)
    {
        System.out.println(READY + " " + HostAddress.toString(driver.localAddress()));
        System.out.flush();
    }

    private static String counters(final NicDriver driver)
    {
        final StringBuilder text = new StringBuilder();
        for (int i = 0; i < driver.counterCount(); i++)
        {
            text.append(0 == i ? "" : " ").append(driver.counterName(i)).append('=').append(driver.counterValue(i));
        }
        return text.toString();
    }

    private static void stopWhenInputCloses()
    {
        final Thread watcher = new Thread(() ->
        {
            try
            {
                while (System.in.read() >= 0)
                {
                    Thread.onSpinWait();
                }
            }
            catch (final IOException ignore)
            {
                // A broken pipe is a closed one.
            }
            stop = true;
        }, "echo-server-stop");
        watcher.setDaemon(true);
        watcher.start();
    }
}
