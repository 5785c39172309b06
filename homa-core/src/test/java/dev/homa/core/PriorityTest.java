package dev.homa.core;

import dev.homa.core.priority.Cutoffs;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.workload.MessageSizeDistribution;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricTraceListener;
import dev.homa.nic.loopback.FabricTraceRecorder;
import dev.homa.nic.loopback.Seeds;
import dev.homa.nic.loopback.Steppable;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Priorities chosen by the receiver, asserted on the decoded packet trace.
 */
class PriorityTest
{
    private static final int PORT = 17;
    private static final int EVENTS = (1 << FabricTraceListener.SENT) | (1 << FabricTraceListener.DELIVERED);

    /**
     * After one warm-up RPC (the server answers the client's cutoff_version 0 with CUTOFFS), unscheduled packets
     * carry the level the receiver's cutoffs give for the message length (kernel defaults: 200 -> 7, 2,800 -> 6,
     * 15,000 -> 5, larger -> 4) and every scheduled packet carries the priority of the latest GRANT the sender had
     * received for that message.
     */
    @Test
    @Timeout(60)
    void unscheduledUseCutoffLevelAndScheduledUseGrantPriority()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).build();
        final FabricTraceRecorder trace = new FabricTraceRecorder(true, 2_000_000, EVENTS);
        try (Cluster cluster = new Cluster(fabric, ctx -> {}))
        {
            cluster.add(new TinyReplyServer(cluster.transport(1).openSocket(PORT)));
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[300_000]);
            rpc(cluster, client, buffer, 10);
            final Cutoffs learned = cluster.engine(0).peerCutoffs(cluster.address(1));
            assertEquals(1, learned.version(), "client learned the server's cutoffs");
            fabric.addTraceListener(trace);
            final int[] sizes = { 100, 2_000, 10_000, 100_000, 300_000 };
            final int[] levels = { 7, 6, 5, 4, 4 };
            final Long2LongHashMap expected = new Long2LongHashMap(-1);
            for (int i = 0; i < sizes.length; i++)
            {
                expected.put(rpc(cluster, client, buffer, sizes[i]), levels[i]);
            }
            final int unscheduled = cluster.engine(0).unscheduledBytes();
            final Long2LongHashMap lastGrantPriority = new Long2LongHashMap(-1);
            final DataHeaderFlyweight data = new DataHeaderFlyweight();
            final GrantFlyweight grant = new GrantFlyweight();
            int unscheduledChecked = 0;
            int scheduledChecked = 0;
            for (final FabricTraceRecorder.Entry e : trace.entries())
            {
                data.wrap(new UnsafeBuffer(e.bytes()), 0);
                if (FabricTraceListener.DELIVERED == e.event() && PacketType.GRANT == data.type() &&
                    e.destination() == cluster.address(0))
                {
                    grant.wrap(new UnsafeBuffer(e.bytes()), 0);
                    lastGrantPriority.put(grant.senderId() ^ 1, grant.priority());
                    assertEquals(7, e.priority(), "GRANT at the highest level");
                }
                if (FabricTraceListener.SENT == e.event() && PacketType.DATA == data.type() &&
                    e.source() == cluster.address(0) && !data.retransmit())
                {
                    final long id = data.senderId();
                    if (data.segmentOffset() < unscheduled)
                    {
                        assertEquals(expected.get(id), e.priority(), "unscheduled level for " + data.messageLength());
                        unscheduledChecked++;
                    }
                    else
                    {
                        assertEquals(lastGrantPriority.get(id), e.priority(), "scheduled level = latest grant's");
                        scheduledChecked++;
                    }
                }
            }
            assertTrue(unscheduledChecked >= 5 && scheduledChecked > 100,
                unscheduledChecked + " unscheduled, " + scheduledChecked + " scheduled packets checked");
            cluster.assertNoErrors();
        }
    }

    /**
     * Two long messages compete at one receiver: their scheduled packets use the two lowest levels, the shorter
     * (fewer bytes left) the higher of the two; once it completes the other falls to level 0. The shorter one starts
     * once the receiver is granting the longer, so that every grant it gets is made with both in view (started at the
     * same instant, which first packet arrives first depends on the senders' pacing).
     */
    @Test
    @Timeout(60)
    void twoCompetingMessagesUseTheTwoLowestLevels()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(3).build();
        final FabricTraceRecorder trace = new FabricTraceRecorder(true, 2_000_000, 1 << FabricTraceListener.SENT);
        fabric.addTraceListener(trace);
        try (Cluster cluster = new Cluster(fabric, ctx -> ctx.fifoGrantFractionPerMille(0)))
        {
            final HomaSocket server = cluster.transport(2).openSocket(PORT);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[600_000]);
            cluster.transport(1).openSocket(0).homaSend(cluster.address(2), PORT, buffer, 0, 600_000, 0);
            assertTrue(cluster.runUntil(() -> cluster.engine(2).scheduler().grantsSent() > 0, 1_000_000_000L));
            cluster.transport(0).openSocket(0).homaSend(cluster.address(2), PORT, buffer, 0, 300_000, 0);
            final int[] done = new int[1];
            assertTrue(cluster.runUntil(() ->
            {
                final HomaMessage m = server.homaRecv(HomaSocket.RECV_REQUEST);
                if (null != m)
                {
                    m.release();
                    done[0]++;
                }
                return 2 == done[0];
            }, 1_000_000_000L));
            final int unscheduled = cluster.engine(0).unscheduledBytes();
            final DataHeaderFlyweight data = new DataHeaderFlyweight();
            final Set<Integer> shortLevels = new HashSet<>();
            final List<Integer> longLevels = new ArrayList<>();
            for (final FabricTraceRecorder.Entry e : trace.entries())
            {
                data.wrap(new UnsafeBuffer(e.bytes()), 0);
                if (PacketType.DATA != data.type() || data.segmentOffset() < unscheduled || data.retransmit())
                {
                    continue;
                }
                if (300_000 == data.messageLength())
                {
                    shortLevels.add(e.priority());
                }
                else
                {
                    longLevels.add(e.priority());
                }
            }
            assertEquals(Set.of(1), shortLevels, "shorter message's scheduled packets at level 1");
            assertTrue(longLevels.contains(0) && longLevels.stream().allMatch(p -> p <= 1),
                "longer message's scheduled packets at levels 0..1: " + new HashSet<>(longLevels));
            assertEquals(0, longLevels.get(longLevels.size() - 1), "alone again: level 0");
            cluster.assertNoErrors();
        }
    }

    /**
     * A message counts in the receiver's cutoff statistics from its first packet (homa_message_in_init), not from
     * its completion: while a long message is still arriving, three short ones complete and the cutoffs are
     * recomputed. Counting the long one, unscheduled bytes are a small share of the bytes: one unscheduled level,
     * which takes every length. Counted at completion, the short ones alone would give seven levels, the top one
     * only up to their length.
     */
    @Test
    @Timeout(60)
    void cutoffsCountALongMessageWhileItArrives()
    {
        final int longLength = 900_000;
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(3).build();
        try (Cluster cluster = new Cluster(fabric, ctx -> ctx.cutoffMinimumMessages(3).cutoffIntervalNs(10_000)))
        {
            final HomaSocket server = cluster.transport(2).openSocket(PORT);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[longLength]);
            cluster.transport(1).openSocket(0).homaSend(cluster.address(2), PORT, buffer, 0, longLength, 0);
            assertTrue(cluster.runUntil(() -> cluster.engine(2).scheduler().grantsSent() > 0, 1_000_000_000L));
            final HomaSocket client = cluster.transport(0).openSocket(0);
            for (int i = 0; i < 3; i++)
            {
                client.homaSend(cluster.address(2), PORT, buffer, 0, 100, 0);
            }
            final int[] shortDone = new int[1];
            final boolean[] longDone = new boolean[1];
            final int initialVersion = cluster.engine(2).localCutoffs().version();
            assertTrue(cluster.runUntil(() ->
            {
                final HomaMessage m = server.homaRecv(HomaSocket.RECV_REQUEST);
                if (null != m)
                {
                    longDone[0] |= longLength == m.length();
                    shortDone[0] += 100 == m.length() ? 1 : 0;
                    m.release();
                }
                return 3 == shortDone[0] && cluster.engine(2).localCutoffs().version() != initialVersion;
            }, 1_000_000_000L));
            assertTrue(!longDone[0], "the long message is still arriving");
            final Cutoffs cutoffs = cluster.engine(2).localCutoffs();
            assertTrue(cutoffs.cutoff(7) >= longLength, "one unscheduled level takes every length: " + cutoffs);
            cluster.assertNoErrors();
        }
    }

    /**
     * The receiver's online cutoffs, fed by W4 traffic through the engine (20,000 requests; 60,000 with 4 forced
     * levels; unscheduled bytes 40,000 as the kernel; recomputed every millisecond once 10,000 messages were seen,
     * homa_prio's threshold), give each unscheduled level an equal share of the unscheduled bytes within 10%, and
     * the new version reaches the sender. Run with the level
     * count derived from the unscheduled fraction of bytes (W4: 2 levels) and forced to 4 (a stricter split).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = { 0, 4 })
    @Timeout(120)
    void w4CutoffsConvergeToEqualBytesPerLevel(final int forcedLevels)
    {
        final long seed = Seeds.resolve("PriorityTest W4 cutoffs");
        final MessageSizeDistribution w4 = MessageSizeDistribution.workload("w4", 1_000_000);
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(),
            ctx -> ctx.unscheduledBytes(40_000).cutoffMinimumMessages(10_000).cutoffIntervalNs(1_000_000)
                .unscheduledLevels(forcedLevels)))
        {
            // Instant fabric: the whole run happens at one virtual instant, so allow it many rounds.
            cluster.sim.maxRoundsPerInstant(Integer.MAX_VALUE);
            cluster.add(new TinyReplyServer(cluster.transport(1).openSocket(PORT)));
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1_000_000]);
            final SplittableRandom random = new SplittableRandom(seed);
            // Four forced levels split finer, so the sample must be larger for the split to settle within 10%.
            final int total = Integer.getInteger("homa.w4.messages", 0 == forcedLevels ? 20_000 : 60_000);
            final int[] lengths = new int[total];
            final int[] sent = new int[1];
            final int[] done = new int[1];
            cluster.add(new Steppable()
            {
                int outstanding;

                public int doWork()
                {
                    int work = 0;
                    HomaMessage m;
                    while (null != (m = client.homaRecv(HomaSocket.RECV_RESPONSE)))
                    {
                        m.release();
                        outstanding--;
                        done[0]++;
                        work++;
                    }
                    while (outstanding < 8 && sent[0] < total)
                    {
                        final int length = w4.sample(random.nextDouble());
                        lengths[sent[0]++] = length;
                        client.homaSend(cluster.address(1), PORT, buffer, 0, length, 0);
                        outstanding++;
                        work++;
                    }
                    return work;
                }
            });
            assertTrue(cluster.runUntil(() -> done[0] == total, 100_000_000_000L));
            cluster.runUntil(() -> false, 3_000_000);
            final Cutoffs cutoffs = cluster.engine(1).localCutoffs();
            assertTrue(cutoffs.version() > 1, "cutoffs recomputed: version " + cutoffs.version());

            // Equal unscheduled bytes per unscheduled level over the lengths actually received.
            final int unscheduled = cluster.engine(1).unscheduledBytes();
            final long[] perLevel = new long[8];
            long all = 0;
            long unscheduledTotal = 0;
            for (final int length : lengths)
            {
                final int bytes = Math.min(length, unscheduled);
                perLevel[cutoffs.unscheduledPriorityFor(length)] += bytes;
                unscheduledTotal += bytes;
                all += length;
            }
            int lowest = 7;
            while (lowest > 0 && cutoffs.cutoff(lowest) < 1_000_000)
            {
                lowest--;
            }
            final int levelCount = 8 - lowest;
            final StringBuilder report = new StringBuilder("W4 through the engine: cutoffs v" + cutoffs.version());
            for (int level = 7; level >= lowest; level--)
            {
                report.append(String.format(" L%d<=%d:%.1f%%", level, cutoffs.cutoff(level),
                    100.0 * perLevel[level] / unscheduledTotal));
            }
            report.append(String.format(" (unscheduled share of bytes %.3f, %d unscheduled levels)",
                (double)unscheduledTotal / all, levelCount));
            System.out.println(report);
            final double share = (double)unscheduledTotal / levelCount;
            for (int level = 7; level >= lowest; level--)
            {
                final double error = Math.abs(perLevel[level] - share) / share;
                assertTrue(error <= 0.10, "level " + level + " off its share by " + error + ": " + report);
            }
            // A later request carries the new version: the client got CUTOFFS.
            rpc(cluster, cluster.transport(0).openSocket(0), buffer, 100);
            assertEquals(cutoffs.version(), cluster.engine(0).peerCutoffs(cluster.address(1)).version());
            cluster.assertNoErrors();
        }
    }

    private static long rpc(final Cluster cluster, final HomaSocket client, final UnsafeBuffer buffer, final int size)
    {
        final long id = client.homaSend(cluster.address(1), PORT, buffer, 0, size, 0);
        final HomaMessage[] response = new HomaMessage[1];
        assertTrue(cluster.runUntil(() -> null != (response[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
            1_000_000_000L));
        response[0].release();
        return id;
    }

    /** Answers each request with one byte. */
    static final class TinyReplyServer implements Steppable
    {
        private final HomaSocket socket;
        private final UnsafeBuffer one = new UnsafeBuffer(new byte[1]);

        TinyReplyServer(final HomaSocket socket)
        {
            this.socket = socket;
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage request;
            while (null != (request = socket.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                socket.homaReply(request, one, 0, 1);
                request.release();
                work++;
            }
            return work;
        }
    }
}
