package dev.homa.core;

import dev.homa.core.wire.PacketType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A server whose RPC was started by a forged packet of another length asks the client for bytes past the end of
 * the client's request. The client answers with its first packet again, which shows the server the real length
 * (and the server then ends the contested RPC), never with BUSY, which would keep both waiting for good.
 */
@Timeout(30)
final class ForgedLengthResendTest
{
    @Test
    void aResendPastTheMessagesEndDrawsTheFirstPacketNotBusy()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            final long id = host.send(1_000);
            host.cycle();
            assertEquals(1, host.driver.sent(PacketType.DATA).size(), "the request left");

            host.driver.deliver(resend(id ^ 1, 1_202, 5_000), FakeHost.PEER);
            host.cycle();
            assertEquals(0, host.driver.sent(PacketType.BUSY).size(), "no BUSY for bytes the message does not have");
            assertEquals(2, host.driver.sent(PacketType.DATA).size(), "the first packet again");
            assertEquals(0, host.driver.sent(PacketType.DATA).get(1).offset(), "from the message's start");
        }
    }

    private static ByteBuffer resend(final long senderId, final int offset, final int length)
    {
        return KernelPeer.resend(FakeHost.PEER_PORT, FakeHost.PORT, senderId, offset, length, 0);
    }
}
