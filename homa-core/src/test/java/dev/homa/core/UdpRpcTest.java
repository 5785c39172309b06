package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.HostAddress;
import org.agrona.concurrent.UnsafeBuffer;
import dev.homa.nic.udp.UdpDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The engine over a real network path: two transports in DEDICATED mode (their own threads, the system clock), each
 * on a UDP driver bound to 127.0.0.1, echo RPCs of every size class byte-exact, then a burst of small RPCs; once
 * with unconnected sockets only, once with connected peer sockets ({@code connect=4}), where a lone small packet
 * leaves on the peer's connected socket and everything else (scheduled data at grant levels, batches) on the
 * unconnected sockets while arriving on the connected one. A burst of calls far beyond what the server answers in a
 * RESEND interval is answered in full, with the kernel's timer settings.
 */
class UdpRpcTest
{
    @ParameterizedTest(name = "options \"{0}\"")
    @ValueSource(strings = { "", "?connect=4" })
    @Timeout(60)
    void echoOverUdpLoopback(final String options) throws Exception
    {
        // The transports own their drivers: a UDP driver belongs to the thread that drives it (its epoll loop),
        // so it is closed from the protocol thread's onClose, not from this one.
        final String uri = "udp://127.0.0.1:0" + options;
        try (HomaTransport server = HomaTransport.launch(new HomaTransport.Context().driverUri(uri)
                .threadingMode(ThreadingMode.DEDICATED).receivePoolBytes(16L << 20).sendPoolBytes(16L << 20));
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context().driverUri(uri)
                .threadingMode(ThreadingMode.DEDICATED).receivePoolBytes(16L << 20).sendPoolBytes(16L << 20)))
        {
            final HomaSocket serverSocket = server.openSocket(700);
            final int small = 2_000;
            final int[] sizes = { 1, 1_000, 1_416, 1_417, 20_000, 100_000, 1_000_000 };
            final Echo echo = new Echo(serverSocket, 1_000_000);
            final HomaSocket socket = client.openSocket(0);
            final long destination = server.context().driver().localAddress();
            final byte[] payload = new byte[1_000_000];
            for (int i = 0; i < payload.length; i++)
            {
                payload[i] = (byte)(i * 7 + (i >>> 9));
            }
            for (final int size : sizes)
            {
                socket.homaSend(destination, 700, new UnsafeBuffer(payload), 0, size, size);
                final HomaMessage response = socket.homaRecv(HomaSocket.RECV_RESPONSE, 20, TimeUnit.SECONDS);
                assertNotNull(response, "response of " + size);
                assertEquals(HomaMessage.Kind.RESPONSE, response.kind(), response::toString);
                assertEquals(size, response.cookie());
                final byte[] expected = new byte[size];
                System.arraycopy(payload, 0, expected, 0, size);
                assertArrayEquals(expected, response.toByteArray(), "bytes of " + size);
                response.release();
            }
            final long[] rtt = new long[small];
            final UnsafeBuffer request = new UnsafeBuffer(payload);
            for (int i = 0; i < small; i++)
            {
                final long start = System.nanoTime();
                socket.homaSend(destination, 700, request, 0, 100, 0);
                final HomaMessage response = socket.homaRecv(HomaSocket.RECV_RESPONSE, 20, TimeUnit.SECONDS);
                assertNotNull(response);
                rtt[i] = System.nanoTime() - start;
                response.release();
            }
            echo.close();
            if (!options.isEmpty())
            {
                // Each side opened one for the other (its first lone datagram); the RPCs above went through them.
                final UdpDriver clientDriver = (UdpDriver)client.context().driver();
                final UdpDriver serverDriver = (UdpDriver)server.context().driver();
                assertEquals(1, clientDriver.counters().connectedSockets());
                assertEquals(1, serverDriver.counters().connectedSockets());
                // The small RPCs' requests and responses are lone datagrams at one level: nearly all of them took
                // the connected sockets (a first request may go at another level, before the server's cutoffs).
                assertTrue(clientDriver.counters().connectedSends() > small * 9 / 10, () -> "client connected sends " +
                    clientDriver.counters().connectedSends());
                assertTrue(serverDriver.counters().connectedSends() > small * 9 / 10, () -> "server connected sends " +
                    serverDriver.counters().connectedSends());
            }
            java.util.Arrays.sort(rtt);
            System.out.printf("UDP loopback (%s%s), 100-byte echo RTT, real time: p50 %.1f us, p99 %.1f us, " +
                "max %.1f us; " +
                "client retransmissions %d%n", HostAddress.toString(destination), options, rtt[small / 2] / 1e3,
                rtt[small * 99 / 100] / 1e3, rtt[small - 1] / 1e3,
                client.metrics().get(HomaMetrics.RETRANSMITTED_PACKETS));
        }
    }

    @Test
    @Timeout(60)
    void aBurstOfCallsIsAnsweredInFull() throws Exception
    {
        // Thousands of calls wait at the server for longer than a RESEND interval, and each one's RESEND every
        // interval would bury the server under more packets than it can read: its socket overflows, answers come
        // later than the RPC timeout, and calls end "silent" while the server answers. At most
        // maxResendsPerPeerPerTick of them ask each tick; the others wait their turn while the server answers.
        final int calls = 2_000;
        final String uri = "udp://127.0.0.1:0";
        try (HomaTransport server = HomaTransport.launch(new HomaTransport.Context().driverUri(uri)
                .threadingMode(ThreadingMode.DEDICATED));
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context().driverUri(uri)
                .threadingMode(ThreadingMode.DEDICATED)))
        {
            final HomaSocket serverSocket = server.openSocket(700);
            final Echo echo = new Echo(serverSocket, 4_096);
            final HomaSocket socket = client.openSocket(0);
            final long destination = server.context().driver().localAddress();
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[4_096]);
            final List<CompletableFuture<HomaMessage>> futures = new ArrayList<>(calls);
            final long startNs = System.nanoTime();
            for (int i = 0; i < calls; i++)
            {
                final int length = 64 + i % 2_000;
                payload.putInt(0, i);
                futures.add(socket.call(destination, 700, payload, 0, length));
            }
            int failed = 0;
            String firstFailure = "none";
            for (int i = 0; i < calls; i++)
            {
                try
                {
                    final HomaMessage response = futures.get(i).get(30, TimeUnit.SECONDS);
                    assertEquals(64 + i % 2_000, response.length());
                    final UnsafeBuffer head = new UnsafeBuffer(new byte[4]);
                    response.getBytes(0, head, 0, 4);
                    assertEquals(i, head.getInt(0), "the response to call " + i);
                    response.release();
                }
                catch (final TimeoutException ex)
                {
                    // Say why, not just that: what the server's application got, and both engines' counters.
                    fail("call " + i + " has no answer after 30 s; the echo served " + echo.served() +
                        " requests, its error: " + echo.error() + "\nclient " + client.metrics() + "\nserver " +
                        server.metrics());
                }
                catch (final ExecutionException ex)
                {
                    if (0 == failed++)
                    {
                        firstFailure = ex.getCause().getMessage();
                    }
                }
            }
            final long elapsedNs = System.nanoTime() - startNs;
            echo.close();
            final HomaMetrics c = client.metrics();
            final HomaMetrics s = server.metrics();
            System.out.printf("UDP loopback burst of %d calls: %d failed (first: %s) in %d ms; client: resends " +
                "requested %d, deferred %d, timeouts %d, restarts %d, answers limited %d, kernel drops %d; server: " +
                "requests served %d, retransmitted %d, BUSY %d, RPC_UNKNOWN %d, answers limited %d, timeouts %d, " +
                "kernel drops %d%n", calls, failed,
                firstFailure, elapsedNs / 1_000_000, c.get(HomaMetrics.RESENDS_REQUESTED),
                c.get(HomaMetrics.RESENDS_DEFERRED), c.get(HomaMetrics.CLIENT_TIMEOUTS),
                c.get(HomaMetrics.CLIENT_RESTARTS), c.get(HomaMetrics.ANSWERS_LIMITED),
                ((UdpDriver)client.context().driver()).kernelReceiveDrops(),
                echo.served(), s.get(HomaMetrics.RETRANSMITTED_PACKETS), s.get(HomaMetrics.BUSY_ANSWERS),
                s.get(HomaMetrics.UNKNOWN_ANSWERS), s.get(HomaMetrics.ANSWERS_LIMITED),
                s.get(HomaMetrics.SERVER_TIMEOUTS),
                ((UdpDriver)server.context().driver()).kernelReceiveDrops());
            assertEquals(0, failed, firstFailure);
            assertEquals(0, c.get(HomaMetrics.CLIENT_TIMEOUTS));
        }
    }

    @Test
    @Timeout(30)
    void aClosedPortEndsTheRpcAtOnce() throws Exception
    {
        // udp:// has no ICMP for a Homa port: the server's transport answers in band, and the client's RPC ends with
        // the reason instead of waiting out its timeout. The client's first RESEND waits half a second, not 5 ms, so
        // that a RESEND means the answer did not come at once rather than that a loaded machine ran the server late.
        try (HomaTransport server = HomaTransport.launch(new HomaTransport.Context().driverUri("udp://127.0.0.1:0")
                .threadingMode(ThreadingMode.DEDICATED).receivePoolBytes(4L << 20).sendPoolBytes(4L << 20));
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context().driverUri("udp://127.0.0.1:0")
                .threadingMode(ThreadingMode.DEDICATED).receivePoolBytes(4L << 20).sendPoolBytes(4L << 20)
                .resendTicks(500).timeoutTicks(5_000)))
        {
            server.openSocket(700);
            final HomaSocket socket = client.openSocket(0);
            final long destination = server.context().driver().localAddress();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
            final long id = socket.homaSend(destination, 701, request, 0, 100, 0);
            final HomaMessage result = socket.homaRecv(HomaSocket.RECV_RESPONSE, 20, TimeUnit.SECONDS);
            assertNotNull(result);
            assertTrue(result.isError(), result::toString);
            assertEquals(id, result.id());
            final HomaUnreachableException error = assertInstanceOf(HomaUnreachableException.class, result.error());
            assertTrue(error.getMessage().contains("port 701"), error.getMessage());
            result.release();
            assertEquals(0, client.metrics().get(HomaMetrics.RESENDS_REQUESTED), "ended before any RESEND");
            assertEquals(1, server.metrics().get(HomaMetrics.UNREACHABLE_ANSWERS));
        }
    }

    /**
     * An application thread that answers each request with its own bytes until stopped. It does not stop at a count:
     * delivery is at least once, so a request whose client restarted it (the server had given up on its response)
     * comes again and is answered again.
     */
    private static final class Echo implements AutoCloseable
    {
        private final AtomicInteger served = new AtomicInteger();
        private final Thread thread;
        private volatile boolean running = true;
        private volatile Throwable error;

        Echo(final HomaSocket serverSocket, final int maxLength)
        {
            thread = Thread.ofPlatform().name("udp-echo").daemon().start(() ->
            {
                final UnsafeBuffer scratch = new UnsafeBuffer(new byte[maxLength]);
                try
                {
                    while (running)
                    {
                        final HomaMessage request = serverSocket.homaRecv(HomaSocket.RECV_REQUEST, 10,
                            TimeUnit.MILLISECONDS);
                        if (null != request)
                        {
                            request.getBytes(0, scratch, 0, request.length());
                            serverSocket.homaReply(request, scratch, 0, request.length());
                            request.release();
                            served.incrementAndGet();
                        }
                    }
                }
                catch (final RuntimeException ex)
                {
                    error = ex;
                }
            });
        }

        int served()
        {
            return served.get();
        }

        Throwable error()
        {
            return error;
        }

        @Override
        public void close() throws InterruptedException
        {
            running = false;
            thread.join();
            assertNull(error, "the echo failed");
        }
    }
}
