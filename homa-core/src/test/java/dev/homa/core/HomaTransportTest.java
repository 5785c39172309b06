package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.metrics.MetricsPrinter;
import dev.homa.nic.HostAddress;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.SleepingIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API: context validation, limits with precise exceptions, ports, and the DEDICATED threading mode with
 * blocking receives and the CompletableFuture convenience from application threads.
 */
class HomaTransportTest
{
    @Test
    @Timeout(10)
    void aDutyCycleTakesAboutAQuarterMegabyteOfPackets()
    {
        final HomaTransport.Context loopback = new HomaTransport.Context().driverUri("udp://127.0.0.1:0").conclude();
        final HomaTransport.Context ethernet =
            new HomaTransport.Context().driverUri("udp://127.0.0.1:0?mtu=1500").conclude();
        final HomaTransport.Context set =
            new HomaTransport.Context().driverUri("udp://127.0.0.1:0?mtu=1500").pollBurst(7).conclude();
        try
        {
            assertEquals(65_507, loopback.driver().maxPacketLength());
            assertEquals(4, loopback.pollBurst(), "64 KiB packets: four per duty cycle");
            assertEquals(64, ethernet.pollBurst(), "Ethernet packets: the cap of 64");
            assertEquals(7, set.pollBurst(), "a setting wins");
        }
        finally
        {
            loopback.driver().close();
            ethernet.driver().close();
            set.driver().close();
        }
    }

