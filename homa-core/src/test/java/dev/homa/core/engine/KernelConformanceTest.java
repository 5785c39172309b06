package dev.homa.core.engine;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.RejectReason;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.function.Consumer;

import static dev.homa.core.engine.KernelPeer.CUTOFFS;
import static dev.homa.core.engine.KernelPeer.DATA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine against a peer that behaves as the current kernel module (HomaModule) and writes its packets with the
 * kernel's layout from its own bytes ({@link KernelPeer}): host 0 runs the engine, host 1 is the kernel peer.
 */
class KernelConformanceTest
{
    private static final int SERVER_PORT = 99;
    private static final int KERNEL_CLIENT_PORT = 32768;
    private static final int[] KERNEL_DEFAULT_CUTOFFS = { 0, 0, 0, 0, 1_000_000, 15_000, 2_800, 200 };

    private Cluster cluster;
    private KernelPeer kernel;

    private void start(final FabricMode mode, final Consumer<HomaTransport.Context> configure)
    {
        cluster = new Cluster(Fabric.builder().mode(mode).hosts(2).build(), 1, configure);
        kernel = new KernelPeer(cluster.fabric.driverAt(1));
        cluster.add(kernel);
    }

    @AfterEach
    void close()
    {
        if (null != cluster)
        {
            cluster.close();
        }
    }

    private long engineAddress()
    {
        return cluster.address(0);
    }

    private void run(final long ns)
    {
        cluster.runUntil(() -> false, ns);
    }

    private long decoderRejects()
    {
        long rejects = 0;
        for (int reason = 1; reason < RejectReason.count(); reason++)
        {
            rejects += cluster.engine(0).metrics().get(HomaMetrics.decoderDrop(reason));
        }
        return rejects;
    }

    /** The kernel peer answers an engine request's first packet with a complete one-packet response. */
    private void respond(final KernelPeer.Received request, final int length)
    {
        kernel.send(KernelPeer.data(request.destinationPort(), request.sourcePort(), request.senderId() ^ 1, length,
            length, 0, length, 0, 0, 0, false), engineAddress());
    }

    @Test
    @Timeout(30)
    void kernelDefaultCutoffsAreAcceptedAndUsed()
    {
        start(FabricMode.INSTANT, ctx -> {});
        {
            final HomaSocket client = cluster.transport(0).openSocket(0);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[20_000]);
            client.homaSend(kernel.address, SERVER_PORT, request, 0, 100, 0);
            run(10_000);
            final KernelPeer.Received first = kernel.ofType(DATA).getFirst();
            assertEquals(0, first.u16(46), "no cutoffs heard yet: version 0");
            // A current kernel's CUTOFFS with its default settings: not monotonic over all eight levels.
            kernel.send(KernelPeer.cutoffs(SERVER_PORT, first.sourcePort(), first.senderId() ^ 1,
                KERNEL_DEFAULT_CUTOFFS, 1), engineAddress());
            respond(first, 100);
            run(10_000);
            final HomaMessage response = client.homaRecv(HomaSocket.RECV_RESPONSE);
            assertFalse(null == response || response.isError(), "first RPC answered");
            response.release();
            kernel.clear();

            client.homaSend(kernel.address, SERVER_PORT, request, 0, 20_000, 0);
            run(100_000);
            final List<KernelPeer.Received> data = kernel.ofType(DATA);
            assertFalse(data.isEmpty(), "second request sent");
            for (final KernelPeer.Received packet : data)
            {
                assertEquals(1, packet.u16(46), "cutoff_version of the kernel's CUTOFFS");
                assertEquals(4, packet.priority(), "a 20,000-byte message goes at level 4 under the kernel's cutoffs");
            }
            assertEquals(0, decoderRejects(), "nothing the kernel sent was rejected");
            cluster.assertNoErrors();
        }
    }

    @Test
    @Timeout(30)
    void staleCutoffVersionDrawsOneCutoffsPerTickPerPeer()
    {
        start(FabricMode.INSTANT, ctx -> ctx.tickNs(1_000_000));
        cluster.transport(0).openSocket(SERVER_PORT);
        final int length = 40_000;
        final int payload = 1_000;
        // A burst of request packets with version 0 inside one tick: one CUTOFFS.
        for (int offset = 0; offset < 10 * payload; offset += payload)
        {
            kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, SERVER_PORT, 2, length, length, offset, payload, 0, 0, 0,
                false), engineAddress());
            run(10_000);
        }
        final List<KernelPeer.Received> first = kernel.ofType(CUTOFFS);
        assertEquals(1, first.size(), "one CUTOFFS for ten stale packets in a tick");
        final int version = first.getFirst().u16(60);
        assertTrue(version > 0, "a real version");
        // A tick later a stale packet draws another (a lost CUTOFFS is repaired by later traffic)...
        run(1_000_000);
        kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, SERVER_PORT, 2, length, length, 10 * payload, payload, 0, 0, 0,
            false), engineAddress());
        run(10_000);
        assertEquals(2, kernel.ofType(CUTOFFS).size(), "a stale packet a tick later draws a second CUTOFFS");
        // ... and packets with the current version draw none.
        run(1_000_000);
        for (int offset = 11 * payload; offset < 20 * payload; offset += payload)
        {
            kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, SERVER_PORT, 2, length, length, offset, payload, 0, 0,
                version, false), engineAddress());
            run(500_000);
        }
        assertEquals(2, kernel.ofType(CUTOFFS).size(), "the current version draws no CUTOFFS");
        cluster.assertNoErrors();
    }
}
