package dev.homa.bench.rtt;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.homa.bench.driver.VethNamespaces;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark's floor paths work: a few hundred round trips over a real veth between two namespaces, both sides
 * in this JVM on threads that entered their namespace. Skips, saying why, where namespaces cannot be built.
 */
class FloorRttSmokeTest
{
    private static final int ROUND_TRIPS = 300;
    private static VethNamespaces hosts;

    @BeforeAll
    static void buildHosts()
    {
        final String reason = VethNamespaces.skipReasonIfUnavailable();
        Assumptions.assumeTrue(null == reason, () -> "skipped: " + reason);
        hosts = VethNamespaces.create("hbsmoke", 78);
    }

    @AfterAll
    static void removeHosts()
    {
        if (null != hosts)
        {
            hosts.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = RttPath.class, names = { "AF_PACKET", "AF_PACKET_RECV", "KERNEL_UDP" })
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void floorEchoesEveryRoundTrip(final RttPath path) throws Exception
    {
        final RttSetup setup = new RttSetup(VethNamespaces.IF_A, VethNamespaces.IF_B, hosts.ipA(), hosts.ipB(),
            hosts.macA(), hosts.macB(), 41_001, 41_002, 100);
        final ExecutorService serverThread = Executors.newSingleThreadExecutor(
            VethNamespaces.threadsIn(hosts.nsB()));
        final ExecutorService clientThread = Executors.newSingleThreadExecutor(
            VethNamespaces.threadsIn(hosts.nsA()));
        final AtomicBoolean stop = new AtomicBoolean();
        try
        {
            final Future<RttServer> server = serverThread.submit(() -> RttEndpoints.server(path, setup));
            final RttServer echo = server.get(10, TimeUnit.SECONDS);
            final Future<Long> answered = serverThread.submit(() ->
            {
                try (echo)
                {
                    while (!stop.get())
                    {
                        if (0 == echo.doWork())
                        {
                            Thread.onSpinWait();
                        }
                    }
                    return echo.answered();
                }
            });
            final Future<Integer> replies = clientThread.submit(() ->
            {
                int matched = 0;
                try (RttClient client = RttEndpoints.client(path, setup))
                {
                    for (long sequence = 1; sequence <= ROUND_TRIPS; sequence++)
                    {
                        final long rttNs = client.roundTrip(sequence, TimeUnit.SECONDS.toNanos(1));
                        if (rttNs > 0)
                        {
                            matched++;
                        }
                    }
                }
                return matched;
            });
            assertEquals(ROUND_TRIPS, replies.get(15, TimeUnit.SECONDS), "round trips answered in time");
            stop.set(true);
            assertTrue(answered.get(5, TimeUnit.SECONDS) >= ROUND_TRIPS, "server answered every request");
        }
        finally
        {
            stop.set(true);
            clientThread.shutdownNow();
            serverThread.shutdownNow();
        }
    }
}
