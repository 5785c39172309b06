package dev.homa.nic.loopback;

import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.agrona.DirectBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults at configured rates. Rate checks use a binomial tolerance of {@value #SIGMAS} standard deviations:
 * |observed - n p| <= 5 sqrt(n p (1 - p)), a false alarm about once in 1.7 million checks. Every test prints its
 * seed and replays with {@code -Dhoma.seed=...}.
 */
@Timeout(30)
class FaultInjectionTest
{
    private static final double SIGMAS = 5.0;
    private static final int PAYLOAD = 64;

    private static void assertRate(final String what, final long observed, final long trials, final double rate)
    {
        final double expected = trials * rate;
        final double tolerance = SIGMAS * Math.sqrt(trials * rate * (1 - rate));
        System.out.printf("%s: observed %d of %d (%.4f%%), setting %.4f%%, tolerance +/-%.0f%n",
            what, observed, trials, 100.0 * observed / trials, 100 * rate, tolerance);
        assertTrue(Math.abs(observed - expected) <= tolerance,
            what + ": observed " + observed + " expected " + expected + " +/- " + tolerance);
    }

    private static void fill(final Packet packet, final int sequence)
    {
        packet.length(PAYLOAD);
        packet.buffer().putInt(0, sequence, ByteOrder.BIG_ENDIAN);
        for (int i = 4; i < PAYLOAD; i++)
        {
            packet.buffer().putByte(i, (byte)(sequence * 31 + i));
        }
    }

    /** Receiver-side view: distinct, duplicate and late arrivals by sequence number. */
    private static final class Tally
    {
        final BitSet seen = new BitSet();
        int distinct;
        int duplicates;
        int late;
        int maxSeen = -1;

        /**
         * @param driver the driver polled.
         * @return a sink that tallies each packet and hands it back to the driver.
         */
        PacketSink releasingTo(final FabricDriver driver)
        {
            return (packet) ->
            {
                onPacket(packet.buffer());
                driver.release(packet);
            };
        }

        void onPacket(final DirectBuffer buffer)
        {
            final int sequence = buffer.getInt(0, ByteOrder.BIG_ENDIAN);
            if (seen.get(sequence))
            {
                duplicates++;
                return;
            }
            seen.set(sequence);
            distinct++;
            if (sequence < maxSeen)
            {
                late++;
            }
            maxSeen = Math.max(maxSeen, sequence);
        }
    }

    @Test
    void lossDuplicationAndReorderRatesMatchSettingsOver100kPackets()
    {
        final long seed = Seeds.resolve("FaultInjectionTest.rates");
        final double loss = 0.05;
        final double duplicate = 0.01;
        final double reorder = 0.01;
        final int n = 100_000;
        final int batch = 1000;
        final RandomFaultInjector injector = new RandomFaultInjector(seed)
            .lossRate(loss).duplicateRate(duplicate).reorderRate(reorder);
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).packetPoolSize(4096)
            .faultInjector(injector).build();
        final FabricDriver a = fabric.driverAt(0);
        final FabricDriver b = fabric.driverAt(1);
        final Packet packet = a.acquire();
        final Tally tally = new Tally();
        for (int sent = 0; sent < n; )
        {
            for (int i = 0; i < batch; i++, sent++)
            {
                // One slot serves every send: flush copies it out before the next fill.
                fill(packet, sent);
                a.send(packet, b.localAddress(), 0);
                a.flush();
            }
            b.poll(tally.releasingTo(b), Integer.MAX_VALUE);
        }

        final int lost = n - tally.distinct;
        assertRate("loss", lost, n, loss);
        assertRate("duplication", tally.duplicates, tally.distinct, duplicate);
        // The receiver polls once per batch; a held-back packet is released when the receive queue drains, so it
        // is overtaken unless it was the last of its batch: expected rate reorder x (1 - 1/batch).
        assertRate("reorder", tally.late, tally.distinct, reorder * (1 - 1.0 / batch));
        assertEquals(lost, fabric.lossDrops());
        assertEquals(tally.duplicates, fabric.duplicates());
        assertEquals(0, b.rxPoolDrops());
    }

    @Test
    void timedFaultRatesAndRealReordering()
    {
        final long seed = Seeds.resolve("FaultInjectionTest.timed");
        final double loss = 0.05;
        final double duplicate = 0.02;
        final double reorder = 0.02;
        final int n = 20_000;
        final RandomFaultInjector injector = new RandomFaultInjector(seed)
            .lossRate(loss).duplicateRate(duplicate).reorderRate(reorder).maxReorderDelayNs(20_000);
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).packetPoolSize(256)
            .faultInjector(injector).build();
        final FabricDriver a = fabric.driverAt(0);
        final FabricDriver b = fabric.driverAt(1);
        final Packet packet = a.acquire();
        final Tally tally = new Tally();
        for (int i = 0; i < n; i++)
        {
            fill(packet, i);
            a.send(packet, b.localAddress(), i & 7);
            a.flush();
            fabric.scheduler().runUntil(fabric.clock().nanoTime() + 200);
            b.poll(tally.releasingTo(b), Integer.MAX_VALUE);
        }
        while (fabric.scheduler().runNext())
        {
            b.poll(tally.releasingTo(b), Integer.MAX_VALUE);
        }
        b.poll(tally.releasingTo(b), Integer.MAX_VALUE);

        assertRate("timed loss", n - tally.distinct, n, loss);
        assertRate("timed duplication", tally.duplicates, tally.distinct, duplicate);
        // A held frame (delay up to 20 us, frames every 200 ns) is overtaken unless its delay is under one gap.
        System.out.printf("timed reorder: %d late arrivals of %d (%.4f%%)%n",
            tally.late, tally.distinct, 100.0 * tally.late / tally.distinct);
        assertTrue(tally.late > 0.8 * reorder * tally.distinct, "late arrivals " + tally.late);
        assertRate("timed reorder decisions", fabric.reorders(), n - fabric.lossDrops(), reorder);
        assertEquals(0, fabric.framesInFlight());
    }

    @Test
    void corruptionFlipsExactlyOneByteOfTheReceivedCopy()
    {
        final long seed = Seeds.resolve("FaultInjectionTest.corruption");
        final double corrupt = 0.02;
        final int n = 20_000;
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).packetPoolSize(64)
            .faultInjector(new RandomFaultInjector(seed).corruptRate(corrupt)).build();
        final FabricDriver a = fabric.driverAt(0);
        final FabricDriver b = fabric.driverAt(1);
        final Packet packet = a.acquire();
        final Packet reference = b.acquire();
        final int[] corrupted = new int[1];
        for (int i = 0; i < n; i++)
        {
            fill(packet, i);
            a.send(packet, b.localAddress(), 0);
            a.flush();
            fill(reference, i);
            for (int j = 0; j < PAYLOAD; j++)
            {
                assertEquals(reference.buffer().getByte(j), packet.buffer().getByte(j), "sender's copy untouched");
            }
            b.poll(p ->
            {
                int differing = 0;
                for (int j = 0; j < PAYLOAD; j++)
                {
                    differing += p.buffer().getByte(j) != reference.buffer().getByte(j) ? 1 : 0;
                }
                assertTrue(differing <= 1, "at most one byte flipped: " + differing);
                corrupted[0] += differing;
                b.release(p);
            }, Integer.MAX_VALUE);
        }
        assertEquals(fabric.corruptions(), corrupted[0]);
        assertRate("corruption", corrupted[0], n, corrupt);
    }

    @Test
    void sameSeedSameTraceDifferentSeedDifferentTrace()
    {
        final long seed = Seeds.resolve("FaultInjectionTest.trace");
        final FabricTraceRecorder first = runTraffic(seed);
        final FabricTraceRecorder second = runTraffic(seed);
        final FabricTraceRecorder other = runTraffic(seed + 1);
        assertTrue(first.count() > 10_000, "events " + first.count());
        assertEquals(first.lines(), second.lines());
        assertEquals(first.digest(), second.digest());
        assertNotEquals(first.digest(), other.digest());
        assertNotEquals(first.lines(), other.lines());
    }

    /** All-to-all traffic of random sizes and priorities (fixed pattern) under seeded faults on a timed fabric. */
    private static FabricTraceRecorder runTraffic(final long faultSeed)
    {
        final int hosts = 4;
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(hosts).packetPoolSize(512)
            .portBufferBytes(40_000)
            .faultInjector(new RandomFaultInjector(faultSeed)
                .lossRate(0.02).duplicateRate(0.01).reorderRate(0.01).corruptRate(0.01))
            .build();
        final FabricTraceRecorder recorder = new FabricTraceRecorder(false, 100_000);
        fabric.addTraceListener(recorder);
        final SplittableRandom traffic = new SplittableRandom(12345);
        for (int round = 0; round < 1000; round++)
        {
            for (int h = 0; h < hosts; h++)
            {
                final FabricDriver driver = fabric.driverAt(h);
                final Packet packet = driver.acquire();
                packet.length(1 + traffic.nextInt(driver.maxPacketLength()));
                packet.buffer().putInt(0, round * hosts + h, ByteOrder.BIG_ENDIAN);
                final int to = traffic.nextInt(hosts);
                driver.send(packet, fabric.driverAt(to).localAddress(), traffic.nextInt(8));
                driver.flush();
                driver.release(packet);
            }
            fabric.scheduler().runUntil(fabric.clock().nanoTime() + 1000);
            for (int h = 0; h < hosts; h++)
            {
                final FabricDriver driver = fabric.driverAt(h);
                driver.poll(driver::release, Integer.MAX_VALUE);
            }
        }
        fabric.scheduler().runUntil(fabric.clock().nanoTime() + 1_000_000);
        return recorder;
    }

    @Test
    void perLinkInjectorAffectsOnlyItsDirectedLink()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).packetPoolSize(64).build();
        final long a = fabric.driverAt(0).localAddress();
        final long b = fabric.driverAt(1).localAddress();
        final int[] asked = new int[1];
        // Like Aeron's FixedLossGenerator: lose exactly the third frame from a to b.
        fabric.faultInjector(a, b, new FaultInjector()
        {
            @Override
            public boolean shouldDrop(final long source, final long destination, final DirectBuffer buffer,
                final int length)
            {
                return 3 == ++asked[0];
            }
        });
        for (int i = 0; i < 5; i++)
        {
            final Packet ab = fabric.driverAt(0).acquire();
            fill(ab, i);
            fabric.driverAt(0).send(ab, b, 0);
            fabric.driverAt(0).flush();
            fabric.driverAt(0).release(ab);
            final Packet ba = fabric.driverAt(1).acquire();
            fill(ba, i);
            fabric.driverAt(1).send(ba, a, 0);
            fabric.driverAt(1).flush();
            fabric.driverAt(1).release(ba);
        }
        assertEquals(5, asked[0]);
        assertEquals(4, fabric.driverAt(1).receiveQueueDepth());
        assertEquals(5, fabric.driverAt(0).receiveQueueDepth());
        final Tally tally = new Tally();
        fabric.driverAt(1).poll(p -> tally.onPacket(p.buffer()), 10);
        assertTrue(!tally.seen.get(2) && tally.seen.get(3), "sequence 2 (the third) lost");
    }
}
