package dev.homa.core.raw;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.HomaUnreachableException;
import dev.homa.core.ThreadingMode;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.test.NetnsPair;
import dev.homa.nic.raw.RawEthernetDriver;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * "Nothing listens there" over raw Ethernet, with real ICMP between two namespaces: a request to a port without a
 * socket draws ICMP port unreachable from the server's driver (as a kernel host answers) and the client's RPC ends at
 * once; a request to a host that runs no Homa at all draws the kernel's own ICMP protocol unreachable, with the same
 * effect. Both transports run in INVOKER mode on this thread.
 */
class RawUnreachableTest
{
    private static final long LIMIT_NS = TimeUnit.SECONDS.toNanos(10);

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void closedPortAndHomalessHostEndRpcsAtOnce() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        try (NetnsPair pair = NetnsPair.create("hrawicmp", 11))
        {
            final RawEthernetDriver clientDriver = RawEthernetDriver.fromUri(
                "raw://" + pair.ifA() + "?netns=" + pair.nsA() + "&pool=256");
            final RawEthernetDriver serverDriver = RawEthernetDriver.fromUri(
                "raw://" + pair.ifB() + "?netns=" + pair.nsB() + "&pool=256");
            final long serverAddress = serverDriver.localAddress();
            try (HomaTransport client = HomaTransport.launch(context(clientDriver));
                HomaTransport server = HomaTransport.launch(context(serverDriver)))
            {
                server.openSocket(4000);
                final HomaSocket socket = client.openSocket(0);
                final UnsafeBuffer request = new UnsafeBuffer(new byte[200]);

                final long toClosedPort = socket.homaSend(serverAddress, 4001, request, 0, 200, 0);
                final HomaMessage portError = await(socket, client, server);
                assertEquals(toClosedPort, portError.id());
                final HomaUnreachableException port = assertInstanceOf(HomaUnreachableException.class,
                    portError.error());
                assertTrue(port.getMessage().contains("port unreachable"), port.getMessage());
                portError.release();
                assertEquals(1, serverDriver.counters().txPortUnreachable(), "the server's driver sent ICMP");
                assertEquals(1, clientDriver.counters().rxUnreachable(), "the client's driver heard it");

                // The server host stops running Homa (its transport closes its driver and with it the socket that
                // kept its kernel quiet): the kernel answers protocol 146 with ICMP protocol unreachable.
                server.close();
                final long toHomaless = socket.homaSend(serverAddress, 4000, request, 0, 200, 0);
                final HomaMessage hostError = await(socket, client, null);
                assertEquals(toHomaless, hostError.id());
                final HomaUnreachableException host = assertInstanceOf(HomaUnreachableException.class,
                    hostError.error());
                assertTrue(host.getMessage().contains("runs no Homa"), host.getMessage());
                hostError.release();
                assertEquals(0, client.metrics().get(HomaMetrics.CLIENT_TIMEOUTS), "nothing waited for a timeout");
            }
        }
    }

    private static HomaTransport.Context context(final RawEthernetDriver driver)
    {
        // A cold JIT stalls a duty cycle for milliseconds; with the first RESEND after 5 ms of silence the client then
        // probes the server before it handles the ICMP, and the probe draws a second ICMP. As in UdpRpcTest's closed
        // port, the first RESEND waits half a second: each exchange is one request and one answer.
        return new HomaTransport.Context().driver(driver).ownsDriver(true).threadingMode(ThreadingMode.INVOKER)
            .resendTicks(500).timeoutTicks(5_000).receivePoolBytes(4L << 20).sendPoolBytes(4L << 20);
    }

    private static HomaMessage await(final HomaSocket socket, final HomaTransport client, final HomaTransport server)
    {
        final long deadline = System.nanoTime() + LIMIT_NS;
        while (System.nanoTime() - deadline < 0)
        {
            client.doWork();
            if (null != server)
            {
                server.doWork();
            }
            final HomaMessage message = socket.homaRecv(HomaSocket.RECV_RESPONSE);
            if (null != message)
            {
                assertTrue(message.isError(), "an error, not a response");
                assertNotNull(message.error());
                return message;
            }
        }
        fail("no answer within " + LIMIT_NS / 1_000_000 + " ms");
        return null;
    }
}
