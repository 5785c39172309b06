package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A message that waits for receive-pool pages keeps its unscheduled bytes in pages held for them (a prefix), gets
 * the rest of its pages before its first GRANT, and never holds the pages every waiting message needs to finish.
 * Host 0 runs the engine; host 1 is a peer writing the kernel's packets ({@link KernelPeer}).
 */
class ReceivePrefixTest
{
    private static final int SERVER_PORT = 99;
    private static final int CLIENT_PORT = 32768;
    private static final int PAGE = 64 * 1024;

    private final Map<Long, Integer> sent = new HashMap<>();
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
     * Ten pages, one kept for short messages, messages of at most four: two complete requests the application holds
     * take eight. A third of 150,000 bytes (30,000 unscheduled) from the same peer takes one page for its unscheduled
     * bytes, which all arrive and stay; its first GRANT waits for its other two pages. Once a request is released it
     * gets them and the GRANT, asks for nothing again, and completes with every byte as sent.
     */
    @Test
    @Timeout(30)
    void aWaitingMessageKeepsItsUnscheduledBytesAndIsGrantedOnceItHasItsPages()
    {
        final HomaSocket server = start(10, ctx -> { });
        final HomaMessage first = completeRequest(server, 2);
        final HomaMessage second = completeRequest(server, 4);
        sendRange(6, 150_000, 30_000, 0, 30_000);
        run(1_000_000);
        final HomaMetrics metrics = cluster.engine(0).metrics();
        assertEquals(1, metrics.get(HomaMetrics.RECEIVE_PREFIX_HOLDS), "the third request holds a prefix");
        assertEquals(0, metrics.get(HomaMetrics.DROP_RECEIVE_POOL), "none of its unscheduled bytes dropped");
        assertEquals(9, cluster.engine(0).receivePagesInUse(), "eight pages held by the application, one prefix");
        assertTrue(grantsFor(6).isEmpty(), "no GRANT while it waits for its pages");

        kernel.clear();
        first.release();
        run(1_000_000);
        final List<KernelPeer.Received> grants = grantsFor(6);
        assertFalse(grants.isEmpty(), "granted once it has its pages");
        assertTrue(kernel.ofType(KernelPeer.RESEND).isEmpty(), "nothing asked for again");
        sendRange(6, 150_000, 30_000, 30_000, 150_000);
        run(1_000_000);
        final HomaMessage third = server.homaRecv(HomaSocket.RECV_REQUEST);
        assertFalse(null == third, "the third request complete");
        assertEquals(150_000, third.length());
        for (int i = 0; i < third.length(); i++)
        {
            // The kernel peer writes byte (offset + i) * 7 at message offset offset + i.
            assertEquals((byte)(i * 7), third.getByte(i), "byte " + i);
        }
        third.release();
        second.release();
        assertEquals(0, metrics.get(HomaMetrics.DROP_RECEIVE_POOL), "nothing dropped");
        cluster.assertNoErrors();
    }

    /**
     * With one message granted at a time, two messages that could hold a prefix hold all their pages: of four
     * requests of four pages each (30,000 bytes unscheduled) from one peer, the first takes all its pages as any
     * message of a peer with no other RPC does, the next two are those two, and the fourth holds one page until one
     * of them completes. All complete.
     */
    @Test
    @Timeout(30)
    void twiceTheOvercommitmentHoldAllTheirPagesAndTheOthersTheirPrefixes()
    {
        final HomaSocket server = start(40, ctx -> ctx.overcommit(1).fifoGrantFractionPerMille(0));
        for (int i = 0; i < 4; i++)
        {
            sendRange(2 + 2 * i, 200_000, 30_000, 0, 30_000);
        }
        run(1_000_000);
        final HomaEngine engine = cluster.engine(0);
        assertEquals(4 + 4 + 4 + 1, engine.receivePagesInUse(), "three requests whole, one prefix");
        assertEquals(1, engine.metrics().get(HomaMetrics.RECEIVE_GRANT_WAITS), "the fourth waits for its turn");
        assertEquals(4, completeAll(server, 4 + 4 + 4 + 1), "every request completes");
        assertEquals(0, engine.receivePagesInUse(), "the pool ends empty");
        cluster.assertNoErrors();
    }

