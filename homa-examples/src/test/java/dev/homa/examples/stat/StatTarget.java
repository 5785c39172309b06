package dev.homa.examples.stat;

import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.metrics.CountersFile;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A process for {@link HomaStatTest} to watch: a UDP server and client on loopback with their counters files in
 * the given directory; ten RPCs, then "READY" once both transports' files show them, then it runs until its
 * standard input ends.
 */
public final class StatTarget
{
    private StatTarget()
    {
    }

    /**
     * @param args the counters directory.
     * @throws Exception on failure (exit status 1).
     */
    public static void main(final String[] args) throws Exception
    {
        final String dir = args[0];
        try (HomaTransport server = HomaTransport.launch(new HomaTransport.Context().driverUri("udp://127.0.0.1:0")
                .threadingMode(ThreadingMode.DEDICATED).countersDir(dir));
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context().driverUri("udp://127.0.0.1:0")
                .threadingMode(ThreadingMode.DEDICATED).countersDir(dir)))
        {
            final HomaSocket serverSocket = server.openSocket(7);
            final Thread echo = new Thread(() ->
            {
                while (!serverSocket.isClosed())
                {
                    final var request = serverSocket.homaRecv(HomaSocket.RECV_REQUEST, 50, TimeUnit.MILLISECONDS);
                    if (null != request)
                    {
                        final UnsafeBuffer copy = new UnsafeBuffer(request.toByteArray());
                        serverSocket.homaReply(request, copy, 0, copy.capacity());
                        request.release();
                    }
                }
            });
            echo.setDaemon(true);
            echo.start();
            final HomaSocket clientSocket = client.openSocket(0);
            final long destination = server.context().driver().localAddress();
            for (int i = 0; i < 10; i++)
            {
                clientSocket.call(destination, 7, new UnsafeBuffer(new byte[100]), 0, 100).get(10, TimeUnit.SECONDS)
                    .release();
            }
            // Each transport publishes its own file on its own schedule: wait until both show all ten.
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            awaitCounter(client.countersFile(), "client_rpcs_completed", deadline);
            awaitCounter(server.countersFile(), "server_rpcs_created", deadline);
            System.out.println("READY " + ProcessHandle.current().pid());
            System.out.flush();
            while (-1 != System.in.read())
            {
                // Run until the test closes our standard input.
            }
            serverSocket.close();
        }
    }

    private static void awaitCounter(final Path file, final String name, final long deadlineNs) throws Exception
    {
        try (CountersFile.Reader reader = new CountersFile.Reader(file))
        {
            while (10 != reader.value(name) && System.nanoTime() < deadlineNs)
            {
                Thread.onSpinWait();
            }
        }
    }
}
