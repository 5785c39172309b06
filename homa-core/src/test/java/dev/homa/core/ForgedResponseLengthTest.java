package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * A forged first packet of a response, in the server's name and with another length, must not hold the client RPC
 * for good. The client asks for the bytes of the forged length it lacks, the server answers a RESEND past the end of
 * its response with its first packet again, and if that packet, which disagrees on the length, were only dropped,
 * the two would keep hearing each other and the RPC would never time out.
 */
@Timeout(30)
final class ForgedResponseLengthTest
{
    private static final int RESPONSE = 100;

    @Test
    void aResponseStartedByAForgedPacketOfAnotherLengthIsRestartedByTheServersPackets()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            final HomaMetrics metrics = host.transport.engine().metrics();
            final long id = host.send(1_000);
            host.cycle();
            // Forged: 1,000 bytes of a 74,461-byte response.
            host.driver.deliver(KernelPeer.data(FakeHost.PEER_PORT, FakeHost.PORT, id ^ 1, 74_461, 10_000, 0, 1_000,
                0, 0, 0, false), FakeHost.PEER);
            host.cycle();
            // The server's real response, and again whenever the client asks for more (as a server answers a RESEND
            // past its message's end).
            host.driver.deliver(response(id, false), FakeHost.PEER);
            host.cycle();
            HomaMessage message = host.socket.homaRecv(HomaSocket.RECV_RESPONSE);
            for (int tick = 0; tick < 300 && null == message; tick++)
            {
                final int resends = host.driver.sent(PacketType.RESEND).size();
                host.tick();
                if (host.driver.sent(PacketType.RESEND).size() > resends)
                {
                    host.driver.deliver(response(id, true), FakeHost.PEER);
                    host.cycle();
                }
                message = host.socket.homaRecv(HomaSocket.RECV_RESPONSE);
            }
            assertNotNull(message, "the RPC ended");
            final HomaMessage ended = message;
            assertFalse(ended.isError(), () -> "the server's own response arrived, not " + ended.error());
            assertEquals(RESPONSE, message.length());
            assertEquals(1, metrics.get(HomaMetrics.DROP_LENGTH_MISMATCH));
            message.release();
            assertEquals(0, host.transport.engine().receivePagesInUse(), "the forged response's pages came back");
        }
    }

    private static ByteBuffer response(final long id, final boolean retransmit)
    {
        return KernelPeer.data(FakeHost.PEER_PORT, FakeHost.PORT, id ^ 1, RESPONSE, RESPONSE, 0, RESPONSE, 0, 0, 0,
            retransmit);
    }
}
