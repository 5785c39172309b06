package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.workload.MessageSizeDistribution;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricTraceRecorder;
import dev.homa.nic.loopback.RandomFaultInjector;
import dev.homa.nic.loopback.Seeds;
import dev.homa.nic.loopback.Steppable;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 10,000 RPCs with W4 sizes (capped at 1,000,000 bytes as cp_node does) under 5% loss, 1%
 * duplication and 2% reordering on every link all complete with intact payloads (echo: the response must hash
 * like the request) and leave no server state once the ACKs are through; the seed is printed ({@code -Dhoma.seed}
 * replays) and a replay with the same seed produces the identical packet trace.
 * <p>
 * A third run does the same with 2,000 RPCs over drivers that read DATA payloads straight into the receive pool
 * ({@link dev.homa.nic.loopback.FabricBuilder#placing(boolean)}).
 * <p>
 * {@code -Dhoma.loss.rpcs=N} changes the count of the big run (default 10,000); {@code -Dhoma.loss.mode=TIMED}
 * runs it on the timed fabric (link rates, queues) instead of the instant one.
 */
class LossTest
{
    private static final int SERVER_PORT = 7;
    private static final int CLIENTS = 4;
    private static final int SERVERS = 4;
    private static final int WINDOW = 8;

    @Test
    @Timeout(300)
    void tenThousandRpcsSurviveLossDuplicationAndReordering()
    {
        final int rpcs = Integer.getInteger("homa.loss.rpcs", 10_000);
        final long seed = Seeds.resolve("LossTest " + rpcs + " RPCs");
        final long startNs = System.nanoTime();
        final Result result = run(seed, rpcs, false);
        final long wallMs = (System.nanoTime() - startNs) / 1_000_000;
        System.out.println("LossTest: " + rpcs + " RPCs, " + result.bytes + " payload bytes each way, virtual " +
            result.virtualNs / 1_000_000 + " ms, wall " + wallMs + " ms, retransmitted packets " + result.retransmits +
            ", resends " + result.resends + ", fabric loss drops " + result.lossDrops + ", duplicates " +
            result.duplicates + ", reorders " + result.reorders + ", trace digest " + result.digest);
        assertEquals(rpcs, result.completed, "all RPCs completed");
        assertTrue(result.retransmits > 0, "loss was recovered by retransmission");
    }

    @Test
    @Timeout(120)
    void replayWithSameSeedGivesIdenticalTrace()
    {
        final long seed = Seeds.resolve("LossTest replay");
        final Result first = run(seed, 400, false);
        final Result second = run(seed, 400, false);
        assertEquals(400, first.completed);
        assertEquals(first.packets, second.packets, "packet count");
        assertEquals(first.digest, second.digest, "trace digest");
        assertEquals(first.virtualNs, second.virtualNs, "virtual time");
    }

    @Test
    @Timeout(300)
    void placedPayloadsSurviveLossDuplicationAndReordering()
    {
        // Each driver reads DATA payloads straight into the receive pool, as the UDP driver does with large
        // datagrams: duplicates, reordered packets and retransmissions that fill gaps must not disturb received bytes.
        final long seed = Seeds.resolve("LossTest placed payloads");
        final Result result = run(seed, 2_000, true);
        assertEquals(2_000, result.completed, "all RPCs completed");
        assertTrue(result.retransmits > 0, "loss was recovered by retransmission");
        assertTrue(result.duplicates > 0 && result.reorders > 0, "duplicates and reorders happened");
    }

    private static final class Result
    {
        int completed;
        long bytes;
        long virtualNs;
        long retransmits;
        long resends;
        long lossDrops;
        long duplicates;
        long reorders;
        long digest;
        long packets;
    }

    private static Result run(final long seed, final int rpcs, final boolean placing)
    {
        final MessageSizeDistribution w4 = MessageSizeDistribution.workload("w4", 1_000_000);
        final RandomFaultInjector faults = new RandomFaultInjector(seed)
            .lossRate(0.05).duplicateRate(0.01).reorderRate(0.02);
        final FabricMode mode = FabricMode.valueOf(System.getProperty("homa.loss.mode", "INSTANT"));
        final Fabric fabric = Fabric.builder().mode(mode).hosts(CLIENTS + SERVERS)
            .faultInjector(faults).packetPoolSize(4096).placing(placing).build();
        final FabricTraceRecorder trace = new FabricTraceRecorder(false, 0);
        fabric.addTraceListener(trace);
        final Result result = new Result();
        try (Cluster cluster = new Cluster(fabric, ctx -> {}))
        {
            for (int s = 0; s < SERVERS; s++)
            {
                cluster.add(new Cluster.EchoServer(cluster.transport(CLIENTS + s).openSocket(SERVER_PORT)));
            }
            // One shared random source buffer; each RPC sends a slice at a random offset so payloads differ.
            final UnsafeBuffer source = new UnsafeBuffer(new byte[1_000_000 + 65_536]);
            Cluster.fill(source, source.capacity(), seed);
            final SplittableRandom random = new SplittableRandom(seed);
            final int[] issued = new int[1];
            final Client[] clients = new Client[CLIENTS];
            for (int c = 0; c < CLIENTS; c++)
            {
                clients[c] = new Client(cluster, cluster.transport(c).openSocket(0), source, random, w4, rpcs,
                    issued, result);
                cluster.add(clients[c]);
            }
            assertTrue(cluster.runUntil(() -> result.completed == rpcs, 600_000_000_000L),
                () -> "completed " + result.completed + "/" + rpcs);
            // ACKs (piggybacked, explicit, or after NEED_ACK) free every server RPC.
            assertTrue(cluster.runUntil(() ->
            {
                for (int s = 0; s < SERVERS; s++)
                {
                    if (0 != cluster.engine(CLIENTS + s).rpcCount())
                    {
                        return false;
                    }
                }
                return true;
            }, 2_000_000_000L), "server state left after ACKs");
            for (int h = 0; h < CLIENTS + SERVERS; h++)
            {
                final HomaEngine engine = cluster.engine(h);
                assertEquals(0, engine.rpcCount(), "host " + h + " RPCs");
                assertEquals(0, engine.receivePagesInUse(), "host " + h + " receive pages");
                assertEquals(0, engine.sendPagesInUse(), "host " + h + " send pages");
                result.retransmits += engine.metrics().get(HomaMetrics.RETRANSMITTED_PACKETS);
                result.resends += engine.metrics().get(HomaMetrics.RESENDS_REQUESTED);
            }
            cluster.assertNoErrors();
            result.virtualNs = cluster.sim.nowNs();
            result.lossDrops = fabric.lossDrops();
            result.duplicates = fabric.duplicates();
            result.reorders = fabric.reorders();
            result.digest = trace.digest();
            result.packets = trace.count();
        }
        return result;
    }

    /** Keeps WINDOW RPCs outstanding to random servers; checks every response against its request's hash. */
    private static final class Client implements Steppable
    {
        private final Cluster cluster;
        private final HomaSocket socket;
        private final UnsafeBuffer source;
        private final SplittableRandom random;
        private final MessageSizeDistribution sizes;
        private final int total;
        private final int[] issued;
        private final Result result;
        private final Long2LongHashMap expected = new Long2LongHashMap(0);

        Client(
            final Cluster cluster,
            final HomaSocket socket,
            final UnsafeBuffer source,
            final SplittableRandom random,
            final MessageSizeDistribution sizes,
            final int total,
            final int[] issued,
            final Result result)
        {
            this.cluster = cluster;
            this.socket = socket;
            this.source = source;
            this.random = random;
            this.sizes = sizes;
            this.total = total;
            this.issued = issued;
            this.result = result;
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage response;
            while (null != (response = socket.homaRecv(HomaSocket.RECV_RESPONSE)))
            {
                final HomaMessage r = response;
                if (response.isError())
                {
                    throw new AssertionError("RPC failed: " + response, response.error());
                }
                final long want = expected.remove(response.id());
                assertTrue(0 != want, () -> "unexpected response " + r);
                assertEquals(want, Cluster.hash(response), "payload hash");
                result.bytes += response.length();
                result.completed++;
                response.release();
                work++;
            }
            while (expected.size() < WINDOW && issued[0] < total)
            {
                final int size = sizes.sample(random.nextDouble());
                final int offset = random.nextInt(65_536);
                final int server = CLIENTS + random.nextInt(SERVERS);
                final long id = socket.homaSend(cluster.address(server), SERVER_PORT, source, offset, size, 0);
                expected.put(id, hashOf(source, offset, size));
                issued[0]++;
                work++;
            }
            return work;
        }

        private static long hashOf(final UnsafeBuffer buffer, final int offset, final int length)
        {
            // Same function as Cluster.hash over one 64 KiB-page-split message.
            long h = 0xCBF29CE484222325L;
            int done = 0;
            while (done < length)
            {
                final int n = Math.min(65_536, length - done);
                int i = 0;
                for (; i + 8 <= n; i += 8)
                {
                    h = (h ^ buffer.getLong(offset + done + i)) * 0x100000001B3L;
                }
                for (; i < n; i++)
                {
                    h = (h ^ buffer.getByte(offset + done + i)) * 0x100000001B3L;
                }
                done += n;
            }
            return h;
        }
    }
}
