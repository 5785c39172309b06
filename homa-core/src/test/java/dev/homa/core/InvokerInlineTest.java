package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.NicDriver;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * INVOKER mode: the thread that drives the duty cycle sends, replies and releases inline between duty cycles; any
 * other caller, and any call from inside a duty cycle, is queued for the next one; a second invoking thread turns
 * inline work off.
 */
@Timeout(20)
class InvokerInlineTest
{
    private static final int PORT = 99;

    private Fabric fabric;
    private HomaTransport client;
    private HomaTransport server;
    private HomaSocket clientSocket;
    private HomaSocket serverSocket;
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[100]);

    @BeforeEach
    void setUp()
    {
        fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
        client = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(0)).clock(fabric.clock())
            .threadingMode(ThreadingMode.INVOKER));
        server = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(1)).clock(fabric.clock())
            .threadingMode(ThreadingMode.INVOKER));
        clientSocket = client.openSocket(0);
        serverSocket = server.openSocket(PORT);
    }

    @AfterEach
    void tearDown()
    {
        client.close();
        server.close();
        fabric.close();
    }

    @Test
    void theInvokingThreadSendsRepliesAndReleasesInline()
    {
        client.doWork();
        server.doWork();

        clientSocket.homaSend(Fabric.hostAddress(1), PORT, buffer, 0, 100, 1);
        assertEquals(1, dataSent(client), "the request left inside homaSend");

        server.doWork();
        final HomaMessage request = serverSocket.homaRecv(HomaSocket.RECV_REQUEST);
        assertNotNull(request);
        serverSocket.homaReply(request, buffer, 0, 100);
        assertEquals(1, dataSent(server), "the reply left inside homaReply");
        request.release();

        client.doWork();
        final HomaMessage response = clientSocket.homaRecv(HomaSocket.RECV_RESPONSE);
        assertNotNull(response);
        assertEquals(1, client.engine().receivePagesInUse());
        response.release();
        assertEquals(0, client.engine().receivePagesInUse(), "pages freed inside release()");
    }

    @Test
    void anotherThreadIsQueuedUntilTheNextDutyCycle() throws Exception
    {
        client.doWork();
        final CompletableFuture<Long> sent = CompletableFuture.supplyAsync(
            () -> clientSocket.homaSend(Fabric.hostAddress(1), PORT, buffer, 0, 100, 1));
        sent.get(10, TimeUnit.SECONDS);
        assertEquals(0, dataSent(client), "nothing left before the protocol thread ran");
        client.doWork();
        assertEquals(1, dataSent(client));
    }

    @Test
    void aCallFromInsideTheDutyCycleIsQueued() throws Exception
    {
        client.doWork();
        final AtomicReference<Long> dataAtCallback = new AtomicReference<>();
        final CompletableFuture<HomaMessage> first = clientSocket.call(Fabric.hostAddress(1), PORT, buffer, 0, 100);
        final CompletableFuture<Void> second = first.thenAccept(response ->
        {
            // Runs on the protocol thread inside client.doWork(): must not re-enter the engine.
            response.release();
            dataAtCallback.set(dataSent(client));
            clientSocket.homaSend(Fabric.hostAddress(1), PORT, buffer, 0, 100, 2);
        });
        assertEquals(1, dataSent(client));
        echoOnce();
        client.doWork();
        second.get(10, TimeUnit.SECONDS);
        assertEquals(1, dataAtCallback.get());
        assertEquals(1, dataSent(client), "queued: not sent from inside the callback");
        client.doWork();
        assertEquals(2, dataSent(client), "sent by the next duty cycle");
    }

    @Test
    void aSecondInvokingThreadTurnsInlineWorkOff() throws InterruptedException, ExecutionException, TimeoutException
    {
        client.doWork();
        CompletableFuture.runAsync(client::doWork).get(10, TimeUnit.SECONDS);
        clientSocket.homaSend(Fabric.hostAddress(1), PORT, buffer, 0, 100, 1);
        assertEquals(0, dataSent(client), "queued once two threads have driven the duty cycle");
        client.doWork();
        assertEquals(1, dataSent(client));
        assertNull(clientSocket.homaRecv(HomaSocket.RECV_RESPONSE));
    }

    @Test
    void aTransmitFailureAfterTheMessageWasTakenGoesToTheErrorHandler()
    {
        final List<Throwable> errors = new ArrayList<>();
        final FailingFlush driver = new FailingFlush(fabric.driverAt(0));
        try (HomaTransport failing = HomaTransport.launch(new HomaTransport.Context().driver(driver)
            .clock(fabric.clock()).threadingMode(ThreadingMode.INVOKER).errorHandler(errors::add)))
        {
            client.close();
            final HomaSocket socket = failing.openSocket(0);
            failing.doWork();
            driver.failNext = true;
            final long id = socket.homaSend(Fabric.hostAddress(1), PORT, buffer, 0, 100, 1);
            assertEquals(0, id & 1, "homaSend returned the RPC id: the message was taken");
            assertEquals(1, errors.size(), "the failure went to the error handler");
            assertEquals("flush failed", errors.get(0).getMessage());
            assertEquals(1, failing.metrics().get(HomaMetrics.ERRORS));
            assertEquals(1, socket.outstandingRpcs());
        }
    }

    /** A fabric driver whose next flush throws once. */
    private static final class FailingFlush extends ForwardingNicDriver
    {
        boolean failNext;

        FailingFlush(final NicDriver delegate)
        {
            super(delegate);
        }

        @Override
        public int flush()
        {
            if (failNext)
            {
                failNext = false;
                throw new IllegalStateException("flush failed");
            }
            return super.flush();
        }
    }

    private void echoOnce()
    {
        server.doWork();
        final HomaMessage request = serverSocket.homaRecv(HomaSocket.RECV_REQUEST);
        assertNotNull(request);
        serverSocket.homaReply(request, buffer, 0, request.length());
        request.release();
        server.doWork();
    }

    private static long dataSent(final HomaTransport transport)
    {
        return transport.metrics().packetsSent(PacketType.DATA);
    }
}
