package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.HostAddress;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
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
 * silence doubles, and frees the RPC at {@code timeoutTicks}. A tick throughout which packets waited unread, or in
 * which DATA came at nearly the link's rate, counts no silence, up to three in a row.
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
            final Silence silence = tickUntilTimeout(host, 25, () -> { });
            assertEquals(List.of(3, 7, 11, 15, 19), silence.resendTicks(), "RESEND ticks");
            silence.assertTimedOut(id);
            assertEquals(20, silence.endTick(), "timed out after timeoutTicks of silence");
            assertNull(host.socket.homaRecv(HomaSocket.RECV_ANY));
        }
    }

    @Test
    void ticksWithPacketsWaitingUnreadCountNoSilenceButTheRpcStillTimesOut()
    {
        final int burst = 4;
        try (FakeHost host = new FakeHost(
            (ctx) -> ctx.pollBurst(burst).resendTicks(3).resendIntervalTicks(4).timeoutTicks(20)))
        {
            final long id = host.send(100);
            // The response of an RPC this host does not have, from a third host: read, counted and dropped.
            final long other = HostAddress.parseIpv4("10.0.0.3");
            final ByteBuffer unread = KernelPeer.data(40_000, FakeHost.PORT, 77_777, 100, 100, 0, 100, 0, 0, 0, false);
            // More than a poll takes, before every tick: packets wait unread throughout it.
            final Silence silence = tickUntilTimeout(host, 100, () ->
            {
                for (int i = 0; i <= burst; i++)
                {
                    host.driver.deliver(unread, other);
                }
            });
            // The first tick counts (the polls before it found nothing to read), then one in four: silence reaches
            // resendTicks at tick 9 and timeoutTicks at tick 77.
            assertEquals(List.of(9, 25, 41, 57, 73), silence.resendTicks(), "RESEND ticks");
            silence.assertTimedOut(id);
            assertEquals(77, silence.endTick(), "timed out after timeoutTicks of counted silence");
            assertEquals(57, host.transport.metrics().get(HomaMetrics.TIMER_BACKLOGGED_TICKS),
                "ticks that counted no silence");
        }
    }

    @Test
    void ticksInWhichDataCameAtTheLinksRateCountNoSilenceButTheRpcStillTimesOut()
    {
        try (FakeHost host = new FakeHost((ctx) -> ctx.resendTicks(3).resendIntervalTicks(4).timeoutTicks(20)))
        {
            final long id = host.send(100);
            final Silence silence = tickWhileDataComesAtTheLinksRate(host);
            // Every tick is busy, and one in four counts: silence reaches resendTicks at tick 12, timeoutTicks at 80.
            assertEquals(List.of(12, 28, 44, 60, 76), silence.resendTicks(), "RESEND ticks");
            silence.assertTimedOut(id);
            assertEquals(80, silence.endTick(), "timed out after timeoutTicks of counted silence");
            assertEquals(60, host.transport.metrics().get(HomaMetrics.TIMER_BUSY_TICKS), "busy ticks");
            assertEquals(0, host.transport.metrics().get(HomaMetrics.TIMER_BACKLOGGED_TICKS), "nothing waited unread");
        }
    }

    @Test
    void onASoftwarePathDataAtTheLinksRateLeavesSilenceCounted()
    {
        try (FakeHost host = new FakeHost((ctx) ->
        {
            ((FakeDriver)ctx.driver()).software = true;
            ctx.resendTicks(3).resendIntervalTicks(4).timeoutTicks(20);
        }))
        {
            final long id = host.send(100);
            // No network queue there for missing bytes to wait in.
            final Silence silence = tickWhileDataComesAtTheLinksRate(host);
            assertEquals(List.of(3, 7, 11, 15, 19), silence.resendTicks(), "RESEND ticks");
            silence.assertTimedOut(id);
            assertEquals(0, host.transport.metrics().get(HomaMetrics.TIMER_BUSY_TICKS), "busy ticks");
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

    /**
     * {@link #tickUntilTimeout} while DATA of an RPC this host does not have comes from a third host, all read before
     * each tick: 800 full packets a 1 ms tick are 1,184,000 bytes, more than 90% of the 10 Gb/s link's 1,250,000.
     */
    private static Silence tickWhileDataComesAtTheLinksRate(final FakeHost host)
    {
        final long other = HostAddress.parseIpv4("10.0.0.3");
        final int payload = FakeDriver.MAX_PACKET_LENGTH - KernelPeer.DATA_HEADER;
        final ByteBuffer full =
            KernelPeer.data(40_000, FakeHost.PORT, 77_777, 1_000_000, 1_000_000, 0, payload, 0, 0, 0, false);
        return tickUntilTimeout(host, 100, () ->
        {
            for (int i = 0; i < 800; i++)
            {
                host.driver.deliver(full, other);
            }
            while (!host.driver.inbound.isEmpty())
            {
                host.cycle();
            }
        });
    }

    /**
     * Tick until the client's only RPC ends or {@code maxTicks} pass, noting the ticks that sent a RESEND.
     */
    private static Silence tickUntilTimeout(final FakeHost host, final int maxTicks, final Runnable beforeTick)
    {
        final List<Integer> resendTicks = new ArrayList<>();
        HomaMessage result = null;
        int endTick = 0;
        for (int tick = 1; tick <= maxTicks && null == result; tick++)
        {
            beforeTick.run();
            final int before = host.driver.sent(PacketType.RESEND).size();
            host.tick();
            if (host.driver.sent(PacketType.RESEND).size() > before)
            {
                resendTicks.add(tick);
            }
            result = host.socket.homaRecv(HomaSocket.RECV_RESPONSE);
            endTick = tick;
        }
        return new Silence(resendTicks, result, endTick);
    }

    private record Silence(List<Integer> resendTicks, HomaMessage result, int endTick)
    {
        void assertTimedOut(final long id)
        {
            assertTrue(null != result && result.isError(), "the RPC ended with an error");
            assertEquals(id, result.id());
            assertInstanceOf(HomaTimeoutException.class, result.error());
        }
    }
}
