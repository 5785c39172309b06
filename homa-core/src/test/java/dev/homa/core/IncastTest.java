package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricTraceListener;
import dev.homa.nic.loopback.FabricTraceRecorder;
import dev.homa.nic.loopback.Steppable;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Incast (paper section 3.6): one client sends a small request to each of 50 servers at once; the 50
 * responses (50,000 bytes each) converge on the client's downlink. With incast handling on (threshold 8), requests
 * beyond the eighth outstanding one carry FLAG_INCAST, their responses are sent with the reduced unscheduled limit
 * (300 bytes, announced in the DATA {@code incoming} field), and the peak queue at the client's switch port drops
 * compared with the same run with incast handling off.
 */
class IncastTest
{
    private static final int PORT = 23;
    private static final int SERVERS = 50;
    private static final int RESPONSE = 50_000;
    private static final int THRESHOLD = 8;

    @Test
    @Timeout(60)
    void incastMarkingCutsThePeakQueue()
    {
        final Run on = run(true);
        final Run off = run(false);
        System.out.printf("incast: client port peak queue %,d bytes with incast handling, %,d without " +
            "(%d requests marked, %d responses limited, completion %d ns vs %d ns)%n",
            on.peakBytes, off.peakBytes, on.marked, on.limited, on.elapsedNs, off.elapsedNs);
        assertEquals(SERVERS - THRESHOLD, on.marked, "requests beyond the threshold are marked");
        assertEquals(SERVERS - THRESHOLD, on.limited, "their responses use the reduced unscheduled limit");
        assertEquals(SERVERS - THRESHOLD, on.reducedIncoming, "first response packets announce incoming = 300");
        assertEquals(0, off.marked);
        assertEquals(0, off.reducedIncoming);
        assertTrue(on.peakBytes < off.peakBytes * 0.75, "peak queue drops: " + on.peakBytes + " vs " + off.peakBytes);
    }

    private static final class Run
    {
        long peakBytes;
        long marked;
        long limited;
        long reducedIncoming;
        long elapsedNs;
    }

    private static Run run(final boolean incast)
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(SERVERS + 1).packetPoolSize(256).build();
        final FabricTraceRecorder trace = new FabricTraceRecorder(true, 100_000, 1 << FabricTraceListener.SENT);
        fabric.addTraceListener(trace);
        final Run run = new Run();
        try (Cluster cluster = new Cluster(fabric, ctx -> ctx
            .incastEnabled(incast).incastThreshold(THRESHOLD).incastUnscheduledBytes(300)
            .receivePoolBytes(8L << 20).sendPoolBytes(8L << 20)))
        {
            for (int s = 1; s <= SERVERS; s++)
            {
                cluster.add(new FixedReplyServer(cluster.transport(s).openSocket(PORT), RESPONSE));
            }
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
            for (int s = 1; s <= SERVERS; s++)
            {
                client.homaSend(cluster.address(s), PORT, request, 0, 100, s);
            }
            final long start = cluster.sim.nowNs();
            final int[] done = new int[1];
            assertTrue(cluster.runUntil(() ->
            {
                HomaMessage m;
                while (null != (m = client.homaRecv(HomaSocket.RECV_RESPONSE)))
                {
                    assertEquals(RESPONSE, m.length(), () -> "response " + done[0]);
                    m.release();
                    done[0]++;
                }
                return SERVERS == done[0];
            }, 1_000_000_000L), "all responses");
            run.elapsedNs = cluster.sim.nowNs() - start;
            run.peakBytes = fabric.port(cluster.address(0)).peakDepthBytes();
            run.marked = cluster.engine(0).metrics().get(HomaMetrics.INCAST_MARKED_REQUESTS);
            for (int s = 1; s <= SERVERS; s++)
            {
                run.limited += cluster.engine(s).metrics().get(HomaMetrics.INCAST_LIMITED_RESPONSES);
            }
            // Decode: marked requests carry FLAG_INCAST; the first packet of each of their responses says
            // incoming = 300.
            final DataHeaderFlyweight data = new DataHeaderFlyweight();
            final LongHashSet markedIds = new LongHashSet();
            for (final FabricTraceRecorder.Entry e : trace.entries())
            {
                data.wrap(new UnsafeBuffer(e.bytes()), 0);
                if (PacketType.DATA != data.type())
                {
                    continue;
                }
                if (e.source() == cluster.address(0) &&
                    0 != (data.flags() & HomaHeaderFlyweight.FLAG_INCAST))
                {
                    markedIds.add(data.senderId());
                }
                if (e.destination() == cluster.address(0) && 0 == data.segmentOffset() && !data.retransmit() &&
                    markedIds.contains(data.senderId() ^ 1))
                {
                    assertEquals(300, data.incoming(), "reduced unscheduled limit announced");
                    run.reducedIncoming++;
                }
            }
            cluster.assertNoErrors();
        }
        return run;
    }

    /** Answers every request with a fixed-size response. */
    private static final class FixedReplyServer implements Steppable
    {
        private final HomaSocket socket;
        private final UnsafeBuffer response;

        FixedReplyServer(final HomaSocket socket, final int length)
        {
            this.socket = socket;
            this.response = new UnsafeBuffer(new byte[length]);
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage request;
            while (null != (request = socket.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                socket.homaReply(request, response, 0, response.capacity());
                request.release();
                work++;
            }
            return work;
        }
    }
}
