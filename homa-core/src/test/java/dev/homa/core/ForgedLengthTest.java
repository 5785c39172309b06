package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * A forged first packet that names a client's next request (its host, port and id, all easy to guess) with another
 * length must not hold that request for good: the client's own packets, which disagree on the length, end the
 * server RPC, and the client's next packet starts the request afresh.
 */
@Timeout(30)
final class ForgedLengthTest
{
    private static final int CLIENT_PORT = 40_000;
    private static final long ID = 2;

    @Test
    void aRequestStartedByAForgedPacketOfAnotherLengthIsRestartedByTheClient()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            final HomaMetrics metrics = host.transport.engine().metrics();
            // Forged: 1,000 bytes of a 74,461-byte message.
            host.driver.deliver(KernelPeer.data(CLIENT_PORT, FakeHost.PORT, ID, 74_461, 10_000, 0, 1_000, 0, 0, 0,
                false), FakeHost.PEER);
            host.cycle();
            assertEquals(1, host.transport.engine().serverRpcCount(), "the forged packet started a request");

            // The client's real 100-byte request.
            host.driver.deliver(
                KernelPeer.data(CLIENT_PORT, FakeHost.PORT, ID, 100, 100, 0, 100, 0, 0, 0, false), FakeHost.PEER);
            host.cycle();
            assertEquals(1, metrics.get(HomaMetrics.DROP_LENGTH_MISMATCH));
            assertEquals(0, host.transport.engine().serverRpcCount(), "two lengths for one request: it ends");
            assertEquals(0, host.transport.engine().receivePagesInUse(), "and gives back its pages");
            assertNull(host.socket.homaRecv(HomaSocket.RECV_REQUEST));

            // The client sends it again (as after RPC_UNKNOWN): it is served.
            host.driver.deliver(
                KernelPeer.data(CLIENT_PORT, FakeHost.PORT, ID, 100, 100, 0, 100, 0, 0, 0, true), FakeHost.PEER);
            host.cycle();
            final HomaMessage request = host.socket.homaRecv(HomaSocket.RECV_REQUEST);
            assertNotNull(request, "the real request arrived");
            assertEquals(100, request.length());
            request.release();
        }
    }
}
