package dev.homa.core;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static dev.homa.core.KernelPeer.DATA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sender's choices, seen in the order its DATA packets reach a {@link KernelPeer} receiver that grants whatever
 * it is asked for: SRPT by bytes still to send (so a long message that is nearly done goes before a shorter one that
 * has barely started), and the pacer's FIFO share (one paced packet in {@code 1000 / pacerFifoFractionPerMille} goes
 * to the oldest message, so a long one does not starve behind a stream of shorter ones).
 */
class SenderSchedulingTest
{
    private static final int SERVER_PORT = 99;

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

    private HomaSocket start(final int pacerFifoFractionPerMille)
    {
        cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), 1,
            ctx -> ctx.pacerFifoFractionPerMille(pacerFifoFractionPerMille));
        kernel = new KernelPeer(cluster.fabric.driverAt(1));
        cluster.add(kernel);
        return cluster.transport(0).openSocket(0);
    }

    private void run(final long ns)
    {
        cluster.runUntil(() -> false, ns);
    }

    private void grant(final long clientId, final int port, final int offset)
    {
        kernel.send(KernelPeer.grant(SERVER_PORT, port, clientId ^ 1, offset, 0), cluster.address(0));
    }

    @Test
    @Timeout(30)
    void bytesStillToSendRankTheMessagesNotTheirLength()
    {
        final HomaSocket socket = start(0);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[300_000]);
        // X (300,000 bytes) is granted 250,000 and sends them; then Y (100,000) starts and sends its unscheduled
        // bytes; then both are granted to the end at once. X has 50,000 left, Y about 90,000: X goes first.
        final long x = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 300_000, 0);
        run(10_000);
        final int port = kernel.ofType(DATA).getFirst().sourcePort();
        grant(x, port, 250_000);
        run(1_000_000);
        final long y = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 100_000, 0);
        run(1_000_000);
        assertEquals(250_000, sentBytes(x), "X stopped at its grant");
        kernel.clear();
        grant(x, port, 300_000);
        grant(y, port, 100_000);
        run(10_000_000);
        final List<KernelPeer.Received> after = kernel.ofType(DATA);
        int lastX = -1;
        int firstY = Integer.MAX_VALUE;
        for (int i = 0; i < after.size(); i++)
        {
            final long id = after.get(i).senderId();
            if (x == id)
            {
                lastX = i;
            }
            else if (y == id)
            {
                firstY = Math.min(firstY, i);
            }
        }
        assertTrue(lastX >= 0 && firstY < Integer.MAX_VALUE, "both sent: " + after.size() + " packets");
        assertTrue(lastX < firstY, "X's last 50,000 bytes before Y's 90,000: last X packet " + lastX +
            ", first Y packet " + firstY);
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void theOldestMessageGetsThePacerFifoShare()
    {
        final HomaSocket socket = start(50);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[400_000]);
        final long old = socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 400_000, 0);
        run(10_000);
        final int port = kernel.ofType(DATA).getFirst().sourcePort();
        // A stream of shorter messages, each of which SRPT prefers to the old one, granted to their end as soon as
        // they show up; then the old one is granted to its end too.
        kernel.responder = r ->
        {
            if (DATA == r.type() && 0 == r.dataOffset() && old != r.senderId())
            {
                grant(r.senderId(), r.sourcePort(), r.messageLength());
            }
        };
        kernel.clear();
        for (int i = 0; i < 10; i++)
        {
            socket.homaSend(kernel.address, SERVER_PORT, buffer, 0, 100_000, 0);
        }
        grant(old, port, 400_000);
        run(100_000_000);
        final List<KernelPeer.Received> data = kernel.ofType(DATA);
        int lastShort = -1;
        for (int i = 0; i < data.size(); i++)
        {
            if (old != data.get(i).senderId())
            {
                lastShort = i;
            }
        }
        int oldWhileShort = 0;
        for (int i = 0; i <= lastShort; i++)
        {
            oldWhileShort += old == data.get(i).senderId() ? 1 : 0;
        }
        final double share = (double)oldWhileShort / (lastShort + 1);
        System.out.printf("pacer FIFO share: %d of %d packets went to the oldest message while shorter ones waited " +
            "(%.1f%%)%n", oldWhileShort, lastShort + 1, 100 * share);
        assertTrue(share >= 0.04 && share <= 0.06, "about one packet in 20 (5%): " + share);
        cluster.assertNoErrors();
    }

    private int sentBytes(final long id)
    {
        int bytes = 0;
        for (final KernelPeer.Received r : kernel.ofType(DATA))
        {
            bytes += id == r.senderId() ? r.payloadLength() : 0;
        }
        return bytes;
    }
}