    @Test
    @Timeout(10)
    void contextRejectsBadSettingsPrecisely()
    {
        final HomaConfigurationException noDriver = assertThrows(HomaConfigurationException.class,
            () -> new HomaTransport.Context().conclude());
        assertTrue(noDriver.getMessage().contains("driver"), noDriver.getMessage());
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            final HomaConfigurationException overcommit = assertThrows(HomaConfigurationException.class,
                () -> new HomaTransport.Context().driver(fabric.driverAt(0)).overcommit(9).conclude());
            assertTrue(overcommit.getMessage().startsWith("overcommit = 9"), overcommit.getMessage());
            final HomaConfigurationException length = assertThrows(HomaConfigurationException.class,
                () -> new HomaTransport.Context().driver(fabric.driverAt(0))
                .maxMessageLength(HomaTransport.Context.MAX_MESSAGE_LENGTH_LIMIT + 1).conclude());
            assertTrue(length.getMessage().contains("maxMessageLength"), length.getMessage());
            final HomaConfigurationException pool = assertThrows(HomaConfigurationException.class,
                () -> new HomaTransport.Context().driver(fabric.driverAt(0)).maxMessageLength(100_000_000).conclude());
            assertTrue(pool.getMessage().startsWith("receivePoolBytes"), pool.getMessage());
            final HomaTransport.Context ctx = new HomaTransport.Context().driver(fabric.driverAt(0)).conclude();
            assertEquals(11_392, ctx.unscheduledBytes(), "10 Gb/s x 8 us rounded up to whole 1424-byte packets");
            assertThrows(HomaConfigurationException.class, () -> ctx.overcommit(4));
        }
    }

    @Test
    @Timeout(10)
    void unscheduledBytesCoverTwoPacketsWherePacketsOutlastTheRoundTrip()
    {
        // UDP-sized packets at 25 Gb/s: 8 us of link is 25,000 bytes, less than one packet. The receiver can grant
        // only once the first packet is in, so a second unscheduled packet keeps the link busy meanwhile.
        try (Fabric software = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).linkBitsPerSecond(25_000_000_000L)
                .maxPacketLength(65_507).build())
        {
            final HomaTransport.Context ctx = new HomaTransport.Context().driver(software.driverAt(0)).conclude();
            assertEquals(2 * ctx.maxPayload(), ctx.unscheduledBytes(), "two full packets");
        }
    }

    @Test
    @Timeout(10)
    void incomingBudgetIs128MicrosecondsOfTheLink()
    {
        try (Fabric tenGig = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).linkBitsPerSecond(10_000_000_000L)
                .build();
            Fabric kernelLink = Fabric.builder().mode(FabricMode.INSTANT).hosts(1)
                .linkBitsPerSecond(25_000_000_000L).build())
        {
            assertEquals(160_000, new HomaTransport.Context().driver(tenGig.driverAt(0)).conclude().maxIncomingBytes(),
                "10 Gb/s x 128 us");
            assertEquals(400_000,
                new HomaTransport.Context().driver(kernelLink.driverAt(0)).conclude().maxIncomingBytes(),
                "the kernel's max_incoming at its 25 Gb/s link_mbps");
            assertEquals(123_456, new HomaTransport.Context().driver(tenGig.driverAt(0)).maxIncomingBytes(123_456)
                .conclude().maxIncomingBytes(), "a configured budget wins");
        }
    }

    @Test
    @Timeout(10)
    void aSocketTakesPacketsFromTheMomentItIsOpened()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
            HomaTransport server = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(0))
                .countersEnabled(false));
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(1))
                .countersEnabled(false)))
        {
            final HomaSocket clientSocket = client.openSocket(0);
            client.doWork();
            final HomaSocket serverSocket = server.openSocket(700);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
            clientSocket.homaSend(fabric.driverAt(0).localAddress(), 700, request, 0, request.capacity(), 1L);
            client.doWork();
            // The request reaches the server before its duty cycle has read the socket's BIND command, as it can when
            // a protocol thread polls the driver just after an application thread opened the socket.
            assertEquals(1, fabric.driverAt(0).poll(server.engine().packetSink(), 64));
            assertEquals(0, server.metrics().get(HomaMetrics.DROP_UNKNOWN_PORT), "answered as a closed port");
            server.doWork();
            final HomaMessage received = serverSocket.homaRecv(HomaSocket.RECV_REQUEST);
            assertNotNull(received, "the request reached the socket");
            received.release();
        }
    }

    @Test
    @Timeout(10)
    void grantSettingsAreCheckedByConcludeNotAtLaunch()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            final HomaConfigurationException window = assertThrows(HomaConfigurationException.class,
                () -> new HomaTransport.Context().driver(fabric.driverAt(0)).windowBytes(100).conclude());
            assertTrue(window.getMessage().contains("windowBytes"), window.getMessage());
            final HomaConfigurationException incoming = assertThrows(HomaConfigurationException.class,
                () -> new HomaTransport.Context().driver(fabric.driverAt(0)).maxIncomingBytes(2000).conclude());
            assertTrue(incoming.getMessage().contains("maxIncomingBytes"), incoming.getMessage());
            final HomaConfigurationException fifo = assertThrows(HomaConfigurationException.class,
                () -> new HomaTransport.Context().driver(fabric.driverAt(0)).fifoGrantIncrement(0).conclude());
            assertTrue(fifo.getMessage().contains("fifoGrantIncrement"), fifo.getMessage());
        }
    }

    @Test
    @Timeout(30)
    void aPortInUseFailsTheLaunchClearlyUnlessSharingIsAsked() throws Exception
    {
        try (HomaTransport first = HomaTransport.launch(new HomaTransport.Context().driverUri("udp://127.0.0.1:0")
            .threadingMode(ThreadingMode.DEDICATED)))
        {
            final String taken = "udp://" + HostAddress.toString(first.context().driver().localAddress());
            final HomaConfigurationException error = assertThrows(HomaConfigurationException.class,
                () -> HomaTransport.launch(new HomaTransport.Context().driverUri(taken)));
            assertTrue(error.getMessage().contains("already in use"), error.getMessage());
            try (HomaTransport shared = HomaTransport.launch(new HomaTransport.Context()
                .driverUri(taken + "?share=true").threadingMode(ThreadingMode.DEDICATED)))
            {
                assertEquals(first.context().driver().localAddress(), shared.context().driver().localAddress());
            }
        }
    }

    @Test
    @Timeout(30)
    void aLaunchThatFailsOnABadSettingLeavesNothingBound() throws Exception
    {
        final int port;
        try (DatagramChannel probe = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0)))
        {
            port = ((InetSocketAddress)probe.getLocalAddress()).getPort();
        }
        final HomaConfigurationException error = assertThrows(HomaConfigurationException.class,
            () -> HomaTransport.launch(new HomaTransport.Context().driverUri("udp://127.0.0.1:" + port)
                .overcommit(99)));
        assertTrue(error.getMessage().startsWith("overcommit = 99"), error.getMessage());
        try (DatagramChannel again = DatagramChannel.open())
        {
            again.bind(new InetSocketAddress("127.0.0.1", port));
        }
    }

    @Test
    @Timeout(10)
    void theConfigurationAndTheCountersPrintReadably()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build();
            HomaTransport transport = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(0))
                .countersEnabled(false)))
        {
            final String configuration = transport.context().toString();
            assertTrue(configuration.contains("    maxIncomingRequestsPerPeer = 1000\n"), configuration);
            assertTrue(configuration.contains("    maxIncomingBytesPerPeer = "), configuration);
            transport.openSocket(5);
            transport.doWork();
            final String metrics = transport.metrics().toString();
            assertTrue(metrics.isEmpty() || metrics.contains(" "), metrics);
            assertTrue(!metrics.contains("HomaMetrics@"), metrics);
            assertNull(transport.countersFile(), "no counters file when disabled");
        }
    }

    @Test
    @Timeout(10)
    void defaultsComeFromSystemProperties()
    {
        System.setProperty("homa.overcommit", "3");
        System.setProperty("homa.tick", "2ms");
        System.setProperty("homa.receive.pool.bytes", "8m");
        try
        {
            final HomaTransport.Context ctx = new HomaTransport.Context();
            assertEquals(3, ctx.overcommit());
            assertEquals(2_000_000, ctx.tickNs());
            assertEquals(8L << 20, ctx.receivePoolBytes());
            System.setProperty("homa.tick", "soon");
            assertThrows(HomaConfigurationException.class, HomaTransport.Context::new);
        }
        finally
        {
            System.clearProperty("homa.overcommit");
            System.clearProperty("homa.tick");
            System.clearProperty("homa.receive.pool.bytes");
        }
    }

    @Test
    @Timeout(10)
    void limitsThrowPreciseExceptions()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
            HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
                .driver(fabric.driverAt(0)).clock(fabric.clock()).maxRpcsPerSocket(2)
                .receivePoolBytes(4L << 20).sendPoolBytes(24L * 65_536)))
        {
            final HomaSocket socket = transport.openSocket(0);
            assertEquals(HomaTransport.MIN_AUTO_PORT, socket.port());
            assertThrows(HomaException.class, () -> transport.openSocket(socket.port()));
            final UnsafeBuffer big = new UnsafeBuffer(new byte[1_000_001]);
            final HomaLimitException tooLong = assertThrows(HomaLimitException.class,
                () -> socket.homaSend(Fabric.hostAddress(1), 5, big, 0, 1_000_001, 0));
            assertTrue(tooLong.getMessage().contains("1000001") && tooLong.getMessage().contains("1000000"),
                tooLong.getMessage());
            socket.homaSend(Fabric.hostAddress(1), 5, big, 0, 1_000_000, 0);
            final HomaLimitException pool = assertThrows(HomaLimitException.class,
                () -> socket.homaSend(Fabric.hostAddress(1), 5, big, 0, 1_000_000, 0));
            assertTrue(pool.getMessage().contains("send pool"), pool.getMessage());
            socket.homaSend(Fabric.hostAddress(1), 5, big, 0, 10, 0);
            final HomaLimitException inFlight = assertThrows(HomaLimitException.class,
                () -> socket.homaSend(Fabric.hostAddress(1), 5, big, 0, 10, 0));
            assertTrue(inFlight.getMessage().contains("2 RPCs in flight"), inFlight.getMessage());
            assertThrows(HomaException.class, () -> socket.homaSend(Fabric.hostAddress(1), 5, big, 0, 0, 0));
            final HomaException virtual = assertThrows(HomaException.class,
                () -> socket.homaRecv(HomaSocket.RECV_RESPONSE, 1, TimeUnit.SECONDS));
            assertTrue(virtual.getMessage().contains("VirtualClock"), virtual.getMessage());
        }
    }

    @Test
    @Timeout(20)
    void dedicatedThreadServesBlockingCallersAndFutures() throws Exception
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build();
            HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
                .driver(fabric.driverAt(0)).threadingMode(ThreadingMode.DEDICATED)
                .idleStrategy(new SleepingIdleStrategy(TimeUnit.MICROSECONDS.toNanos(50)))
                .receivePoolBytes(8L << 20).sendPoolBytes(8L << 20)))
        {
            assertThrows(HomaException.class, transport::invoker);
            final HomaSocket server = transport.openSocket(99);
            final HomaSocket client = transport.openSocket(0);
            final long self = Fabric.hostAddress(0);
            final Thread serverThread = Thread.ofPlatform().name("echo").start(() ->
            {
                final UnsafeBuffer scratch = new UnsafeBuffer(new byte[300_000]);
                for (int i = 0; i < 3; i++)
                {
                    final HomaMessage request = server.homaRecv(HomaSocket.RECV_REQUEST, 10, TimeUnit.SECONDS);
                    assertNotNull(request);
                    assertEquals(1, request.id() & 1, "server ids are odd");
                    request.getBytes(0, scratch, 0, request.length());
                    server.homaReply(request, scratch, 0, request.length());
                    request.release();
                }
            });
            final byte[] payload = new byte[250_000];
            for (int i = 0; i < payload.length; i++)
            {
                payload[i] = (byte)(i * 31);
            }
            final long id = client.homaSend(self, 99, new UnsafeBuffer(payload), 0, payload.length, 7);
            final HomaMessage response = client.homaRecv(HomaSocket.RECV_RESPONSE, 10, TimeUnit.SECONDS);
            assertNotNull(response);
            assertEquals(id, response.id());
            assertEquals(7, response.cookie());
            assertArrayEquals(payload, response.toByteArray());
            response.release();

            final CompletableFuture<HomaMessage> future = client.call(self, 99, new UnsafeBuffer(payload), 0, 1000);
            final HomaMessage viaFuture = future.get(10, TimeUnit.SECONDS);
            assertEquals(1000, viaFuture.length());
            assertEquals(payload[999], viaFuture.getByte(999));
            viaFuture.release();
            assertNull(client.homaRecv(HomaSocket.RECV_RESPONSE), "future responses bypass homaRecv");

            // An RPC to a port nobody listens on ends at once (the host says so, as a kernel host answers with ICMP
            // port unreachable); its future fails.
            final CompletableFuture<HomaMessage> lost = client.call(self, 1234, new UnsafeBuffer(payload), 0, 10);
            final ExecutionException unreachable = assertThrows(ExecutionException.class,
                () -> lost.get(10, TimeUnit.SECONDS));
            assertInstanceOf(HomaUnreachableException.class, unreachable.getCause());
            assertEquals(0, unreachable.getCause().getStackTrace().length,
                "the protocol thread reports an error without capturing its own stack");

            client.homaSend(self, 99, new UnsafeBuffer(payload), 0, 10, 0);
            final HomaMessage last = client.homaRecv(HomaSocket.RECV_RESPONSE, 10, TimeUnit.SECONDS);
            assertNotNull(last);
            last.release();
            serverThread.join(10_000);

            // Closing the socket aborts its RPCs; a pending future fails with HomaAbortedException. (Port 99 takes the
            // request and, its server thread gone, never answers: a closed port would answer first, racing the close.)
            final CompletableFuture<HomaMessage> aborted = client.call(self, 99, new UnsafeBuffer(payload), 0, 10);
            client.close();
            final ExecutionException closed = assertThrows(ExecutionException.class,
                () -> aborted.get(10, TimeUnit.SECONDS));
            assertInstanceOf(HomaAbortedException.class, closed.getCause());
            assertEquals(0, closed.getCause().getStackTrace().length, "no stack from the protocol thread");

            final String printed = MetricsPrinter.format(transport.metrics().snapshot());
            assertTrue(printed.contains("packets_sent.DATA"), printed);
            assertTrue(transport.metrics().get(HomaMetrics.CLIENT_RPCS_COMPLETED) >= 3);
        }
    }
}
