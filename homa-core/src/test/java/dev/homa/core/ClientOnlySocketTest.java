package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * A socket on a port the transport picked is a client only, as a kernel socket is until it is bound
 * (homa_dispatch_pkts refuses packets for server RPCs at a socket that is not a server): a request sent to it is
 * refused like one for a closed port, and leaves no RPC, no page and nothing for the application, while the same
 * request to a socket on a port the application chose is served. Without the rule, anyone could pin server RPCs and
 * receive-pool pages on a client's socket, which no application reads requests from.
 */
@Timeout(30)
final class ClientOnlySocketTest
{
    private static final int CLIENT_PORT = 40_000;

    @Test
    void aRequestToAClientOnlySocketIsRefusedAsForAClosedPort()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            final HomaSocket clientOnly = host.transport.openSocket(0);
            host.cycle();
            final HomaMetrics metrics = host.transport.engine().metrics();

            host.driver.deliver(
                KernelPeer.data(CLIENT_PORT, clientOnly.port(), 2, 100, 100, 0, 100, 0, 0, 0, false), FakeHost.PEER);
            host.cycle();
            assertNull(clientOnly.homaRecv(HomaSocket.RECV_REQUEST), "no request delivered");
            assertEquals(0, host.transport.engine().rpcCount(), "no server RPC");
            assertEquals(0, host.transport.engine().receivePagesInUse(), "no page held");
            assertEquals(1, metrics.get(HomaMetrics.DROP_UNKNOWN_PORT), "counted as for a closed port");
            assertEquals(1, host.driver.sent(PacketType.RPC_UNKNOWN).size(), "the sender is told, as for a closed one");

            // The same request to the socket on the port the application chose is served.
            host.driver.deliver(
                KernelPeer.data(CLIENT_PORT, FakeHost.PORT, 4, 100, 100, 0, 100, 0, 0, 0, false), FakeHost.PEER);
            host.cycle();
            final HomaMessage request = host.socket.homaRecv(HomaSocket.RECV_REQUEST);
            assertNotNull(request, "a bound socket takes requests");
            host.socket.homaReply(request, new UnsafeBuffer(new byte[100]), 0, 100);
            request.release();
            host.cycle();
            assertEquals(1, host.driver.sent(PacketType.DATA).size(), "and answers them");
        }
    }

    @Test
    void aClientOnlySocketStillGetsItsResponses()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            final HomaSocket clientOnly = host.transport.openSocket(0);
            final long id = clientOnly.homaSend(FakeHost.PEER, FakeHost.PEER_PORT, new UnsafeBuffer(new byte[100]), 0,
                100, 0);
            host.cycle();
            host.driver.deliver(
                KernelPeer.data(FakeHost.PEER_PORT, clientOnly.port(), id ^ 1, 50, 50, 0, 50, 0, 0, 0, false),
                FakeHost.PEER);
            host.cycle();
            final HomaMessage response = clientOnly.homaRecv(HomaSocket.RECV_RESPONSE);
            assertNotNull(response, "the response arrived");
            assertEquals(50, response.length());
            response.release();
        }
    }
}
