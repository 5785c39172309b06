package dev.homa.core;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricTraceListener;
import dev.homa.nic.loopback.FabricTraceRecorder;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SRPT on both sides, asserted on the fabric's packet trace decoded with the wire flyweights.
 */
class SrptTest
{
    private static final int PORT = 9;
    private static final int[] SIZES = { 500_000, 200_000, 400_000, 100_000, 300_000 };

    /**
     * Five senders start one message each to one receiver at the same instant. The receiver ranks by bytes not yet
     * received, so the message whose first packet happens to arrive first gets one window of head start; the window
     * is fixed at the unscheduled bytes (the paper's RTTbytes) so that head start stays below the size differences.
     * With K = 1 (grant order unambiguous) the receiver grants them in size order: once it grants a longer message
     * it never grants a shorter one again, apart from that first head-start grant; with K = 1 and with K = 8 they
     * complete in size order.
     */
    @Test
    @Timeout(60)
    void receiverGrantsAndCompletesInSizeOrder()
    {
        final List<Integer> grantOrderK1 = new ArrayList<>();
        final List<Integer> completionK1 = runIncoming(1, grantOrderK1);
        final List<Integer> completionK8 = runIncoming(8, new ArrayList<>());
        final List<Integer> sorted = new ArrayList<>(List.of(100_000, 200_000, 300_000, 400_000, 500_000));
        final List<Integer> order = dedupe(grantOrderK1);
        // Drop grants sent before all five messages were known (the head start of whichever arrived first).
        while (order.size() > sorted.size())
        {
            order.remove(0);
        }
        assertEquals(sorted, order, "K=1 grant order by message length: " + dedupe(grantOrderK1));
        assertEquals(sorted, completionK1, "K=1 completion order");
        assertEquals(sorted, completionK8, "K=8 completion order");
    }

    private static List<Integer> dedupe(final List<Integer> order)
    {
        final List<Integer> result = new ArrayList<>();
        for (final Integer length : order)
        {
            if (result.isEmpty() || !result.get(result.size() - 1).equals(length))
            {
                result.add(length);
            }
        }
        return result;
    }

    private static List<Integer> runIncoming(final int overcommit, final List<Integer> grantOrder)
    {
        final int senders = SIZES.length;
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(senders + 1).build();
        final FabricTraceRecorder trace = new FabricTraceRecorder(true, 1_000_000, 1 << FabricTraceListener.SENT);
        fabric.addTraceListener(trace);
        final List<Integer> completion = new ArrayList<>();
        try (Cluster cluster = new Cluster(fabric,
            ctx -> ctx.overcommit(overcommit).fifoGrantFractionPerMille(0).windowBytes(11_392)))
        {
            final HomaSocket server = cluster.transport(senders).openSocket(PORT);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[500_000]);
            final Long2LongHashMap lengthBySender = new Long2LongHashMap(0);
            for (int s = 0; s < senders; s++)
            {
                cluster.transport(s).openSocket(0).homaSend(cluster.address(senders), PORT, buffer, 0, SIZES[s], 0);
                lengthBySender.put(cluster.address(s), SIZES[s]);
            }
            assertTrue(cluster.runUntil(() ->
            {
                HomaMessage m;
                while (null != (m = server.homaRecv(HomaSocket.RECV_REQUEST)))
                {
                    completion.add(m.length());
                    m.release();
                }
                return completion.size() == senders;
            }, 1_000_000_000L));
            final HomaHeaderFlyweight header = new HomaHeaderFlyweight();
            for (final FabricTraceRecorder.Entry entry : trace.entries(FabricTraceListener.SENT))
            {
                header.wrap(new UnsafeBuffer(entry.bytes()), 0);
                if (entry.source() == cluster.address(senders) && PacketType.GRANT == header.type())
                {
                    grantOrder.add((int)lengthBySender.get(entry.destination()));
                }
            }
            cluster.assertNoErrors();
        }
        return completion;
    }

    /**
     * One sender starts five messages (to five receivers) in one burst; its DATA packets, as they leave its NIC,
     * start each message in order of size, and the unscheduled bytes of a shorter message all leave before any
     * byte of a longer one.
     */
    @Test
    @Timeout(60)
    void senderTransmitsShortestRemainingFirst()
    {
        final int receivers = SIZES.length;
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(receivers + 1).build();
        final FabricTraceRecorder trace = new FabricTraceRecorder(true, 1_000_000, 1 << FabricTraceListener.SENT);
        fabric.addTraceListener(trace);
        // Pure SRPT: the pacer's 5% FIFO share would legitimately send an older, longer message's packet early.
        try (Cluster cluster = new Cluster(fabric, ctx -> ctx.pacerFifoFractionPerMille(0)))
        {
            final HomaSocket[] servers = new HomaSocket[receivers];
            for (int r = 0; r < receivers; r++)
            {
                servers[r] = cluster.transport(r + 1).openSocket(PORT);
            }
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[500_000]);
            for (int r = 0; r < receivers; r++)
            {
                // A tenth of the sizes so every command fits the command ring and one duty cycle takes all five.
                client.homaSend(cluster.address(r + 1), PORT, buffer, 0, SIZES[r] / 10, 0);
            }
            final int[] done = new int[1];
            assertTrue(cluster.runUntil(() ->
            {
                for (final HomaSocket server : servers)
                {
                    final HomaMessage m = server.homaRecv(HomaSocket.RECV_REQUEST);
                    if (null != m)
                    {
                        m.release();
                        done[0]++;
                    }
                }
                return done[0] == receivers;
            }, 1_000_000_000L));

            final DataHeaderFlyweight data = new DataHeaderFlyweight();
            final List<Integer> lengths = new ArrayList<>();
            final int unscheduled = cluster.engine(0).unscheduledBytes();
            int lastUnscheduledLength = 0;
            for (final FabricTraceRecorder.Entry entry : trace.entries(FabricTraceListener.SENT))
            {
                if (entry.source() != cluster.address(0))
                {
                    continue;
                }
                data.wrap(new UnsafeBuffer(entry.bytes()), 0);
                if (PacketType.DATA != data.type())
                {
                    continue;
                }
                final int length = data.messageLength();
                if (lengths.isEmpty() || lengths.get(lengths.size() - 1) != length)
                {
                    if (!lengths.contains(length))
                    {
                        lengths.add(length);
                    }
                }
                if (data.segmentOffset() < unscheduled && !data.retransmit())
                {
                    assertTrue(length >= lastUnscheduledLength,
                        "unscheduled packet of a " + length + "-byte message after one of " + lastUnscheduledLength);
                    lastUnscheduledLength = length;
                }
            }
            assertEquals(List.of(10_000, 20_000, 30_000, 40_000, 50_000), lengths, "first-packet order");
            cluster.assertNoErrors();
        }
    }

    static int grantOffsetOf(final byte[] bytes)
    {
        final GrantFlyweight grant = new GrantFlyweight();
        grant.wrap(new UnsafeBuffer(bytes), 0);
        return grant.offset();
    }
}
