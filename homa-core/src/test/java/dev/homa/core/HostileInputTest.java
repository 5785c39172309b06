package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.AckFlyweight;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.RejectReason;
import dev.homa.core.wire.ResendFlyweight;
import dev.homa.nic.Packet;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricDriver;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.Seeds;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile input. Garbage, valid-looking packets with bad fields (offset past the end, huge length),
 * packets naming unknown RPCs, and a flood of new requests from many hosts are counted and dropped; tables and pools
 * stay within their configured limits, everything is reclaimed by the timers, and a legitimate client is still
 * served.
 */
class HostileInputTest
{
    private static final int PORT = 21;
    private static final int ATTACKERS = 200;
    private static final int MAX_PEERS = 64;
    private static final int MAX_SERVER_RPCS = 100;

    @Test
    @Timeout(60)
    void hostileTrafficIsCountedDroppedAndBounded()
    {
        final long seed = Seeds.resolve("HostileInputTest");
        final SplittableRandom random = new SplittableRandom(seed);
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2 + ATTACKERS).packetPoolSize(64)
            .build();
        try (Cluster cluster = new Cluster(fabric, 2, ctx -> ctx
            .maxPeers(MAX_PEERS).maxServerRpcs(MAX_SERVER_RPCS).peerIdleNs(50_000_000L).timeoutTicks(30)))
        {
            this.cluster = cluster;
            final HomaEngine victim = cluster.engine(0);
            final HomaMetrics metrics = victim.metrics();
            cluster.add(new Cluster.EchoServer(cluster.transport(0).openSocket(PORT)));
            final long target = cluster.address(0);
            final FabricDriver attacker = fabric.driverAt(2);

            // 1. Garbage of every length.
            for (int i = 0; i < 5_000; i++)
            {
                final Packet packet = attacker.acquire();
                final int length = 1 + random.nextInt(packet.capacity());
                for (int b = 0; b < length; b++)
                {
                    packet.buffer().putByte(b, (byte)random.nextInt());
                }
                send(attacker, packet.length(length), target);
                if (0 == i % 32)
                {
                    cluster.runUntil(() -> false, 1_000);
                }
            }
            cluster.runUntil(() -> false, 1_000_000);
            long decoderDrops = 0;
            for (final RejectReason reason : RejectReason.values())
            {
                if (RejectReason.NONE != reason)
                {
                    decoderDrops += metrics.get(HomaMetrics.decoderDrop(reason.ordinal()));
                }
            }
            assertTrue(decoderDrops > 4_000, "garbage rejected by the decoder: " + decoderDrops);

            // 2. DATA with the offset past the message end, and with a huge message length.
            final long pastEndBefore = metrics.get(HomaMetrics.decoderDrop(RejectReason.OFFSET_PAST_END.ordinal()));
            final long tooLongBefore = metrics.get(HomaMetrics.decoderDrop(RejectReason.MESSAGE_TOO_LONG.ordinal()));
            for (int i = 0; i < 100; i++)
            {
                send(attacker, data(attacker.acquire(), 2 * i + 2, 1_000, 5_000, 100), target);
                send(attacker, data(attacker.acquire(), 2 * i + 1002, 2_000_000_000, 0, 100), target);
            }
            cluster.runUntil(() -> false, 1_000_000);
            assertEquals(100, metrics.get(HomaMetrics.decoderDrop(RejectReason.OFFSET_PAST_END.ordinal())) -
                pastEndBefore, "offset past end");
            assertEquals(100, metrics.get(HomaMetrics.decoderDrop(RejectReason.MESSAGE_TOO_LONG.ordinal())) -
                tooLongBefore, "huge length");

            // 3. Control packets naming RPCs that do not exist.
            final long unknownBefore = metrics.get(HomaMetrics.DROP_UNKNOWN_RPC);
            for (int i = 0; i < 100; i++)
            {
                final long id = random.nextLong() | 1;
                Packet p = attacker.acquire();
                new GrantFlyweight().wrap(p.buffer(), 0).initialize(PacketType.GRANT, 40_000, PORT, id);
                send(attacker, p.length(GrantFlyweight.LENGTH), target);
                p = attacker.acquire();
                final ResendFlyweight resend = new ResendFlyweight().wrap(p.buffer(), 0);
                resend.initialize(PacketType.RESEND, 40_000, PORT, id);
                resend.length(1000);
                send(attacker, p.length(ResendFlyweight.LENGTH), target);
                p = attacker.acquire();
                final AckFlyweight ack = new AckFlyweight().wrap(p.buffer(), 0);
                ack.initialize(PacketType.ACK, 40_000, PORT, id & ~1L);
                ack.numAcks(5);
                send(attacker, p.length(AckFlyweight.LENGTH), target);
                p = attacker.acquire();
                new HomaHeaderFlyweight().wrap(p.buffer(), 0).initialize(PacketType.BUSY, 40_000, PORT, id);
                send(attacker, p.length(HomaHeaderFlyweight.COMMON_HEADER_LENGTH), target);
                // DATA "responses" for client RPCs the victim never started.
                send(attacker, data(attacker.acquire(), id, 500, 0, 500), target);
                cluster.runUntil(() -> false, 1_000);
            }
            cluster.runUntil(() -> false, 1_000_000);
            assertTrue(metrics.get(HomaMetrics.DROP_UNKNOWN_RPC) - unknownBefore >= 200, "unknown RPCs dropped");
            assertTrue(metrics.get(HomaMetrics.UNKNOWN_ANSWERS) >= 100, "RESENDs for unknown RPCs answered");
            assertTrue(metrics.get(HomaMetrics.ACKS_IGNORED) >= 100, "acks for unknown RPCs ignored");
            assertEquals(0, victim.rpcCount(), "no state created by control packets");

            // 4. A flood of new 1 MB requests (first packet only) from 200 hosts, 5 RPCs each.
            int maxServerRpcs = 0;
            int maxPeers = 0;
            int maxPages = 0;
            for (int round = 0; round < 5; round++)
            {
                for (int a = 0; a < ATTACKERS; a++)
                {
                    final FabricDriver host = fabric.driverAt(2 + a);
                    send(host, data(host.acquire(), 2 * round + 2, 1_000_000, 0, 1_000), target);
                }
                cluster.runUntil(() -> false, 10_000);
                maxServerRpcs = Math.max(maxServerRpcs, victim.serverRpcCount());
                maxPeers = Math.max(maxPeers, victim.peerCount());
                maxPages = Math.max(maxPages, victim.receivePagesInUse());
            }
            System.out.println("flood: max server RPCs " + maxServerRpcs + "/" + MAX_SERVER_RPCS + ", max peers " +
                maxPeers + "/" + MAX_PEERS + ", max receive pages " + maxPages + "/" + victim.receivePoolPages() +
                ", dropped (server RPC limit) " + metrics.get(HomaMetrics.DROP_MAX_SERVER_RPCS) +
                ", dropped (peer limit) " + metrics.get(HomaMetrics.DROP_MAX_PEERS) + ", dropped (pool) " +
                metrics.get(HomaMetrics.DROP_RECEIVE_POOL));
            assertTrue(maxServerRpcs <= MAX_SERVER_RPCS, "server RPCs bounded");
            assertTrue(maxPeers <= MAX_PEERS, "peers bounded");
            assertTrue(maxPages <= victim.receivePoolPages(), "pool bounded");
            assertTrue(metrics.get(HomaMetrics.DROP_MAX_PEERS) > 0, "peer limit hit and counted");
            assertTrue(metrics.get(HomaMetrics.DROP_RECEIVE_POOL) > 0, "pool exhaustion counted (messages wait)");

            // 5. The timers reclaim everything the flood created.
            cluster.runUntil(() -> 0 == victim.rpcCount() && 0 == victim.receivePagesInUse(), 1_000_000_000L);
            assertEquals(0, victim.rpcCount(), "flood RPCs timed out");
            assertEquals(0, victim.receivePagesInUse(), "pages returned");
            assertTrue(metrics.get(HomaMetrics.SERVER_TIMEOUTS) + metrics.get(HomaMetrics.SERVER_RPCS_RECLAIMED) > 0);
            cluster.runUntil(() -> 0 == victim.peerCount(), 1_000_000_000L);
            assertEquals(0, victim.peerCount(), "idle peers evicted");

            // 6. A legitimate client is served afterwards.
            final HomaSocket client = cluster.transport(1).openSocket(0);
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[200_000]);
            Cluster.fill(buffer, 200_000, 9);
            client.homaSend(target, PORT, buffer, 0, 200_000, 0);
            final HomaMessage[] response = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (response[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                1_000_000_000L));
            Cluster.assertPayload(response[0], 200_000, 9);
            response[0].release();
            cluster.assertNoErrors();
        }
    }

    private Packet data(
        final Packet packet, final long senderId, final int messageLength, final int offset, final int payload)
    {
        final MutableDirectBuffer buffer = packet.buffer();
        final DataHeaderFlyweight data = new DataHeaderFlyweight().wrap(buffer, 0);
        data.initialize(PacketType.DATA, 40_000, PORT, senderId);
        data.messageLength(messageLength);
        data.incoming(Math.min(messageLength, 10_000));
        data.segmentOffset(offset);
        return packet.length(DataHeaderFlyweight.HEADER_LENGTH + payload);
    }

    private Cluster cluster;

    private void send(final FabricDriver driver, final Packet packet, final long destination)
    {
        driver.send(packet, destination, 0);
        driver.flush();
        driver.release(packet);
        // Raw hosts never read their receive queues: drain them so their pools do not run dry.
        driver.poll(driver::release, Integer.MAX_VALUE);
        // Let the victim take it before its receive queue overflows.
        cluster.runUntil(() -> false, 100);
    }
}
