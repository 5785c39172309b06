package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.UnreachableNotice;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A port-unreachable notice names one port, port 0 included: a host answers that way any packet sent to its port 0
 * (one forged RESEND from "port 0" of a client draws it from the server), and reading it as "the whole host" would
 * end every RPC with that host. Only the host-level codes (protocol, host, network unreachable) end them all.
 */
@Timeout(30)
final class PortZeroNoticeTest
{
    @Test
    void portZeroUnreachableEndsNoRpcOnOtherPortsButHostUnreachableEndsThemAll()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            final long id = host.send(100);
            host.cycle();
            final HomaMetrics metrics = host.transport.engine().metrics();

            host.driver.deliver(notice(0, UnreachableNotice.PORT), FakeHost.PEER);
            host.cycle();
            assertEquals(0, metrics.get(HomaMetrics.RPCS_UNREACHABLE), "port 0 is not the RPC's port");
            assertEquals(1, host.transport.engine().rpcCount(), "the RPC goes on");

            host.driver.deliver(notice(0, UnreachableNotice.PROTOCOL), FakeHost.PEER);
            host.cycle();
            assertEquals(1, metrics.get(HomaMetrics.RPCS_UNREACHABLE));
            final HomaMessage error = host.socket.homaRecv(HomaSocket.RECV_RESPONSE);
            assertNotNull(error);
            assertEquals(id, error.id());
            assertTrue(error.error() instanceof HomaUnreachableException, String.valueOf(error.error()));
            error.release();
        }
    }

    private static ByteBuffer notice(final int unreachablePort, final int code)
    {
        final ByteBuffer bytes = ByteBuffer.allocate(UnreachableNotice.LENGTH);
        UnreachableNotice.write(new UnsafeBuffer(bytes), unreachablePort, FakeHost.PORT, 0, code);
        return bytes;
    }
}
