package dev.homa.core;

import dev.homa.core.wire.PacketType;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The RPC timer over a fake driver: a client whose server stays silent asks for the response after
 * {@code resendTicks}, again every {@code resendIntervalTicks}, and ends with a timeout at {@code timeoutTicks}; a
 * server whose response has left asks for the client's ACK after {@code requestAckTicks} and then each time the
 * silence doubles, and frees the RPC at {@code timeoutTicks}.
 */
@Timeout(30)
final class RpcTimerTest
{
    @Test
    void aSilentServerDrawsResendsOnScheduleThenTheRpcTimesOut()
    {
        try (FakeHost host = new FakeHost((ctx) -> ctx.resendTicks(3).resendIntervalTicks(4).timeoutTicks(20)))
        {
            final long id = host.send(100);
            assertEquals(1, host.driver.sent(PacketType.DATA).size(), "the request left");
            final List<Integer> resendTicks = new ArrayList<>();
            HomaMessage result = null;
            int endTick = 0;
            for (int tick = 1; tick <= 25 && null == result; tick++)
            {
                final int before = host.driver.sent(PacketType.RESEND).size();
                host.tick();
                if (host.driver.sent(PacketType.RESEND).size() > before)
                {
                    resendTicks.add(tick);
                }
                result = host.socket.homaRecv(HomaSocket.RECV_RESPONSE);
                endTick = tick;
            }
            assertEquals(List.of(3, 7, 11, 15, 19), resendTicks, "RESEND ticks");
            assertTrue(null != result && result.isError(), "the RPC ended with an error");
            assertEquals(id, result.id());
            assertInstanceOf(HomaTimeoutException.class, result.error());
            assertEquals(20, endTick, "timed out after timeoutTicks of silence");
            assertNull(host.socket.homaRecv(HomaSocket.RECV_ANY));
        }
    }

    @Test
    void aServerAsksForItsAckAtDoublingIntervalsThenGivesUp()
    {
        try (FakeHost host = new FakeHost((ctx) -> ctx.requestAckTicks(2).timeoutTicks(40)))
        {
            final int serverPort = host.socket.port();
            host.driver.deliver(KernelPeer.data(40_000, serverPort, 1_000, 100, 100, 0, 100, 0, 0, 0, false),
                FakeHost.PEER);
            host.cycle();
            final HomaMessage request = host.socket.homaRecv(HomaSocket.RECV_REQUEST);
            host.socket.homaReply(request, new UnsafeBuffer(new byte[100]), 0, 100);
            request.release();
            host.cycle();
            assertEquals(1, host.driver.sent(PacketType.DATA).size(), "the response left");

            final List<Integer> needAckTicks = new ArrayList<>();
            int endTick = 0;
            for (int tick = 1; tick <= 50 && 0 == endTick; tick++)
            {
                final int before = host.driver.sent(PacketType.NEED_ACK).size();
                host.tick();
                if (host.driver.sent(PacketType.NEED_ACK).size() > before)
                {
                    needAckTicks.add(tick);
                }
                if (0 == host.transport.engine().serverRpcCount())
                {
                    endTick = tick;
                }
            }
            assertEquals(List.of(2, 4, 8, 16, 32), needAckTicks, "NEED_ACK ticks");
            assertEquals(40, endTick, "freed after timeoutTicks without an ACK");
        }
    }
}
