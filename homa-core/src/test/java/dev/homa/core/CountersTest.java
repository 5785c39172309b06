package dev.homa.core;

import dev.homa.core.metrics.CountersFile;
import dev.homa.core.metrics.HomaCounter;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.metrics.MetricsSnapshot;
import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.NicDriver;
import dev.homa.nic.PacketSink;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The counters are one model: every counter of the engine, the grant scheduler and the driver has one slot and one
 * label, readable in the process and from the counters file alike; and a duty cycle longer than the threshold is
 * counted as a stall.
 */
final class CountersTest
{
    private static final int PORT = 40;

    @Test
    void everyCounterHasOneSlotAndOneLabel()
    {
        final HomaMetrics metrics = new HomaMetrics();
        final String[] names = metrics.names();
        assertEquals(HomaCounter.ENGINE_COUNTERS, names.length);
        final Set<String> labels = new HashSet<>();
        int next = 0;
        for (final HomaCounter counter : HomaCounter.values())
        {
            assertEquals(next, counter.id(), counter + " follows the one before it");
            for (int member = 0; member < counter.count(); member++)
            {
                assertEquals(counter.label(member), names[counter.id(member)]);
                assertTrue(labels.add(counter.label(member)), "label " + counter.label(member) + " used twice");
            }
            next += counter.count();
        }
        assertEquals("packets_sent.GRANT", names[HomaMetrics.PACKETS_SENT + 1]);
        assertEquals("drop.decoder.TOO_SHORT", names[HomaMetrics.decoderDrop(2)]);
    }

    @Test
    @Timeout(20)
    void grantAndDriverCountersSitBesideTheEnginesInProcessAndInTheFile(@TempDir final Path dir)
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build())
        {
            final CountingDriver serverDriver = new CountingDriver(fabric.driverAt(1));
            try (HomaTransport client = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(0))
                    .countersEnabled(false));
                HomaTransport server = HomaTransport.launch(new HomaTransport.Context().driver(serverDriver)
                    .countersDir(dir.toString()).countersIntervalNs(1)))
            {
                final HomaSocket serverSocket = server.openSocket(PORT);
                final HomaSocket clientSocket = client.openSocket(0);
                final int length = 200_000;
                clientSocket.homaSend(fabric.driverAt(1).localAddress(), PORT, new UnsafeBuffer(new byte[length]), 0,
                    length, 0);
                HomaMessage request = null;
                for (int i = 0; i < 10_000 && null == request; i++)
                {
                    client.doWork();
                    server.doWork();
                    request = serverSocket.homaRecv(HomaSocket.RECV_REQUEST);
                }
                assertNotNull(request, "a request long enough to need grants arrived");
                request.release();
                // Every duty cycle publishes (countersIntervalNs 1): the driver's count reaches the metrics and the
                // file in the cycle that made it.
                server.doWork();

                final MetricsSnapshot snapshot = server.metrics().snapshot();
                assertTrue(snapshot.get("grant.sent") > 0, "the grant scheduler's count");
                assertEquals(snapshot.get("packets_sent.GRANT"), snapshot.get("grant.sent"));
                assertTrue(snapshot.get("driver.polls") > 0, "the driver's count");
                assertEquals(serverDriver.polls, snapshot.get("driver.polls"));

                try (CountersFile.Reader file = new CountersFile.Reader(CountersFile.live(dir).getFirst()))
                {
                    assertEquals(snapshot.get("grant.sent"), file.value("grant.sent"));
                    assertEquals(serverDriver.polls, file.value("driver.polls"));
                }
            }
        }
    }

    @Test
    @Timeout(20)
    void aDutyCycleLongerThanTheThresholdCountsAsAStall()
    {
        assertEquals(0, stallsOfAnEcho(60_000_000_000L), "no working cycle takes a minute");
        assertTrue(stallsOfAnEcho(1) > 0, "every working cycle takes longer than a nanosecond");
    }

    private static long stallsOfAnEcho(final long thresholdNs)
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(0))
                .countersEnabled(false).dutyCycleStallThresholdNs(thresholdNs));
            HomaTransport server = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(1))
                .countersEnabled(false)))
        {
            final HomaSocket serverSocket = server.openSocket(PORT);
            final HomaSocket clientSocket = client.openSocket(0);
            clientSocket.homaSend(fabric.driverAt(1).localAddress(), PORT, new UnsafeBuffer(new byte[100]), 0, 100, 0);
            HomaMessage request = null;
            for (int i = 0; i < 1_000 && null == request; i++)
            {
                client.doWork();
                server.doWork();
                request = serverSocket.homaRecv(HomaSocket.RECV_REQUEST);
            }
            assertNotNull(request);
            request.release();
            assertTrue(client.metrics().get(HomaCounter.DUTY_CYCLE_MAX_NS) > 0, "the longest cycle is kept");
            return client.metrics().get(HomaCounter.DUTY_CYCLE_STALLS);
        }
    }

    /**
     * A fabric driver with one counter of its own, as the UDP and raw drivers have several.
     */
    private static final class CountingDriver extends ForwardingNicDriver
    {
        private long polls;

        CountingDriver(final NicDriver delegate)
        {
            super(delegate);
        }

        @Override
        public int poll(final PacketSink sink, final int limit)
        {
            polls++;
            return delegate.poll(sink, limit);
        }

        @Override
        public int counterCount()
        {
            return 1;
        }

        @Override
        public String counterName(final int index)
        {
            return "polls";
        }

        @Override
        public long counterValue(final int index)
        {
            return polls;
        }
    }
}
