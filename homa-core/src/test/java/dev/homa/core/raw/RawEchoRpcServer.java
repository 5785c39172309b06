package dev.homa.core.raw;

import java.util.concurrent.TimeUnit;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.ThreadingMode;
import dev.homa.nic.HostAddress;
import dev.homa.test.ParentWatchdog;
import dev.homa.nic.raw.RawEthernetDriver;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Child-process Homa server for the two-JVM test: a transport over the raw driver (opened in the namespace named by
 * the URI's {@code netns=}), one socket on the given port, every request answered with its own bytes. Prints READY
 * and its address, then serves until its standard input closes (the parent ended) or it has answered the expected
 * number of requests; prints SERVED and the transport's counters.
 * <p>
 * Arguments: driver URI, client IPv4 address to resolve before READY, port, number of requests.
 */
public final class RawEchoRpcServer
{
    private RawEchoRpcServer()
    {
    }

    /**
     * Transport settings for both JVMs: a dedicated protocol thread, and an RPC timeout of 2 s instead of 100 ms,
     * because two JVMs, two captures and the other builds share two cores here and a starved process can stay
     * silent longer than the default allows (the protocol is not under test for timeouts here).
     */
    static HomaTransport.Context context(final RawEthernetDriver driver)
    {
        return new HomaTransport.Context().driver(driver).threadingMode(ThreadingMode.DEDICATED).timeoutTicks(2000);
    }

    /**
     * @param args URI, client address, port, count.
     */
    public static void main(final String[] args)
    {
        final long client = HostAddress.parseIpv4(args[1]);
        final int port = Integer.parseInt(args[2]);
        final long expected = Long.parseLong(args[3]);
        ParentWatchdog.exitWhenParentEnds();

        final RawEthernetDriver driver = RawEthernetDriver.fromUri(args[0]);
        if (!driver.awaitNeighbour(client, TimeUnit.SECONDS.toNanos(10)))
        {
            System.out.println("FAILED: cannot resolve " + args[1]);
            System.exit(3);
        }
        try (HomaTransport transport = HomaTransport.launch(
            context(driver)))
        {
            final HomaSocket socket = transport.openSocket(port);
            System.out.println("READY " + HostAddress.toString(driver.localAddress()));
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[HomaTransport.Context.MAX_MESSAGE_LENGTH_DEFAULT]);
            long served = 0;
            final long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (served < expected && System.nanoTime() - deadline < 0)
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
            // Give the last responses time to be acknowledged before the transport goes away.
            final long lingerDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() - lingerDeadline < 0 && transport.metrics().get(HomaMetrics.ACTIVE_RPCS) > 0)
            {
                Thread.onSpinWait();
            }
            System.out.println("SERVED " + served + " " + driver.counters());
        }
        finally
        {
            driver.close();
        }
        System.exit(0);
    }
}
