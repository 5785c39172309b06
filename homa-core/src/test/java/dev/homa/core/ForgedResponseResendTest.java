package dev.homa.core;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A client stops sending its request once response bytes arrive, since a server answers only whole requests. A
 * forged first response packet must not stop it for good: when the server asks for request bytes that were granted
 * and not yet sent, they go out (a kernel client sends its granted bytes whatever its state).
 */
@Timeout(30)
final class ForgedResponseResendTest
{
    private static final int REQUEST = 5_000;

    @Test
    void aForgedResponseDoesNotStopTheRequestTheServerStillAsksFor()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            host.driver.queuedBytes = 1L << 30;
            final long id = host.send(REQUEST);
            host.cycle();
            assertEquals(0, host.driver.sent(PacketType.DATA).size(), "nothing leaves while the NIC queue is full");
            // Forged: a response has begun, so the client takes it that the server has the whole request.
            host.driver.deliver(KernelPeer.data(FakeHost.PEER_PORT, FakeHost.PORT, id ^ 1, 1_000, 1_000, 0, 100, 0, 0,
                0, false), FakeHost.PEER);
            host.driver.queuedBytes = 0;
            host.cycle();
            host.cycle();
            assertEquals(0, host.driver.sent(PacketType.DATA).size(), "the request stopped");

            // The server, which has none of it, asks for it.
            host.driver.deliver(KernelPeer.resend(FakeHost.PEER_PORT, FakeHost.PORT, id ^ 1, 0, REQUEST, 0),
                FakeHost.PEER);
            host.cycle();
            host.cycle();
            final int sent = host.driver.sent(PacketType.DATA).stream()
                .mapToInt((packet) -> packet.bytes().length - DataHeaderFlyweight.HEADER_LENGTH).sum();
            assertEquals(REQUEST, sent, "every byte asked for went out");
        }
    }
}
