package dev.homa.core;

import dev.homa.core.wire.PacketType;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The end of server RPCs over a fake driver: a server keeps its RPC after the response until the client's ACK
 * frees it; a client remembers a completed RPC and piggybacks its ack on the next DATA to that server.
 */
@Timeout(30)
final class AckManagerTest
{
    private static final int CLIENT_PORT = 40_000;

    @Test
    void aServerKeepsItsRpcUntilTheClientsAck()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            final long clientId = 1_000;
            final int serverPort = host.socket.port();
            host.driver.deliver(
                KernelPeer.data(CLIENT_PORT, serverPort, clientId, 100, 100, 0, 100, 0, 0, 0, false), FakeHost.PEER);
            host.cycle();
            final HomaMessage request = host.socket.homaRecv(HomaSocket.RECV_REQUEST);
            assertNotNull(request, "the request arrived");
            host.socket.homaReply(request, new UnsafeBuffer(new byte[100]), 0, 100);
            request.release();
            host.cycle();
            assertEquals(1, host.driver.sent(PacketType.DATA).size(), "the response left");
            host.tick();
            assertEquals(1, host.transport.engine().serverRpcCount(), "kept until acknowledged");

            host.driver.deliver(KernelPeer.ack(CLIENT_PORT, serverPort, clientId), FakeHost.PEER);
            host.cycle();
            assertEquals(0, host.transport.engine().serverRpcCount(), "freed by the ACK");
        }
    }

    @Test
    void aClientPiggybacksItsAckOnTheNextRequestToThatServer()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            final long first = host.send(100);
            host.driver.deliver(KernelPeer.data(FakeHost.PEER_PORT, host.socket.port(), first | 1, 100, 100, 0, 100,
                0, 0, 0, false), FakeHost.PEER);
            host.cycle();
            final HomaMessage response = host.socket.homaRecv(HomaSocket.RECV_RESPONSE);
            assertTrue(null != response && !response.isError() && first == response.id(), "the response arrived");
            response.release();

            final long second = host.send(100);
            host.cycle();
            final List<FakeDriver.Sent> data = host.driver.sent(PacketType.DATA);
            assertEquals(List.of(first, second), data.stream().map(FakeDriver.Sent::id).toList());
            assertEquals(0, data.get(0).ackId(), "nothing to acknowledge yet");
            assertEquals(first, data.get(1).ackId(), "the second request acknowledges the first RPC");
            assertEquals(List.of(), host.driver.sent(PacketType.ACK), "no explicit ACK needed");
        }
    }
}
