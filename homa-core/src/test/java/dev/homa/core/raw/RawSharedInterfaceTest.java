package dev.homa.core.raw;

import dev.homa.core.HomaException;
import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.raw.RawEthernetDriver;
import dev.homa.test.NetnsPair;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two transports, each with its own raw driver, on one interface (as two processes on one host), talking to a server
 * across a veth pair: they share the interface's ports as sockets share a kernel host's. Automatic ports differ, an
 * explicit port held by one is refused to the other, each driver receives only its own transport's packets, a
 * request to a port nobody holds is still answered with ICMP port unreachable (once), and a port comes free when its
 * socket closes. All three transports run in INVOKER mode on this thread.
 */
class RawSharedInterfaceTest
{
    private static final long LIMIT_NS = TimeUnit.SECONDS.toNanos(10);
    private static final int SERVER_PORT = 4000;
    private static final int RPCS = 20;
    private static final int LENGTH = 30_000;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void twoTransportsShareAnInterfacesPorts() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        try (NetnsPair pair = NetnsPair.create("hrawshr", 14))
        {
            final RawEthernetDriver firstDriver = driver(pair.ifA(), pair.nsA());
            final RawEthernetDriver secondDriver = driver(pair.ifA(), pair.nsA());
            final RawEthernetDriver serverDriver = driver(pair.ifB(), pair.nsB());
            final long serverAddress = serverDriver.localAddress();
            try (HomaTransport first = HomaTransport.launch(context(firstDriver));
                HomaTransport second = HomaTransport.launch(context(secondDriver));
                HomaTransport server = HomaTransport.launch(context(serverDriver)))
            {
                final HomaTransport[] all = { first, second, server };
                final HomaSocket serverSocket = server.openSocket(SERVER_PORT);
                final HomaSocket a = first.openSocket(0);
                final HomaSocket b = second.openSocket(0);
                assertNotEquals(a.port(), b.port(), "automatic ports are the host's, not the transport's");
                assertTrue(firstDriver.answersForInterface() != secondDriver.answersForInterface(),
                    "one driver answers for the interface");

                final HomaSocket held = first.openSocket(5000);
                final HomaException refused = assertThrows(HomaException.class, () -> second.openSocket(5000));
                assertTrue(refused.getMessage().contains("in use"), refused.getMessage());
                assertArrayEquals(new int[] { 5000, a.port() }, firstDriver.claimedPorts());
                assertArrayEquals(new int[] { b.port() }, secondDriver.claimedPorts());

                // Both clients at once: every response reaches the transport that asked, and no driver takes in
                // the other's packets.
                final UnsafeBuffer request = new UnsafeBuffer(new byte[LENGTH]);
                for (int i = 0; i < RPCS; i++)
                {
                    request.setMemory(0, LENGTH, (byte)i);
                    a.homaSend(serverAddress, SERVER_PORT, request, 0, LENGTH, i);
                    b.homaSend(serverAddress, SERVER_PORT, request, 0, LENGTH, i);
                    for (int answered = 0; answered < 2; answered++)
                    {
                        final HomaMessage r = await(serverSocket, HomaSocket.RECV_REQUEST, all);
                        serverSocket.homaReply(r, r);
                    }
                    for (final HomaSocket client : new HomaSocket[] { a, b })
                    {
                        final HomaMessage response = await(client, HomaSocket.RECV_RESPONSE, all);
                        assertFalse(response.isError(), String.valueOf(response.error()));
                        assertEquals(LENGTH, response.length());
                        assertEquals((byte)i, response.getByte(LENGTH - 1));
                        response.release();
                    }
                }
                assertEquals(0, first.metrics().get(HomaMetrics.DROP_UNKNOWN_PORT) +
                    second.metrics().get(HomaMetrics.DROP_UNKNOWN_PORT), "no packet for another transport's port");
                assertEquals(0, firstDriver.counters().rxOtherDriverPort() +
                    secondDriver.counters().rxOtherDriverPort(), "none even through a changing filter");

                // The server asks a port nobody holds on the clients' host: one driver answers, with ICMP.
                final long toNobody = serverSocket.homaSend(firstDriver.localAddress(), 6000, request, 0, 100, 0);
                final HomaMessage unreachable = await(serverSocket, HomaSocket.RECV_RESPONSE, all);
                assertEquals(toNobody, unreachable.id());
                assertTrue(unreachable.isError());
                unreachable.release();
                assertEquals(1, firstDriver.counters().txPortUnreachable() +
                    secondDriver.counters().txPortUnreachable(), "answered once, by the driver that answers");

                held.close();
                assertEquals(5000, second.openSocket(5000).port(), "free once its socket closed");
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aDriverThatSeesEveryPortAnswersForNoneOfAnothers() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        try (NetnsPair pair = NetnsPair.create("hrawshr", 14))
        {
            // A fanout group's driver keeps the filter on every port, so it receives the other driver's packets.
            final RawEthernetDriver wide = driver(pair.ifA(), pair.nsA(), "&fanout=77");
            final RawEthernetDriver narrow = driver(pair.ifA(), pair.nsA(), "");
            final RawEthernetDriver serverDriver = driver(pair.ifB(), pair.nsB(), "");
            try (HomaTransport first = HomaTransport.launch(context(wide));
                HomaTransport second = HomaTransport.launch(context(narrow));
                HomaTransport server = HomaTransport.launch(context(serverDriver)))
            {
                final HomaTransport[] all = { first, second, server };
                final HomaSocket serverSocket = server.openSocket(SERVER_PORT);
                first.openSocket(0);
                final HomaSocket client = second.openSocket(0);
                final UnsafeBuffer request = new UnsafeBuffer(new byte[LENGTH]);
                for (int i = 0; i < RPCS; i++)
                {
                    client.homaSend(serverDriver.localAddress(), SERVER_PORT, request, 0, LENGTH, i);
                    final HomaMessage r = await(serverSocket, HomaSocket.RECV_REQUEST, all);
                    serverSocket.homaReply(r, r);
                    final HomaMessage response = await(client, HomaSocket.RECV_RESPONSE, all);
                    assertFalse(response.isError(), String.valueOf(response.error()));
                    response.release();
                }
                assertTrue(wide.counters().rxOtherDriverPort() > 0, "it saw the other's packets");
                assertEquals(0, wide.counters().txPortUnreachable(), "and answered none");
            }
        }
    }

    private static RawEthernetDriver driver(final String name, final String netns)
    {
        return driver(name, netns, "");
    }

    private static RawEthernetDriver driver(final String name, final String netns, final String options)
    {
        return RawEthernetDriver.fromUri("raw://" + name + "?netns=" + netns + "&pool=512" + options);
    }

    private static HomaTransport.Context context(final RawEthernetDriver driver)
    {
        return new HomaTransport.Context().driver(driver).ownsDriver(true).threadingMode(ThreadingMode.INVOKER)
            .resendTicks(500).timeoutTicks(5_000).receivePoolBytes(8L << 20).sendPoolBytes(8L << 20);
    }

    private static HomaMessage await(final HomaSocket socket, final int flags, final HomaTransport... transports)
    {
        final long deadline = System.nanoTime() + LIMIT_NS;
        while (System.nanoTime() - deadline < 0)
        {
            for (final HomaTransport transport : transports)
            {
                transport.doWork();
            }
            final HomaMessage message = socket.homaRecv(flags);
            if (null != message)
            {
                return message;
            }
        }
        fail("nothing within " + LIMIT_NS / 1_000_000 + " ms");
        return null;
    }
}
