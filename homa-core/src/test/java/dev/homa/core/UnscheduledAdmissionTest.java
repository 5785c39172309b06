package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.NicDriver;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import static dev.homa.core.KernelPeer.DATA;
import static dev.homa.core.KernelPeer.RESEND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A sender starts at most {@code maxUngrantedPerPeer} messages that need grants toward one receiver before the
 * receiver grants any of them; the others wait with nothing sent, count no silence, and start shortest first as
 * earlier ones are granted or end. Messages that need no GRANT never wait. Host 0 runs the engine as a client; host 1
 * is a receiver writing the kernel's packets ({@link KernelPeer}), which grants only when the test says so.
 */
class UnscheduledAdmissionTest
{
    private static final int SERVER_PORT = 99;
    private static final int UNSCHEDULED = 10_000;

    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[200_000]);
    private Cluster cluster;
    private KernelPeer kernel;

    @AfterEach
    void close()
    {
        if (null != cluster)
        {
            cluster.close();
        }
    }

    /**
     * Two of five long requests start; a short one goes at once. The three held send nothing and ask nothing while
     * the receiver stays silent for several resend intervals (it answers each RESEND with BUSY). A GRANT for the
     * first starts the shortest held (60,000 bytes, not the older 120,000), a GRANT for the second the next shortest.
     */
    @Test
    @Timeout(30)
    void heldMessagesWaitSilentlyAndStartShortestFirstAsEarlierOnesAreGranted()
    {
        final HomaSocket socket = start(2);
        final long a = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 200_000, 0);
        final long b = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 150_000, 0);
        final long c = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 120_000, 0);
        final long d = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 60_000, 0);
        final long e = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 90_000, 0);
        final long shortOne = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 5_000, 0);
        kernel.responder = r ->
        {
            if (RESEND == r.type())
            {
                kernel.send(KernelPeer.control(KernelPeer.BUSY, SERVER_PORT, r.sourcePort(), r.senderId() ^ 1),
                    cluster.address(0));
            }
        };
        run(30_000_000);
        final int unscheduled = sentBytes(a);
        assertTrue(unscheduled >= UNSCHEDULED && unscheduled < 20_000, "the first starts: " + unscheduled);
        assertEquals(unscheduled, sentBytes(b), "the second starts");
        assertEquals(5_000, sentBytes(shortOne), "a message that needs no GRANT never waits");
        for (final long held : new long[] {c, d, e})
        {
            assertEquals(0, sentBytes(held), "held: " + held);
            assertTrue(kernel.matching(r -> RESEND == r.type() && r.senderId() == held).isEmpty(),
                "a held message asks nothing: " + held);
        }
        assertEquals(3, cluster.engine(0).metrics().get(HomaMetrics.UNSCHEDULED_ADMISSION_WAITS));

        grant(a, 20_000);
        run(1_000_000);
        assertEquals(unscheduled, sentBytes(d), "the shortest held starts");
        assertEquals(0, sentBytes(c) + sentBytes(e), "the others still wait");

        grant(b, 20_000);
        run(1_000_000);
        assertEquals(unscheduled, sentBytes(e), "then the next shortest");
        assertEquals(0, sentBytes(c), "the longest still waits");
        cluster.assertNoErrors();
    }

    /**
     * A message awaiting its first GRANT whose RPC ends (its caller cancels the call) makes room for a held one.
     */
    @Test
    @Timeout(30)
    void anEndedRpcMakesRoomForAHeldMessage()
    {
        final HomaSocket socket = start(1);
        final CompletableFuture<HomaMessage> first = socket.call(kernel.address, SERVER_PORT, buffer, 0, 100_000);
        final long second = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 100_000, 0);
        run(1_000_000);
        final int unscheduled = kernel.ofType(DATA).size() * kernel.ofType(DATA).getFirst().payloadLength();
        assertTrue(unscheduled >= UNSCHEDULED, "the first starts: " + unscheduled);
        assertEquals(0, sentBytes(second), "held behind the first");
        first.cancel(false);
        run(1_000_000);
        assertEquals(unscheduled, sentBytes(second), "started once the first ended");
        cluster.assertNoErrors();
    }

    /**
     * Shortest first, but for the pacer's FIFO share: with one admission in ten going to the oldest held message, a
     * long message held behind a stream of shorter ones starts at the tenth admission, not never.
     */
    @Test
    @Timeout(30)
    void theOldestHeldMessageStartsAtTheFifoShareBehindAStreamOfShorterOnes()
    {
        final HomaSocket socket = start(1, ctx -> ctx.pacerFifoFractionPerMille(100));
        socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 100_000, 0);
        final long longOne = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 150_000, 0);
        final Set<Long> granted = new HashSet<>();
        for (int admission = 1; admission <= 10; admission++)
        {
            socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 60_000, 0);
            run(1_000_000);
            assertEquals(0, sentBytes(longOne), "still held before admission " + admission);
            final List<Long> started = new ArrayList<>();
            for (final KernelPeer.Received r : kernel.ofType(DATA))
            {
                if (!granted.contains(r.senderId()) && !started.contains(r.senderId()))
                {
                    started.add(r.senderId());
                }
            }
            assertEquals(1, started.size(), "one message awaits its first GRANT: " + started);
            granted.add(started.getFirst());
            grant(started.getFirst(), 20_000);
        }
        run(1_000_000);
        assertTrue(sentBytes(longOne) > 0, "the oldest starts at the tenth admission");
        cluster.assertNoErrors();
    }

    /**
     * A RESEND for a message awaiting its first GRANT shows the receiver has it, as a GRANT would: a held one starts.
     */
    @Test
    @Timeout(30)
    void aResendFromTheReceiverCountsAsItsFirstWord()
    {
        final HomaSocket socket = start(1);
        final long first = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 100_000, 0);
        final long second = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 100_000, 0);
        run(1_000_000);
        final int unscheduled = sentBytes(first);
        assertEquals(0, sentBytes(second), "held behind the first");
        final int port = kernel.ofType(DATA).getFirst().sourcePort();
        kernel.send(KernelPeer.resend(SERVER_PORT, port, first ^ 1, 0, 1_000, 0), cluster.address(0));
        run(1_000_000);
        assertEquals(unscheduled, sentBytes(second), "started once the receiver asked for part of the first");
        cluster.assertNoErrors();
    }

    /**
     * The default: the overcommitment on a path without a transmit queue (loopback, veth), no limit where packets
     * wait in a NIC's queue; a value set is kept.
     */
    @Test
    @Timeout(30)
    void theLimitIsTheOvercommitmentOnASoftwarePathAndNoneElsewhere()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            final NicDriver driver = fabric.driverAt(0);
            assertEquals(6, concluded(new PathDriver(driver).transmitQueue(false), -1, 6));
            assertEquals(0, concluded(new PathDriver(driver).transmitQueue(true), -1, 6));
            assertEquals(3, concluded(new PathDriver(driver).transmitQueue(true), 3, 6));
            assertEquals(0, concluded(new PathDriver(driver).transmitQueue(false), 0, 6));
        }
    }

    private static int concluded(final NicDriver driver, final int limit, final int overcommit)
    {
        final HomaTransport.Context ctx =
            new HomaTransport.Context().driver(driver).maxUngrantedPerPeer(limit).overcommit(overcommit);
        ctx.concludeGrants(1_000, driver);
        return ctx.maxUngrantedPerPeer();
    }

    private HomaSocket start(final int limit)
    {
        return start(limit, ctx -> { });
    }

    private HomaSocket start(final int limit, final Consumer<HomaTransport.Context> configure)
    {
        cluster = new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(), 1,
            ctx -> configure.accept(ctx.maxUngrantedPerPeer(limit).unscheduledBytes(UNSCHEDULED)));
        kernel = new KernelPeer(cluster.fabric.driverAt(1));
        cluster.add(kernel);
        return cluster.transport(0).openSocket(0);
    }

    private void grant(final long clientId, final int offset)
    {
        final int port = kernel.ofType(DATA).getFirst().sourcePort();
        kernel.send(KernelPeer.grant(SERVER_PORT, port, clientId ^ 1, offset, 0), cluster.address(0));
    }

    private int sentBytes(final long clientId)
    {
        int bytes = 0;
        for (final KernelPeer.Received r : kernel.matching(r -> DATA == r.type() && r.senderId() == clientId))
        {
            bytes += r.payloadLength();
        }
        return bytes;
    }

    private void run(final long ns)
    {
        cluster.runUntil(() -> false, ns);
    }
}
