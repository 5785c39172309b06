package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.metrics.MetricsPrinter;
import dev.homa.core.wire.CutoffsFlyweight;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.ResendFlyweight;
import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricDriver;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.Seeds;
import dev.homa.nic.loopback.Steppable;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.LongPredicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server under attack keeps serving its legitimate client. Host 0 runs an echo server, host 1 a client that
 * starts an RPC every 250 us (100 bytes; every 20th 100,000 bytes, which needs grants and two pool pages), host 2
 * is an attacker with an address of its own, and packets forged from any address reach host 0 through a
 * {@link ForgingDriver}. Virtual time on the timed fabric (10 Gb/s links): 100 ms before the attack, 300 ms of
 * attack, 100 ms after it, then the client's last RPCs finish. Each scenario prints, per phase, the RPCs started,
 * those answered and the p50/p99 of the small ones, the bytes host 0 sent toward the attack's addresses per byte
 * it received from them (Homa bytes, and on the wire with the fabric's 62 bytes of IP and Ethernet per packet),
 * and the most server RPCs, receive-pool pages and peers it held, then checks them against stated bounds with
 * every limit at its default. Each attack mirrors one numbered finding of the hostile-peer review.
 */
class HostilePeerTest
{
    private static final int PORT = 30;
    private static final long MS = 1_000_000L;
    private static final long WARMUP_NS = 20 * MS;
    private static final long ATTACK_START_NS = 120 * MS;
    private static final long ATTACK_END_NS = 420 * MS;
    private static final long END_NS = 520 * MS;
    private static final long RPC_INTERVAL_NS = 250_000L;
    private static final int SMALL = 100;
    private static final int LARGE = 100_000;
    private static final int FORGED_PORT = 40_000;
    /** An address no host of the fabric has: where forged packets claim to come from. */
    private static final long VICTIM = HostAddress.parseIpv4("198.18.200.1");
    private static final int FORGED_BASE = HostAddress.ipv4Of(HostAddress.parseIpv4("198.18.201.0"));

    /**
     * 1. One source sends first packets of 1 MB requests that never continue, 8,000 a second (ten times the
     * review's rate), half claiming only the bytes they carry (so everything "granted" has arrived) and half
     * claiming a whole megabyte of unscheduled bytes. Its RPCs must not pile up (per-peer limits, reclamation of
     * RPCs whose client went silent), the receive pool and the incoming budget stay shared, and the client is
     * served as before.
     */
    @Test
    @Timeout(120)
    void oneSourceFloodingFirstPacketsShutsNobodyOut()
    {
        final DataHeaderFlyweight data = new DataHeaderFlyweight();
        final Result result = run("first-packet flood from one source", ctx -> { }, 8, (scenario, n) ->
        {
            final FabricDriver attacker = scenario.cluster.fabric.driverAt(2);
            final Packet packet = attacker.acquire();
            data.wrap(packet.buffer(), 0).initialize(PacketType.DATA, FORGED_PORT, PORT, 2 * n + 2);
            data.messageLength(1_000_000).incoming(0 == (n & 1) ? 1_000 : 1_000_000).segmentOffset(0);
            packet.length(DataHeaderFlyweight.HEADER_LENGTH + 1_000);
            scenario.sentFromAttacker(attacker, packet, 0);
        }, (address) -> address == Fabric.hostAddress(2));
        result.assertServed(0.99, 2.0);
        final HomaTransport.Context ctx = result.serverContext;
        assertTrue(result.maxPages <= ctx.maxReceiveBytesPerPeer() / ctx.receivePageBytes(),
            "the source's messages hold at most its share of the pool: " + result.maxPages);
        assertTrue(result.maxServerRpcs <= ctx.maxIncomingRequestsPerPeer() + 64,
            "the source's RPCs are bounded: " + result.maxServerRpcs);
        result.assertRecovered();
        result.assertAmplificationAtMost(0.5, 0.6);
    }

    /**
     * 2. Requests forged from a victim's address, then RESENDs forged from it asking for the whole response again
     * and again (3 a millisecond for each of the live forged RPCs): a retransmission goes only to the RPC's own
     * peer and never beyond the RPC's retransmission budget, so the bytes sent toward the victim stay within
     * (1 + retransmitBudgetPercent / 100) times the response plus a few control packets: 6.1 times what the forger
     * sent.
     */
    @Test
    @Timeout(120)
    void forgedResendsDrawNoMoreThanTheRetransmissionBudget()
    {
        final int length = 20_000;
        final Result result = run("forged RESENDs", ctx -> { }, 1, (scenario, n) ->
        {
            final ForgingDriver forger = scenario.forger;
            final int payload = scenario.cluster.engine(0).maxPayload();
            if (0 == n % 10)
            {
                final long id = 2 * n + 2;
                for (int offset = 0; offset < length; offset += payload)
                {
                    forger.data(VICTIM, FORGED_PORT, PORT, id, length, length, offset,
                        Math.min(payload, length - offset));
                }
            }
            for (long rpc = n - n % 10; rpc >= 0 && rpc > n - 30; rpc -= 10)
            {
                forger.resend(VICTIM, FORGED_PORT, PORT, 2 * rpc + 2, 0, length);
            }
        }, HostilePeerTest::isForged);
        result.assertServed(0.99, 2.0);
        result.assertAmplificationAtMost(6.1, 6.1);
        assertTrue(result.metrics.get(HomaMetrics.RETRANSMIT_BUDGET_SPENT) > 0, "the budget bit");
        result.assertRecovered();
    }

    /**
     * 3. Requests forged from a victim's address (4,000 a second, one packet of 100 bytes each) are answered and
     * never acknowledged: each draws its response and at most six NEED_ACKs (after 2, 4, 8, 16, 32 and 64 ticks of
     * silence) before it times out, not one a tick: 2.1 times the forged bytes.
     */
    @Test
    @Timeout(120)
    void unacknowledgedResponsesDrawAHandfulOfNeedAcks()
    {
        final Result result = run("unacknowledged requests", ctx -> { }, 4, (scenario, n) ->
            scenario.forger.data(VICTIM, FORGED_PORT, PORT, 2 * n + 2, SMALL, SMALL, 0, SMALL),
            HostilePeerTest::isForged);
        result.assertServed(0.99, 2.0);
        final long requests = result.packetsIn;
        final long needAcks = result.forger.sent(PacketType.NEED_ACK);
        System.out.println("NEED_ACKs per forged request: " + (double)needAcks / requests);
        assertTrue(needAcks <= 6 * requests, needAcks + " NEED_ACKs for " + requests + " requests");
        result.assertAmplificationAtMost(2.2, 3.7);
        result.assertRecovered();
    }

    /**
     * 4. First packets of 1 MB messages forged from ever new addresses (4,000 a second, 100 bytes of payload, half
     * of them claiming no more unscheduled bytes than they carry, so that all they were "granted" has arrived and
     * only a server that counts their silence anyway reclaims them): each draws at most three rounds of RESENDs
     * before its RPC is reclaimed (not a train until the timeout), and the pages they hold cannot crowd out short
     * messages (the pool keeps a reserve for them, and waiting messages get pages shortest first): 1.4 times the
     * forged bytes, short RPCs' p99 unchanged, every long one answered.
     */
    @Test
    @Timeout(120)
    void firstPacketsFromForgedSourcesDrawBoundedResendsAndLeaveRoom()
    {
        final Result result = run("first packets from forged sources", ctx -> { }, 4, (scenario, n) ->
            scenario.forger.data(HostAddress.ipv4(FORGED_BASE + (int)n), FORGED_PORT, PORT, 2, 1_000_000,
                0 == (n & 1) ? SMALL : 10_000, 0, SMALL), HostilePeerTest::isForged);
        // Each forged message holds its 16 pages until it is reclaimed (20 ms): a long message that arrives while
        // they fill the pool waits for the next one to go (shortest first).
        result.assertServed(0.99, 2.0, 25 * MS);
        assertTrue(result.prober.percentileNs(4, 0.50) <= MS, "most long RPCs wait for no forged message");
        result.assertAmplificationAtMost(1.4, 1.4);
        result.assertRecovered();
    }

    /**
     * 5. NEED_ACKs forged from the client's address (1,000 a millisecond) and from an address the server never
     * talked to: the first are answered with at most maxAnswersPerPeerPerTick ACKs a tick toward the client, the
     * others not at all.
     */
    @Test
    @Timeout(120)
    void forgedNeedAcksDrawRateLimitedAcks()
    {
        final long client = Fabric.hostAddress(1);
        final Result result = run("forged NEED_ACKs", ctx -> { }, 1, (scenario, n) ->
        {
            for (int i = 0; i < 500; i++)
            {
                scenario.forger.control(PacketType.NEED_ACK, client, FORGED_PORT, PORT, 2 * (n * 1000 + i) + 3);
                scenario.forger.control(PacketType.NEED_ACK, VICTIM, FORGED_PORT, PORT, 2 * (n * 1000 + i) + 3);
            }
        }, (address) -> address == client || isForged(address));
        result.assertServed(0.99, 2.0);
        final long acks = result.forger.sent(PacketType.ACK);
        final long ticks = (ATTACK_END_NS - ATTACK_START_NS) / result.serverContext.tickNs();
        System.out.println("ACKs answering " + result.packetsIn + " forged NEED_ACKs: " + acks);
        assertTrue(acks <= (ticks + 1) * result.serverContext.maxAnswersPerPeerPerTick(), acks + " ACKs");
        assertTrue(result.metrics.get(HomaMetrics.DROP_UNKNOWN_PEER) >= result.packetsIn / 2, "unknown host");
        assertTrue(result.metrics.get(HomaMetrics.ANSWERS_LIMITED) > 0, "the limit bit");
    }

    /**
     * 1. The per-peer share of the server RPC table: a peer with maxIncomingRequestsPerPeer requests being received
     * gets no new one (its first packets are counted and dropped) while another peer still does.
     */
    @Test
    @Timeout(30)
    void onePeerTakesAtMostItsShareOfTheServerRpcTable()
    {
        final ForgingDriver[] forger = new ForgingDriver[1];
        try (Cluster cluster = oneHost(ctx -> ctx.maxIncomingRequestsPerPeer(10), forger))
        {
            cluster.transport(0).openSocket(PORT);
            for (int i = 0; i < 20; i++)
            {
                forger[0].data(VICTIM, FORGED_PORT, PORT, 2 * i + 2, 1_000_000, 10_000, 0, SMALL);
            }
            forger[0].data(HostAddress.ipv4(FORGED_BASE), FORGED_PORT, PORT, 2, 1_000_000, 10_000, 0, SMALL);
            cluster.runUntil(() -> 0 == forger[0].pending(), MS);
            final HomaMetrics metrics = cluster.engine(0).metrics();
            assertEquals(11, cluster.engine(0).serverRpcCount(), "10 of the first peer, 1 of the second");
            assertEquals(10, metrics.get(HomaMetrics.DROP_PEER_INCOMING_REQUESTS));
            cluster.assertNoErrors();
        }
    }

    /**
     * 1. A server RPC whose request waits for grants counts its client's silence: kept alive while the client
     * probes with RESENDs (as clients do while they wait), reclaimed once the client falls silent, even though
     * everything granted to it has arrived.
     */
    @Test
    @Timeout(30)
    void aRequestWaitingForGrantsIsReclaimedOnceItsClientFallsSilent()
    {
        final ForgingDriver[] forger = new ForgingDriver[1];
        final long probing = HostAddress.ipv4(FORGED_BASE);
        try (Cluster cluster = oneHost(ctx -> ctx.overcommit(1).fifoGrantFractionPerMille(0), forger))
        {
            cluster.transport(0).openSocket(PORT);
            final HomaEngine server = cluster.engine(0);
            // The first request takes the one grant slot; its client keeps asking, as a live client does.
            forger[0].data(probing, FORGED_PORT, PORT, 2, 1_000_000, SMALL, 0, SMALL);
            cluster.runUntil(() -> 0 == forger[0].pending(), MS);
            // The second gets nothing granted (all it was promised has arrived) and its client says nothing more.
            forger[0].data(VICTIM, FORGED_PORT, PORT, 2, 1_000_000, SMALL, 0, SMALL);
            for (int ms = 0; ms < 60; ms++)
            {
                forger[0].resend(probing, FORGED_PORT, PORT, 2, 0, ResendFlyweight.LENGTH_ALL);
                cluster.runUntil(() -> false, MS);
            }
            assertEquals(1, server.serverRpcCount(), "the probing client's RPC lives, the silent one's is gone");
            assertEquals(1, server.metrics().get(HomaMetrics.SERVER_RPCS_RECLAIMED));
            cluster.assertNoErrors();
        }
    }

    /**
     * 7. Control packets for RPCs or peers this host does not know are counted where they are dropped.
     */
    @Test
    @Timeout(30)
    void controlPacketsForUnknownRpcsAndPeersAreCountedDrops()
    {
        final ForgingDriver[] forger = new ForgingDriver[1];
        try (Cluster cluster = oneHost(ctx -> { }, forger))
        {
            cluster.transport(0).openSocket(PORT);
            final HomaMetrics metrics = cluster.engine(0).metrics();
            forger[0].control(PacketType.RPC_UNKNOWN, VICTIM, FORGED_PORT, PORT, 7);
            forger[0].control(PacketType.BUSY, VICTIM, FORGED_PORT, PORT, 9);
            forger[0].control(PacketType.NEED_ACK, VICTIM, FORGED_PORT, PORT, 11);
            forger[0].packet(VICTIM, CutoffsFlyweight.LENGTH, (buffer) ->
            {
                final CutoffsFlyweight cutoffs = new CutoffsFlyweight().wrap(buffer, 0);
                cutoffs.initialize(PacketType.CUTOFFS, FORGED_PORT, PORT, 13);
                for (int level = 0; level < 8; level++)
                {
                    cutoffs.cutoff(level, 1_000_000 >> level);
                }
                cutoffs.cutoffVersion(2);
            });
            cluster.runUntil(() -> 0 == forger[0].pending(), MS);
            assertEquals(2, metrics.get(HomaMetrics.DROP_UNKNOWN_RPC), "RPC_UNKNOWN and BUSY for unknown RPCs");
            assertEquals(2, metrics.get(HomaMetrics.DROP_UNKNOWN_PEER), "NEED_ACK and CUTOFFS from an unknown host");
            assertEquals(0, forger[0].packetsOut, "nothing answered");
            cluster.assertNoErrors();
        }
    }

    /**
     * One transport on the instant fabric, its driver behind a {@link ForgingDriver} (returned in {@code forger}).
     */
    private static Cluster oneHost(final Consumer<HomaTransport.Context> configure, final ForgingDriver[] forger)
    {
        return new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(), 1, configure,
            (index, driver) -> forger[0] = new ForgingDriver(driver, HostilePeerTest::isForged));
    }

    private Result run(
        final String name,
        final Consumer<HomaTransport.Context> configure,
        final int shotsPerMs,
        final Shot shot,
        final LongPredicate toAttack)
    {
        final long seed = Seeds.resolve("HostilePeerTest " + name);
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(3).packetPoolSize(4096).build();
        final ForgingDriver[] forger = new ForgingDriver[1];
        try (Cluster cluster = new Cluster(fabric, 2, configure, (index, driver) ->
            0 == index ? (forger[0] = new ForgingDriver(driver, toAttack)) : driver))
        {
            final Scenario scenario = new Scenario(cluster, forger[0], new SplittableRandom(seed));
            final Prober prober = new Prober(cluster, cluster.transport(1).openSocket(0));
            final Monitor monitor = new Monitor(cluster);
            cluster.add(new Cluster.EchoServer(cluster.transport(0).openSocket(PORT)))
                .add(prober)
                .add(new Attacker(scenario, shotsPerMs, shot))
                .add(monitor);
            cluster.runUntil(() -> false, END_NS);
            prober.stop();
            cluster.runUntil(() -> 0 == prober.outstanding(), 300 * MS);
            cluster.runUntil(() -> false, 200 * MS);
            final Result result = new Result(name, cluster, prober, monitor, scenario);
            result.print();
            cluster.assertNoErrors();
            return result;
        }
    }

    private static boolean isForged(final long address)
    {
        final int index = HostAddress.ipv4Of(address) - Fabric.FIRST_HOST_IPV4;
        return index < 0 || index >= 3;
    }

    /** What an attack needs: the cluster, the forging driver in front of host 0, a seeded random source. */
    static final class Scenario
    {
        final Cluster cluster;
        final ForgingDriver forger;
        final SplittableRandom random;
        long attackerPackets;
        long attackerBytes;

        Scenario(final Cluster cluster, final ForgingDriver forger, final SplittableRandom random)
        {
            this.cluster = cluster;
            this.forger = forger;
            this.random = random;
        }

        /** Send from the attacker's own host (a real source), counting it, and drop whatever it was sent. */
        void sentFromAttacker(final FabricDriver attacker, final Packet packet, final int priority)
        {
            attackerPackets++;
            attackerBytes += packet.length();
            attacker.send(packet, Fabric.hostAddress(0), priority);
            attacker.flush();
            attacker.release(packet);
            attacker.poll(attacker::release, Integer.MAX_VALUE);
        }

        long packetsIn()
        {
            return attackerPackets + forger.forgedPackets;
        }

        long bytesIn()
        {
            return attackerBytes + forger.forgedBytes;
        }
    }

    /** One attack packet or burst. */
    interface Shot
    {
        void fire(Scenario scenario, long n);
    }

    /** Fires {@code perMs} shots per millisecond during the attack window. */
    static final class Attacker implements Steppable
    {
        private final Scenario scenario;
        private final long intervalNs;
        private final Shot shot;
        private long nextNs = ATTACK_START_NS;
        private long shots;

        Attacker(final Scenario scenario, final int perMs, final Shot shot)
        {
            this.scenario = scenario;
            this.intervalNs = MS / perMs;
            this.shot = shot;
        }

        @Override
        public int doWork()
        {
            final long now = scenario.cluster.sim.nowNs();
            if (now < nextNs || now >= ATTACK_END_NS)
            {
                return 0;
            }
            nextNs += intervalNs;
            shot.fire(scenario, shots++);
            return 1;
        }

        @Override
        public long nextDeadlineNs()
        {
            return nextNs < ATTACK_END_NS ? nextNs : Long.MAX_VALUE;
        }
    }

    /** The legitimate client: an RPC every 250 us, latencies by phase. */
    static final class Prober implements Steppable
    {
        private final Cluster cluster;
        private final HomaSocket socket;
        private final UnsafeBuffer small = new UnsafeBuffer(new byte[SMALL]);
        private final UnsafeBuffer large = new UnsafeBuffer(new byte[LARGE]);
        private final Long2LongHashMap startNs = new Long2LongHashMap(-1);
        private final Long2LongHashMap sizes = new Long2LongHashMap(-1);
        private final long[][] latencies = new long[6][8192];
        private final int[] latencyCounts = new int[6];
        final int[] started = new int[3];
        final int[] answered = new int[3];
        final int[] largeStarted = new int[3];
        final int[] largeAnswered = new int[3];
        private long nextNs = 0;
        private long count;
        private boolean stopped;

        Prober(final Cluster cluster, final HomaSocket socket)
        {
            this.cluster = cluster;
            this.socket = socket;
        }

        void stop()
        {
            stopped = true;
        }

        int outstanding()
        {
            return startNs.size();
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage message;
            while (null != (message = socket.homaRecv(HomaSocket.RECV_RESPONSE)))
            {
                final long start = startNs.remove(message.id());
                final long size = sizes.remove(message.id());
                final int phase = phaseOf(start);
                if (!message.isError() && phase >= 0)
                {
                    final int series = LARGE == size ? 3 + phase : phase;
                    if (LARGE == size)
                    {
                        largeAnswered[phase]++;
                    }
                    else
                    {
                        answered[phase]++;
                    }
                    latencies[series][latencyCounts[series]++] = cluster.sim.nowNs() - start;
                }
                message.release();
                work++;
            }
            final long now = cluster.sim.nowNs();
            if (!stopped && now >= nextNs)
            {
                nextNs += RPC_INTERVAL_NS;
                final boolean isLarge = 0 == ++count % 20;
                final int length = isLarge ? LARGE : SMALL;
                final long id = socket.homaSend(cluster.address(0), PORT, isLarge ? large : small, 0, length, 0);
                startNs.put(id, now);
                sizes.put(id, length);
                final int phase = phaseOf(now);
                if (phase >= 0)
                {
                    if (isLarge)
                    {
                        largeStarted[phase]++;
                    }
                    else
                    {
                        started[phase]++;
                    }
                }
                work++;
            }
            return work;
        }

        @Override
        public long nextDeadlineNs()
        {
            return stopped ? Long.MAX_VALUE : nextNs;
        }

        /**
         * @param series phase (small RPCs) or 3 + phase (large RPCs).
         */
        long percentileNs(final int series, final double percentile)
        {
            final int n = latencyCounts[series];
            if (0 == n)
            {
                return -1;
            }
            final long[] sorted = Arrays.copyOf(latencies[series], n);
            Arrays.sort(sorted);
            return sorted[Math.min(n - 1, (int)Math.ceil(percentile * n) - 1)];
        }
    }

    /** Samples host 0's tables and pool every millisecond. */
    static final class Monitor implements Steppable
    {
        private final Cluster cluster;
        private long nextNs;
        int maxServerRpcs;
        int maxPages;
        int maxPeers;

        Monitor(final Cluster cluster)
        {
            this.cluster = cluster;
        }

        @Override
        public int doWork()
        {
            final long now = cluster.sim.nowNs();
            if (now < nextNs)
            {
                return 0;
            }
            nextNs = now + MS;
            final HomaEngine engine = cluster.engine(0);
            if (now >= ATTACK_START_NS && now < ATTACK_END_NS + 10 * MS)
            {
                maxServerRpcs = Math.max(maxServerRpcs, engine.serverRpcCount());
                maxPages = Math.max(maxPages, engine.receivePagesInUse());
                maxPeers = Math.max(maxPeers, engine.peerCount());
            }
            return 0;
        }

        @Override
        public long nextDeadlineNs()
        {
            return nextNs;
        }
    }

    static int phaseOf(final long startNs)
    {
        if (startNs < WARMUP_NS || startNs >= END_NS)
        {
            return -1;
        }
        return startNs < ATTACK_START_NS ? 0 : startNs < ATTACK_END_NS ? 1 : 2;
    }

    /** The figures of one run. */
    static final class Result
    {
        private static final String[] PHASES = { "before", "during", "after" };
        final String name;
        final HomaTransport.Context serverContext;
        final Prober prober;
        final HomaMetrics metrics;
        final long bytesIn;
        final long packetsIn;
        final long bytesOut;
        final long packetsOut;
        final int wireOverhead;
        final int maxServerRpcs;
        final int maxPages;
        final int maxPeers;
        final int serverRpcsAfter;
        final int pagesAfter;
        final ForgingDriver forger;

        Result(
            final String name, final Cluster cluster, final Prober prober, final Monitor monitor,
            final Scenario scenario)
        {
            this.name = name;
            this.serverContext = cluster.transport(0).context();
            this.prober = prober;
            this.metrics = cluster.engine(0).metrics();
            this.forger = scenario.forger;
            this.bytesIn = scenario.bytesIn();
            this.packetsIn = scenario.packetsIn();
            this.bytesOut = forger.bytesOut;
            this.packetsOut = forger.packetsOut;
            this.wireOverhead = cluster.fabric.wireOverheadBytes();
            this.maxServerRpcs = monitor.maxServerRpcs;
            this.maxPages = monitor.maxPages;
            this.maxPeers = monitor.maxPeers;
            this.serverRpcsAfter = cluster.engine(0).serverRpcCount();
            this.pagesAfter = cluster.engine(0).receivePagesInUse();
        }

        void print()
        {
            final StringBuilder out = new StringBuilder(name).append(":\n");
            for (int phase = 0; phase < 3; phase++)
            {
                out.append(String.format("  %-6s small %d/%d answered, p50 %.1f us, p99 %.1f us; " +
                    "large %d/%d, p50 %.1f us, p99 %.1f us%n",
                    PHASES[phase], prober.answered[phase], prober.started[phase],
                    prober.percentileNs(phase, 0.50) / 1e3, prober.percentileNs(phase, 0.99) / 1e3,
                    prober.largeAnswered[phase], prober.largeStarted[phase],
                    prober.percentileNs(3 + phase, 0.50) / 1e3, prober.percentileNs(3 + phase, 0.99) / 1e3));
            }
            out.append(String.format("  attack in: %d packets, %d bytes; out to its addresses: %d packets, %d bytes " +
                "(%.2f x Homa bytes, %.2f x on the wire)%n", packetsIn, bytesIn, packetsOut, bytesOut, homaRatio(),
                wireRatio()));
            out.append(String.format("  held during the attack: at most %d server RPCs, %d receive pages, %d peers; " +
                "after: %d server RPCs, %d pages%n", maxServerRpcs, maxPages, maxPeers, serverRpcsAfter,
                pagesAfter));
            out.append(MetricsPrinter.format(metrics.snapshot()));
            System.out.println(out);
        }

        double homaRatio()
        {
            return 0 == bytesIn ? 0 : (double)bytesOut / bytesIn;
        }

        double wireRatio()
        {
            return 0 == bytesIn ? 0 :
                (double)(bytesOut + packetsOut * wireOverhead) / (bytesIn + packetsIn * wireOverhead);
        }

        /**
         * Every phase answers at least {@code minSuccess} of the small and of the large RPCs, and the p99 of the
         * small ones during and after the attack stays within {@code maxP99Ratio} of their p99 before it (plus 20 us
         * of slack), the large ones' within {@code maxLargeP99Ns}.
         */
        void assertServed(final double minSuccess, final double maxP99Ratio, final long maxLargeP99Ns)
        {
            for (int phase = 0; phase < 3; phase++)
            {
                final double small = (double)prober.answered[phase] / prober.started[phase];
                final double large = (double)prober.largeAnswered[phase] / prober.largeStarted[phase];
                assertTrue(small >= minSuccess, name + ": " + PHASES[phase] + " small RPCs answered " + small);
                assertTrue(large >= minSuccess, name + ": " + PHASES[phase] + " large RPCs answered " + large);
            }
            final long before = prober.percentileNs(0, 0.99);
            for (int phase = 1; phase < 3; phase++)
            {
                final long small = prober.percentileNs(phase, 0.99);
                assertTrue(small <= maxP99Ratio * before + 20_000, name + ": " + PHASES[phase] +
                    " p99 of small RPCs " + small + " ns against " + before + " ns before");
                final long large = prober.percentileNs(3 + phase, 0.99);
                assertTrue(large <= maxLargeP99Ns, name + ": " + PHASES[phase] + " p99 of large RPCs " + large +
                    " ns, bound " + maxLargeP99Ns);
            }
        }

        /**
         * As {@link #assertServed(double, double, long)}, the large RPCs' p99 bound as the small ones'.
         */
        void assertServed(final double minSuccess, final double maxP99Ratio)
        {
            assertServed(minSuccess, maxP99Ratio, (long)(maxP99Ratio * prober.percentileNs(3, 0.99)) + 20_000);
        }

        void assertRecovered()
        {
            assertEquals(0, serverRpcsAfter, name + ": server RPCs left after the attack");
            assertEquals(0, pagesAfter, name + ": receive pages left after the attack");
        }

        void assertAmplificationAtMost(final double homa, final double wire)
        {
            assertTrue(homaRatio() <= homa, name + ": " + homaRatio() + " x Homa bytes, bound " + homa);
            assertTrue(wireRatio() <= wire, name + ": " + wireRatio() + " x on the wire, bound " + wire);
        }
    }
}
