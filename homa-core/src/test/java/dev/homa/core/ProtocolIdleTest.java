package dev.homa.core;

import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.NicDriver;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.udp.UdpDriver;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How threads wait for the protocol: an idle DEDICATED protocol thread sleeps in its driver and is woken by the
 * application's commands; an application thread parked in a blocking {@code homaRecv} is woken by the delivery of
 * a result it accepts, and polls instead while the protocol thread is awake. Each test would hang into its JUnit
 * timeout (or a far longer receive timeout) if the wake-up were lost.
 */
class ProtocolIdleTest
{
    private static final int PORT = 99;
    private static final int MAX_ATTEMPTS = 20;
    private static final long AWAKE_WATCH_NS = 20_000_000;

    /**
     * Counts how often the protocol thread slept in the driver and how often someone woke it.
     */
    static final class CountingDriver extends ForwardingNicDriver
    {
        final AtomicInteger waits = new AtomicInteger();
        final AtomicInteger wakeups = new AtomicInteger();
        volatile boolean waiting;

        CountingDriver(final NicDriver delegate)
        {
            super(delegate);
        }

        @Override
        public int awaitReadable(final long maxWaitNs)
        {
            waits.incrementAndGet();
            waiting = true;
            try
            {
                return super.awaitReadable(maxWaitNs);
            }
            finally
            {
                waiting = false;
            }
        }

        @Override
        public void wakeup()
        {
            wakeups.incrementAndGet();
            super.wakeup();
        }
    }

