package dev.homa.core;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.SwitchPort;
import dev.homa.nic.loopback.Steppable;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Controlled overcommitment.
 */
class OvercommitTest
{
    private static final int PORT = 13;
    private static final int SENDERS = 8;
    private static final int LENGTH = 400_000;

    /**
     * K = 4 in the default mode (a message keeps its slot until fully received, as the current kernel) with eight
     * long messages to one receiver: after every step of the simulation, at most four incoming messages hold
     * scheduled grants not yet filled with data, and four are reached (the overcommitment is used).
     */
    @Test
    @Timeout(60)
    void neverMoreThanKMessagesHoldGrants()
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(SENDERS + 1).build(),
            ctx -> ctx.overcommit(4).fifoGrantFractionPerMille(0)))
        {
            final int[] max = new int[1];
            final long[] samples = new long[1];
            final HomaEngine receiver = cluster.engine(SENDERS);
            cluster.add(new Steppable()
            {
                public int doWork()
                {
                    max[0] = Math.max(max[0], receiver.messagesWithOutstandingGrants());
                    samples[0]++;
                    return 0;
                }
            });
            final long elapsed = transfer(cluster);
            System.out.println("K=4: max messages with outstanding grants " + max[0] + " over " + samples[0] +
                " samples; 8 x " + LENGTH + " bytes in " + elapsed + " ns");
            assertTrue(max[0] <= 4, "more than K=4 messages held grants: " + max[0]);
            assertEquals(4, max[0], "overcommitment used");
            cluster.assertNoErrors();
        }
    }

    /**
     * Senders made slow (each host runs its duty cycle at most once every 20 µs, as a busy host would, so it answers
     * a grant late and pushes at most a pacer's worth of packets per wake-up) and a grant window of one RTT of bytes
     * (the paper's setting; the kernel's dynamic window would hide the effect): with K = 1 the receiver's downlink
     * idles measurably more than with K = 4.
     */
    @Test
    @Timeout(60)
    void singleGrantIdlesTheLinkWhenSendersAreSlow()
    {
        final double idleK1 = idleFraction(1);
        final double idleK4 = idleFraction(4);
        System.out.printf("slow senders: receiver downlink idle %.1f%% with K=1, %.1f%% with K=4%n",
            100 * idleK1, 100 * idleK4);
        assertTrue(idleK1 > idleK4 + 0.15, "K=1 idle " + idleK1 + " vs K=4 idle " + idleK4);
    }

    private static double idleFraction(final int overcommit)
    {
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(SENDERS + 1).build(),
            ctx -> ctx.overcommit(overcommit).windowBytes(11_392).fifoGrantFractionPerMille(0)))
        {
            for (int s = 0; s < SENDERS; s++)
            {
                cluster.slowHost(s, 20_000);
            }
            final SwitchPort port = cluster.fabric.port(cluster.address(SENDERS));
            final long idleBefore = port.idleNs();
            final long elapsed = transfer(cluster);
            final long idle = port.idleNs() - idleBefore;
            cluster.assertNoErrors();
            return (double)idle / elapsed;
        }
    }

    private static long transfer(final Cluster cluster)
    {
        final HomaSocket server = cluster.transport(SENDERS).openSocket(PORT);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[LENGTH]);
        for (int s = 0; s < SENDERS; s++)
        {
            cluster.transport(s).openSocket(0).homaSend(cluster.address(SENDERS), PORT, buffer, 0, LENGTH, 0);
        }
        final long start = cluster.sim.nowNs();
        final int[] done = new int[1];
        assertTrue(cluster.runUntil(() ->
        {
            HomaMessage m;
            while (null != (m = server.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                m.release();
                done[0]++;
            }
            return SENDERS == done[0];
        }, 2_000_000_000L), "all messages received");
        return cluster.sim.nowNs() - start;
    }
}
