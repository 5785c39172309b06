package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.RejectReason;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricTraceListener;
import dev.homa.nic.loopback.FabricTraceRecorder;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Messages longer than the kernel's 1,000,000 bytes between hosts that both raise {@code maxMessageLength}: they
 * arrive byte for byte, their unscheduled bytes go at the level the kernel's defaults give every long message (4),
 * and a host left at the default refuses them.
 */
class LargeMessageTest
{
    private static final int PORT = 17;
    private static final int LENGTH = 2_500_000;

    @Test
    @Timeout(60)
    void aMessageLongerThanTheKernelsArrivesWholeWithItsUnscheduledBytesAtLevel4()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).build();
        final FabricTraceRecorder trace = new FabricTraceRecorder(true, 4_000_000, 1 << FabricTraceListener.SENT);
        try (Cluster cluster = new Cluster(fabric, ctx -> ctx.maxMessageLength(3_000_000)))
        {
            final HomaSocket server = cluster.transport(1).openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[LENGTH]);
            Cluster.fill(buffer, LENGTH, 7);
            // Warm-up: the client learns the server's cutoffs (CUTOFFS answers its version 0).
            client.homaSend(cluster.address(1), PORT, buffer, 0, 100, 0);
            final HomaMessage[] request = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (request[0] = server.homaRecv(HomaSocket.RECV_REQUEST)),
                1_000_000_000L));
            request[0].release();
            assertTrue(cluster.runUntil(() -> null != cluster.engine(0).peerCutoffs(cluster.address(1)) &&
                0 != cluster.engine(0).peerCutoffs(cluster.address(1)).version(), 1_000_000_000L));
            fabric.addTraceListener(trace);

            client.homaSend(cluster.address(1), PORT, buffer, 0, LENGTH, 0);
            assertTrue(cluster.runUntil(() -> null != (request[0] = server.homaRecv(HomaSocket.RECV_REQUEST)),
                1_000_000_000L));
            Cluster.assertPayload(request[0], LENGTH, 7);
            request[0].release();

            final int unscheduled = cluster.engine(0).unscheduledBytes();
            final DataHeaderFlyweight data = new DataHeaderFlyweight();
            final Set<Integer> unscheduledLevels = new HashSet<>();
            for (final FabricTraceRecorder.Entry e : trace.entries())
            {
                data.wrap(new UnsafeBuffer(e.bytes()), 0);
                if (PacketType.DATA == data.type() && LENGTH == data.messageLength() &&
                    data.segmentOffset() < unscheduled)
                {
                    unscheduledLevels.add(e.priority());
                }
            }
            assertEquals(Set.of(4), unscheduledLevels, "unscheduled packets of a " + LENGTH + "-byte message");
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(60)
    void aHostAtTheKernelsLimitRefusesLongerMessages()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).build();
        try (Cluster cluster = new Cluster(fabric, ctx -> ctx.maxMessageLength(
            ctx.driver() == fabric.driverAt(0) ? 3_000_000 : HomaTransport.Context.MAX_MESSAGE_LENGTH_DEFAULT)))
        {
            cluster.transport(1).openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[LENGTH]);
            assertThrows(HomaLimitException.class,
                () -> cluster.transport(1).openSocket(0).homaSend(cluster.address(0), PORT, buffer, 0, LENGTH, 0));
            client.homaSend(cluster.address(1), PORT, buffer, 0, LENGTH, 0);
            final int tooLong = HomaMetrics.decoderDrop(RejectReason.MESSAGE_TOO_LONG.ordinal());
            assertTrue(cluster.runUntil(() -> cluster.transport(1).metrics().get(tooLong) > 0, 100_000_000L),
                "the default host counts the DATA as too long");
            assertEquals(0, cluster.engine(1).rpcCount(), "and creates no RPC for it");
        }
    }
}