    @Test
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aWaiterPollsWhileTheProtocolThreadIsAwakeAndParksOnceItSleeps() throws Exception
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            // The protocol thread cannot sleep in the driver at first, so it stays awake (parking briefly between duty
            // cycles); then it may, and sleeps until woken.
            final SleepDriver driver = new SleepDriver(fabric.driverAt(0), false, true);
            // The fabric's virtual clock never moves here: no spin runs out by time, so only the protocol thread's
            // being awake or asleep decides whether the waiter polls or parks.
            try (HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
                .driver(driver).clock(fabric.clock()).threadingMode(ThreadingMode.DEDICATED).idleSpinNs(0)
                .receivePoolBytes(8L << 20).sendPoolBytes(8L << 20)))
            {
                final HomaSocket socket = transport.openSocket(PORT);
                final AtomicReference<HomaMessage> received = new AtomicReference<>();
                final Thread waiter = new Thread(() ->
                    received.set(socket.homaRecv(HomaSocket.RECV_ANY, 10, TimeUnit.SECONDS)), "waiter");
                waiter.start();
                final long watchEndNs = System.nanoTime() + AWAKE_WATCH_NS;
                while (System.nanoTime() - watchEndNs < 0)
                {
                    assertNotEquals(Thread.State.TIMED_WAITING, waiter.getState(),
                        "the waiter parked while the protocol thread was awake");
                }

                driver.canSleep = true;
                while (Thread.State.TIMED_WAITING != waiter.getState())
                {
                    Thread.onSpinWait();
                }
                socket.close();
                waiter.join();
                assertNull(received.get());
            }
        }
    }

    @Test
    @Timeout(30)
    void anIdleProtocolThreadSleepsInItsDriverAndACommandWakesIt() throws Exception
    {
        final CountingDriver clientDriver = new CountingDriver(UdpDriver.fromUri("udp://127.0.0.1:0"));
        try (HomaTransport server = HomaTransport.launch(new HomaTransport.Context()
                .driverUri("udp://127.0.0.1:0").threadingMode(ThreadingMode.DEDICATED));
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context()
                .driver(clientDriver).threadingMode(ThreadingMode.DEDICATED)
                .idleSpinNs(0)))
        {
            final HomaSocket serverSocket = server.openSocket(PORT);
            final HomaSocket clientSocket = client.openSocket(0);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[] { 1, 2, 3 });
            // Idle: the protocol thread goes to sleep in epoll rather than spinning or parking on a timer. It also
            // wakes on its own at each timer tick, so a command may find it just awake: try again until one is
            // sent while it sleeps (a thread that is never woken fails every attempt).
            boolean woken = false;
            int sent = 0;
            while (!woken && sent < MAX_ATTEMPTS)
            {
                while (!clientDriver.waiting)
                {
                    Thread.onSpinWait();
                }
                final int wakeupsBefore = clientDriver.wakeups.get();
                clientSocket.homaSend(server.context().driver().localAddress(), PORT, request, 0, 3, 7L + sent);
                sent++;
                woken = clientDriver.wakeups.get() > wakeupsBefore;
            }
            assertTrue(woken, "a command woke the sleeping protocol thread (" + sent + " attempts)");

            for (int i = 0; i < sent; i++)
            {
                final HomaMessage req = serverSocket.homaRecv(HomaSocket.RECV_REQUEST, 10, TimeUnit.SECONDS);
                assertNotNull(req);
                serverSocket.homaReply(req, request, 0, 3);
                req.release();
            }
            long cookies = 0;
            for (int i = 0; i < sent; i++)
            {
                final HomaMessage resp = clientSocket.homaRecv(HomaSocket.RECV_RESPONSE, 10, TimeUnit.SECONDS);
                assertNotNull(resp);
                cookies += resp.cookie();
                resp.release();
            }
            assertEquals(7L * sent + (long)sent * (sent - 1) / 2, cookies, "every response, each with its cookie");
            assertTrue(clientDriver.waits.get() > 0);
        }
    }

    @Test
    @Timeout(20)
    void aThreadParkedInHomaRecvIsWokenByTheDeliveryItWaitsFor() throws Exception
    {
        try (HomaTransport server = HomaTransport.launch(new HomaTransport.Context()
                .driverUri("udp://127.0.0.1:0").threadingMode(ThreadingMode.DEDICATED).idleSpinNs(0));
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context()
                .driverUri("udp://127.0.0.1:0").threadingMode(ThreadingMode.DEDICATED)))
        {
            final HomaSocket serverSocket = server.openSocket(PORT);
            final HomaSocket clientSocket = client.openSocket(0);
            final AtomicReference<HomaMessage> received = new AtomicReference<>();
            // A receive timeout far beyond the test's own: only a wake-up can end it in time.
            final Thread receiver = new Thread(() ->
                received.set(serverSocket.homaRecv(HomaSocket.RECV_REQUEST, 10, TimeUnit.MINUTES)), "receiver");
            receiver.start();
            while (Thread.State.TIMED_WAITING != receiver.getState())
            {
                Thread.onSpinWait();
            }

            final UnsafeBuffer request = new UnsafeBuffer(new byte[] { 4, 5 });
            clientSocket.homaSend(server.context().driver().localAddress(), PORT, request, 0, 2, 0L);
            receiver.join();
            final HomaMessage req = received.get();
            assertNotNull(req, "the parked receiver got the request");
            assertEquals(2, req.length());
            req.release();
        }
    }

    @Test
    @Timeout(20)
    void closingTheSocketWakesItsParkedReceivers() throws Exception
    {
        try (HomaTransport server = HomaTransport.launch(new HomaTransport.Context()
                .driverUri("udp://127.0.0.1:0").threadingMode(ThreadingMode.DEDICATED).idleSpinNs(0)))
        {
            final HomaSocket socket = server.openSocket(PORT);
            final AtomicReference<HomaMessage> received = new AtomicReference<>();
            final Thread receiver = new Thread(() ->
                received.set(socket.homaRecv(HomaSocket.RECV_ANY, 10, TimeUnit.MINUTES)), "receiver");
            receiver.start();
            while (Thread.State.TIMED_WAITING != receiver.getState())
            {
                Thread.onSpinWait();
            }
            socket.close();
            receiver.join();
            assertNull(received.get());
        }
    }
}
