package dev.homa.system;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.workload.MessageSizeDistribution;
import dev.homa.nic.HostAddress;
import dev.homa.test.NetnsPair;
import dev.homa.nic.udp.EpollIdleStrategy;
import dev.homa.nic.udp.UdpDriver;
import dev.homa.nic.udp.UdpDriverContext;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayDeque;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two JVM processes in two network namespaces exchange 10,000 RPCs of W4 sizes (capped at 1,000,000
 * bytes) byte-exact over the UDP driver. This JVM is the client in namespace A; an {@link EchoServer} child answers
 * in namespace B across the veth. Sizes are seeded ({@code -Dhoma.seed=}), the count is {@code -Dhoma.e2e.rpcs=}.
 */
class UdpRpcEndToEndTest
{
    private static final int SERVER_PORT = 100;
    private static final int WINDOW = 16;
    private static final long POOL_BYTES = 256L << 20;

    @Test
    @Timeout(300)
    void tenThousandW4RpcsBetweenTwoProcessesOverUdp() throws Exception
    {
        assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        final MessageSizeDistribution sizes = MessageSizeDistribution.workload("w4", 1_000_000);
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("seed=" + seed);
        final int rpcs = Integer.getInteger("homa.e2e.rpcs", 10_000);
        final Random random = new Random(seed);

        try (NetnsPair pair = NetnsPair.create("hudprpc", 4);
            EchoServerProcess server = EchoServerProcess.rpcs(pair, "udp://" + pair.ipB() + ":4000", SERVER_PORT,
                "-Dhoma.receive.pool.bytes=" + POOL_BYTES, "-Dhoma.send.pool.bytes=" + POOL_BYTES))
        {
            final UdpDriver driver = pair.callIn(pair.nsA(), () -> new UdpDriver(
                new UdpDriverContext().bindAddress(HostAddress.parseIpv4(pair.ipA() + ":4000"))));
            final long startNs = System.nanoTime();
            long bytes = 0;
            // INVOKER mode: this thread runs the protocol, owns the driver and can close it cleanly.
            final EpollIdleStrategy idle = driver.idleStrategy(100, 50_000L);
            try (driver; HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
                .driver(driver)
                .threadingMode(ThreadingMode.INVOKER)
                .timeoutTicks(EchoServer.TIMEOUT_TICKS)
                .receivePoolBytes(POOL_BYTES)
                .sendPoolBytes(POOL_BYTES)))
            {
                final HomaSocket socket = transport.openSocket(0);
                final long serverHost = server.address();
                final ArrayDeque<CompletableFuture<HomaMessage>> futures = new ArrayDeque<>();
                final ArrayDeque<byte[]> requests = new ArrayDeque<>();
                int sent = 0;
                int done = 0;
                while (done < rpcs)
                {
                    while (sent < rpcs && futures.size() < WINDOW)
                    {
                        final byte[] request = new byte[sizes.sample(random.nextDouble())];
                        random.nextBytes(request);
                        futures.add(socket.call(serverHost, SERVER_PORT, new UnsafeBuffer(request), 0,
                            request.length));
                        requests.add(request);
                        bytes += request.length;
                        sent++;
                    }
                    idle.idle(transport.doWork());
                    while (!futures.isEmpty() && futures.peek().isDone())
                    {
                        final HomaMessage response = futures.poll().get();
                        final byte[] request = requests.poll();
                        assertEquals(request.length, response.length(), "response length of RPC " + done);
                        assertArrayEquals(request, response.toByteArray(), "response bytes of RPC " + done);
                        response.release();
                        done++;
                    }
                    assertTrue(System.nanoTime() - startNs < TimeUnit.SECONDS.toNanos(240),
                        "only " + done + " of " + rpcs + " RPCs completed");
                }
                final long elapsedNs = System.nanoTime() - startNs;
                System.out.printf("%d W4 RPCs, %d MB each way, in %.1f s; client driver sent=%d received=%d " +
                    "gsoSends=%d groSuperDatagrams=%d drops=%d%n", rpcs, bytes >> 20, elapsedNs / 1e9,
                    driver.counters().packetsSent(), driver.counters().packetsReceived(),
                    driver.counters().gsoSends(), driver.counters().groSuperDatagrams(),
                    driver.counters().rxDroppedNoBuffer() + driver.counters().rxDroppedOversize());
                server.requestStop();
                final long stopDeadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (server.isAlive() && System.nanoTime() < stopDeadlineNs)
                {
                    // Keep the protocol running (acknowledgements included) until the server has finished.
                    idle.idle(transport.doWork());
                }
                assertEquals(rpcs, server.stop(), "requests the server answered");
            }
        }
    }
}