    /**
     * A peer's prefixes count toward its share of the pool: with a share of ten pages and eight requests of four
     * pages each (30,000 bytes unscheduled), two take all their pages, two more hold a prefix each, and the other
     * four wait with nothing. Every one completes as the peer answers the GRANTs and RESENDs, within the share
     * throughout, and the pool ends empty.
     */
    @Test
    @Timeout(30)
    void aPeersPrefixesStayWithinItsShareAndEveryWaitingMessageFinishes()
    {
        final HomaSocket server = start(40, ctx -> ctx.maxReceiveBytesPerPeer(10L * PAGE));
        for (int i = 0; i < 8; i++)
        {
            sendRange(2 + 2 * i, 200_000, 30_000, 0, 30_000);
        }
        run(1_000_000);
        final HomaEngine engine = cluster.engine(0);
        final HomaMetrics metrics = engine.metrics();
        assertEquals(10, engine.receivePagesInUse(), "two requests' four pages and two prefixes: the peer's share");
        assertEquals(2, metrics.get(HomaMetrics.RECEIVE_PREFIX_HOLDS), "two prefixes");
        assertEquals(8, completeAll(server, 10), "every request completes");
        assertEquals(0, engine.receivePagesInUse(), "the pool ends empty");
        cluster.assertNoErrors();
    }

    /**
     * Answer the engine's GRANTs and RESENDs until it has received eight requests or stops asking, releasing each
     * request it delivers.
     *
     * @param maxPages pages the requests being received may hold.
     * @return requests delivered.
     */
    private int completeAll(final HomaSocket server, final int maxPages)
    {
        int completed = 0;
        for (int round = 0; round < 200 && completed < 8; round++)
        {
            answerGrantsAndResends();
            run(1_000_000);
            HomaMessage request;
            while (null != (request = server.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                assertEquals(200_000, request.length());
                request.release();
                completed++;
            }
            // The engine takes the released pages back in its next duty cycle.
            run(1_000);
            final int pages = cluster.engine(0).receivePagesInUse();
            assertTrue(pages <= maxPages, "the requests being received hold at most " + maxPages + " pages: " + pages);
        }
        return completed;
    }

    /**
     * Send what the engine granted or asked for again since the last call, as a kernel sender of 200,000-byte
     * messages with 30,000 bytes unscheduled would.
     */
    private void answerGrantsAndResends()
    {
        final List<KernelPeer.Received> asked = kernel.matching(
            r -> KernelPeer.GRANT == r.type() || KernelPeer.RESEND == r.type());
        kernel.clear();
        for (final KernelPeer.Received r : asked)
        {
            final long id = r.senderId() ^ 1;
            if (KernelPeer.GRANT == r.type())
            {
                final int from = sent.getOrDefault(id, 30_000);
                final int to = Math.min(200_000, r.offset());
                if (to > from)
                {
                    sendRange(id, 200_000, 30_000, from, to);
                    sent.put(id, to);
                }
            }
            else
            {
                sendRange(id, 200_000, 30_000, r.offset(), Math.min(200_000, r.offset() + r.resendLength()));
            }
        }
    }

    private HomaSocket start(final int pages, final Consumer<HomaTransport.Context> configure)
    {
        cluster = new Cluster(Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build(), 1, ctx ->
            configure.accept(ctx.maxMessageLength(200_000).receivePoolBytes((long)pages * PAGE)
                .maxReceiveBytesPerPeer((long)pages * PAGE).receiveReserveBytes(PAGE)));
        kernel = new KernelPeer(cluster.fabric.driverAt(1));
        cluster.add(kernel);
        return cluster.transport(0).openSocket(SERVER_PORT);
    }

    /** A 200,000-byte request sent whole and unscheduled: it takes four pages until released. */
    private HomaMessage completeRequest(final HomaSocket server, final long id)
    {
        sendRange(id, 200_000, 200_000, 0, 200_000);
        run(1_000_000);
        final HomaMessage request = server.homaRecv(HomaSocket.RECV_REQUEST);
        assertFalse(null == request, "request " + id + " complete");
        return request;
    }

    private void sendRange(final long id, final int length, final int incoming, final int from, final int to)
    {
        for (int offset = from; offset < to; offset += 1_000)
        {
            kernel.send(KernelPeer.data(CLIENT_PORT, SERVER_PORT, id, length, incoming, offset,
                Math.min(1_000, to - offset), 0, 0, 0, false), cluster.address(0));
        }
    }

    private List<KernelPeer.Received> grantsFor(final long clientId)
    {
        return kernel.matching(r -> KernelPeer.GRANT == r.type() && r.senderId() == (clientId ^ 1));
    }

    private void run(final long ns)
    {
        cluster.runUntil(() -> false, ns);
    }
}
