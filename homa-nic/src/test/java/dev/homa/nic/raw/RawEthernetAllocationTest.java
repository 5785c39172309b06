package dev.homa.nic.raw;

import java.util.concurrent.TimeUnit;

import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.TestSinks;
import dev.homa.nic.frame.AllocationMeter;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The steady-state send / flush / poll / release cycle allocates nothing on the Java heap: pool slots, iovecs,
 * mmsghdrs and the ring are preallocated, poll makes no system call, and flush's sendmmsg downcall takes only
 * primitives (a downcall with a segment argument, such as an errno capture, allocates a small context per call
 * until C2 removes it; that variant runs only after a failure). Measured with the per-thread allocation counter of
 * the HotSpot ThreadMXBean ({@link AllocationMeter}), least of five batches: the once-a-second neighbour refresh
 * (80 bytes) may fall into one of them.
 */
class RawEthernetAllocationTest
{
    private static final int BURST = 64;
    private static final int WARM_UP_CALLS = 30_000;
    private static final int WARM_UP_BURSTS = 100;
    private static final int MEASURED_BURSTS = 100;
    private static final int BATCHES = 5;

    private RawEthernetDriver receiver;
    private int received;
    private long flushBytes;
    private long pollBytes;
    private AllocationMeter meter;
    private PacketSink sink;

    @ParameterizedTest(name = "{0} lent={1}")
    @CsvSource({ "V2,false", "V3,false", "V2,true", "V3,true" })
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void steadyStateSendFlushPollAllocatesNothing(final RawEthernetDriverContext.RxRing ring, final boolean lent)
        throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        meter = new AllocationMeter();
        // Lent: the engine's way (ring frames in place, no timestamp); otherwise pool copies, as a default sink.
        sink = lent ? TestSinks.sink(this::onPacket, true, false) : this::onPacket;

        try (NetnsPair pair = NetnsPair.create("hrawal", 3);
            RawEthernetDriver a = RawEthernetDriver.fromUri(
                "raw://" + pair.ifA() + "?ring=" + ring + "&netns=" + pair.nsA());
            RawEthernetDriver b = RawEthernetDriver.fromUri(
                "raw://" + pair.ifB() + "?ring=" + ring + "&netns=" + pair.nsB()))
        {
            receiver = b;
            assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));
            final Packet[] burst = new Packet[BURST];

            // Warm-up: pools, JIT and class initialisation settle, without waiting on the ring's block timer each time.
            int inFlight = 0;
            received = 0;
            for (int i = 0; i < WARM_UP_CALLS; i++)
            {
                final Packet packet = a.acquire();
                packet.length(128);
                a.send(packet, destination(b), i & 7);
                a.flush();
                a.release(packet);
                inFlight++;
                b.poll(sink, BURST);
            }
            final long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (received < inFlight && System.nanoTime() - drainDeadline < 0)
            {
                b.poll(sink, BURST);
            }
            assertEquals(inFlight, received, "warm-up packets received");
            run(a, b, burst, WARM_UP_BURSTS);

            // Least of several batches: the JVM may allocate now and then on this thread (a compilation finishing),
            // which is not the driver's doing; a driver that allocates per packet or per call does so in every batch.
            long least = Long.MAX_VALUE;
            for (int batch = 0; batch < BATCHES; batch++)
            {
                flushBytes = 0;
                pollBytes = 0;
                final long before = meter.allocatedBytes();
                run(a, b, burst, MEASURED_BURSTS);
                final long allocated = meter.allocatedBytes() - before;
                System.out.println(ring + (lent ? " lent" : "") + " batch " + batch + ": allocated " + allocated +
                    " bytes (flush " + flushBytes +
                    ", poll " + pollBytes + ") over " + MEASURED_BURSTS * BURST +
                    " packets sent, flushed, received and released");
                least = Math.min(least, allocated);
            }
            assertEquals(0, b.counters().ringDrops() + a.counters().txDropped(), "no loss in the loop");
            assertEquals(0, least, "bytes allocated in steady state (least batch)");
        }
    }

    private void run(final RawEthernetDriver a, final RawEthernetDriver b, final Packet[] burst, final int bursts)
    {
        final long destination = b.localAddress();
        for (int round = 0; round < bursts; round++)
        {
            for (int i = 0; i < BURST; i++)
            {
                final Packet packet = a.acquire();
                packet.buffer().putLong(0, ((long)round << 32) | i);
                packet.buffer().setMemory(8, 120, (byte)i);
                packet.length(128);
                a.send(packet, destination, i & 7);
                burst[i] = packet;
            }
            final long f0 = meter.allocatedBytes();
            a.flush();
            flushBytes += meter.allocatedBytes() - f0;
            for (int i = 0; i < BURST; i++)
            {
                a.release(burst[i]);
            }
            received = 0;
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (received < BURST)
            {
                final long p0 = meter.allocatedBytes();
                final int n = b.poll(sink, BURST);
                pollBytes += meter.allocatedBytes() - p0;
                if (0 == n && System.nanoTime() - deadline > 0)
                {
                    fail("burst " + round + " incomplete: " + received);
                }
            }
        }
    }

    private static long destination(final RawEthernetDriver driver)
    {
        return driver.localAddress();
    }

    private void onPacket(final Packet packet)
    {
        received++;
        receiver.release(packet);
    }
}
