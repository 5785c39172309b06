package dev.homa.nic.raw;

import java.util.concurrent.TimeUnit;

import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.TestSinks;
import dev.homa.nic.frame.AllocationMeter;
import dev.homa.test.NetnsPair;
import org.agrona.MutableDirectBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
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
 * (80 bytes) may fall into one of them. With {@code offload} each burst is one message's DATA, which leaves as
 * segmentation-offload frames and arrives whole (lent) or cut back into pool packets.
 */
class RawEthernetAllocationTest
{
    private static final int BURST = 64;
    private static final int WARM_UP_CALLS = 30_000;
    private static final int WARM_UP_BURSTS = 100;
    private static final int MEASURED_BURSTS = 100;
    private static final int BATCHES = 5;
    private static final int DATA_HEADER = 56;
    private static final int SEGMENT = 1424;

    private RawEthernetDriver receiver;
    private int received;
    private boolean offload;
    private long flushBytes;
    private long pollBytes;
    private AllocationMeter meter;
    private PacketSink sink;

    @ParameterizedTest(name = "{0} lent={1} offload={2}")
    @CsvSource({ "V2,false,false", "V3,false,false", "V2,true,false", "V3,true,false", "V2,true,true",
        "V2,false,true" })
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    @Tag("allocation")
    void steadyStateSendFlushPollAllocatesNothing(
        final RawEthernetDriverContext.RxRing ring, final boolean lent, final boolean offload) throws Exception
    {
        this.offload = offload;
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
            if (offload)
            {
                // A runs DATA into offload frames only to a host it has heard Homa from.
                assertTrue(b.awaitNeighbour(a.localAddress(), TimeUnit.SECONDS.toNanos(5)));
                RawEthernetDriverTest.introduce(b, a);
            }
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
                System.out.println(ring + (lent ? " lent" : "") + (offload ? " offload" : "") + " batch " + batch +
                    ": allocated " + allocated +
                    " bytes (flush " + flushBytes +
                    ", poll " + pollBytes + ") over " + MEASURED_BURSTS * BURST +
                    " packets sent, flushed, received and released");
                least = Math.min(least, allocated);
            }
            assertEquals(0, b.counters().ringDrops() + a.counters().txDropped(), "no loss in the loop");
            assertEquals(offload, a.counters().txOffloadFrames() > 0, "offload frames");
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
                if (offload)
                {
                    writeData(packet, i);
                    a.send(packet, destination, 0);
                }
                else
                {
                    packet.buffer().putLong(0, ((long)round << 32) | i);
                    packet.buffer().setMemory(8, 120, (byte)i);
                    packet.length(128);
                    a.send(packet, destination, i & 7);
                }
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

    /** Packet {@code index} of a message of {@value #BURST} full DATA packets, with the hijacking marks. */
    private static void writeData(final Packet packet, final int index)
    {
        final MutableDirectBuffer buffer = packet.buffer();
        RawEthernetOffloadTest.writeDataHeader(buffer, index * SEGMENT, BURST * SEGMENT, -1, 0);
        buffer.setMemory(DATA_HEADER, SEGMENT, (byte)index);
        packet.length(DATA_HEADER + SEGMENT);
    }

    private static long destination(final RawEthernetDriver driver)
    {
        return driver.localAddress();
    }

    private void onPacket(final Packet packet)
    {
        // An offload frame arrives as one packet when lent, as its packets otherwise: count the packets it holds.
        received += packet.length() >= DATA_HEADER + SEGMENT ? (packet.length() - DATA_HEADER) / SEGMENT : 1;
        receiver.release(packet);
    }
}
