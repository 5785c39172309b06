package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.RejectReason;
import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.HostAddress;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static dev.homa.core.KernelPeer.CUTOFFS;
import static dev.homa.core.KernelPeer.DATA;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    /** The engine's responses (DATA from the server port) to one kernel client RPC. */
    private List<KernelPeer.Received> responses(final long clientId)
    {
        return kernel.matching(r -> DATA == r.type() && r.senderId() == (clientId ^ 1));
    }

    /** The kernel's ids of the RPCs the engine answered with packets of one type, in order. */
    private List<Long> answeredIds(final int type)
    {
        return kernel.ofType(type).stream().map(r -> r.senderId() ^ 1).toList();
    }

    private void request(final int clientPort, final long id, final int length, final long ackId, final boolean again)
    {
        kernel.send(KernelPeer.data(clientPort, SERVER_PORT, id, length, length, 0, length, ackId,
            0 == ackId ? 0 : SERVER_PORT, 0, again), engineAddress());
    }

    @Test
    @Timeout(30)
    void restartedKernelClientReusingItsIdsIsServed()
    {
        start(FabricMode.INSTANT, ctx -> {});
        cluster.add(new Cluster.EchoServer(cluster.transport(0).openSocket(SERVER_PORT)));
        request(KERNEL_CLIENT_PORT, 2, 100, 0, false);
        run(100_000);
        assertEquals(1, responses(2).size(), "first request answered");
        // The next request acknowledges the first; an explicit ACK the second (as after NEED_ACK).
        request(KERNEL_CLIENT_PORT, 4, 100, 2, false);
        run(100_000);
        assertEquals(1, responses(4).size(), "second request answered");
        kernel.send(KernelPeer.ack(KERNEL_CLIENT_PORT, SERVER_PORT, 4), engineAddress());
        run(100_000);
        assertEquals(0, cluster.engine(0).serverRpcCount(), "both RPCs acknowledged and freed");
        kernel.clear();

        // The client host reboots: its ids start again at 2 on port 32768 (homa_utils.c).
        request(KERNEL_CLIENT_PORT, 2, 300, 0, false);
        run(100_000);
        final List<KernelPeer.Received> again = responses(2);
        assertEquals(1, again.size(), "the restarted client's request is served");
        assertEquals(300, again.getFirst().messageLength(), "with the new request's response");
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void spoofedAckEndsInOneRestartNotALoop()
    {
        start(FabricMode.INSTANT, ctx -> ctx.tickNs(1_000_000).resendTicks(5).resendIntervalTicks(5));
        final HomaSocket server = cluster.transport(0).openSocket(SERVER_PORT);
        request(KERNEL_CLIENT_PORT, 6, 100, 0, false);
        run(10_000);
        final HomaMessage first = server.homaRecv(HomaSocket.RECV_REQUEST);
        assertFalse(null == first, "request delivered");
        // An ACK with the client's own address frees the RPC before the application answers.
        kernel.send(KernelPeer.ack(KERNEL_CLIENT_PORT, SERVER_PORT, 6), engineAddress());
        run(10_000);
        assertEquals(0, cluster.engine(0).serverRpcCount(), "spoofed ACK freed the RPC");
        server.homaReply(first, new UnsafeBuffer(new byte[100]), 0, 100);
        first.release();
        run(10_000);
        assertTrue(responses(6).isEmpty(), "no RPC left to answer");

        // The kernel client, silent for resend_ticks, asks for the response, is told the RPC is unknown and
        // restarts: it sends its request again, flagged as a retransmission (homa_rpc_unknown_pkt).
        kernel.send(KernelPeer.resend(KERNEL_CLIENT_PORT, SERVER_PORT, 6, 0, -1, 7), engineAddress());
        run(10_000);
        assertEquals(1, kernel.ofType(KernelPeer.RPC_UNKNOWN).size(), "RESEND for the freed RPC: RPC_UNKNOWN");
        request(KERNEL_CLIENT_PORT, 6, 100, 0, true);
        run(10_000);
        final HomaMessage second = server.homaRecv(HomaSocket.RECV_REQUEST);
        assertFalse(null == second, "the restarted request is a new RPC");
        server.homaReply(second, new UnsafeBuffer(new byte[100]), 0, 100);
        second.release();
        run(10_000);
        assertEquals(1, responses(6).size(), "and is answered");
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void clientTimesOutAgainstAServerThatOnlyAnswersRpcUnknown()
    {
        final int timeoutTicks = 30;
        start(FabricMode.INSTANT, ctx -> ctx.tickNs(1_000_000).resendTicks(3).resendIntervalTicks(3)
            .timeoutTicks(timeoutTicks));
        // A server that drops every request packet and answers every RESEND with RPC_UNKNOWN.
        kernel.responder = r ->
        {
            if (KernelPeer.RESEND == r.type())
            {
                kernel.send(KernelPeer.control(KernelPeer.RPC_UNKNOWN, r.destinationPort(), r.sourcePort(),
                    r.senderId() ^ 1), engineAddress());
            }
        };
        final HomaSocket client = cluster.transport(0).openSocket(0);
        final long id = client.homaSend(kernel.address, SERVER_PORT, new UnsafeBuffer(new byte[500]), 0, 500, 0);
        final HomaMessage[] result = new HomaMessage[1];
        final long startNs = cluster.sim.nowNs();
        assertTrue(cluster.runUntil(() -> null != (result[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
            10L * timeoutTicks * 1_000_000), "the RPC ends");
        assertTrue(result[0].isError(), "with an error");
        assertEquals(id, result[0].id());
        final long elapsedNs = cluster.sim.nowNs() - startNs;
        assertTrue(elapsedNs <= (timeoutTicks + 2) * 1_000_000L, "within timeout_ticks: " + elapsedNs + " ns");
        final long restarts = cluster.engine(0).metrics().get(HomaMetrics.CLIENT_RESTARTS);
        assertTrue(restarts >= 2 && restarts <= timeoutTicks / 3, "restarted once per RESEND: " + restarts);
        result[0].release();
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void whileItsDriverDropsPacketsOnlyAnUnknownServerRpcDrawsBusy()
    {
        final long[] drops = {0};
        start(FabricMode.INSTANT, ctx -> ctx.resendIntervalTicks(2).driver(new ForwardingNicDriver(ctx.driver())
        {
            @Override
            public long receiveDrops()
            {
                return drops[0];
            }
        }));
        cluster.transport(0).openSocket(SERVER_PORT);
        final HomaSocket client = cluster.transport(0).openSocket(0);
        client.homaSend(kernel.address, SERVER_PORT, new UnsafeBuffer(new byte[500]), 0, 500, 0);
        run(10_000);
        final int clientPort = kernel.ofType(DATA).getFirst().sourcePort();
        kernel.clear();

        // Packets were just dropped: a RESEND for a request this host never saw may be for one of them.
        drops[0] = 3;
        kernel.send(KernelPeer.resend(KERNEL_CLIENT_PORT, SERVER_PORT, 8, 0, -1, 7), engineAddress());
        // A RESEND naming a client RPC of ours that does not exist: no packet of ours is lost that way.
        kernel.send(KernelPeer.resend(SERVER_PORT, clientPort, 41, 0, -1, 7), engineAddress());
        run(10_000);
        assertEquals(List.of(8L), answeredIds(KernelPeer.BUSY), "BUSY for the unknown request");
        assertEquals(List.of(41L), answeredIds(KernelPeer.RPC_UNKNOWN), "RPC_UNKNOWN for the unknown client RPC");
        assertEquals(1, cluster.engine(0).metrics().get(HomaMetrics.UNKNOWN_BUSY_ANSWERS));

        // A resend interval without new drops: the kernel's answer again.
        run(3_000_000);
        kernel.clear();
        kernel.send(KernelPeer.resend(KERNEL_CLIENT_PORT, SERVER_PORT, 10, 0, -1, 7), engineAddress());
        run(10_000);
        assertTrue(kernel.ofType(KernelPeer.BUSY).isEmpty(), "no BUSY once the drops stopped");
        assertEquals(List.of(10L), answeredIds(KernelPeer.RPC_UNKNOWN));
        cluster.assertNoErrors();
    }

    /**
     * The kernel ends a client RPC after {@code timeout_ticks} of silence whatever else its server sends. Here a
     * server host that sends DATA for other RPCs is alive and likely behind: the RPC it has not answered gets four
     * timeouts, then ends even though the server still sends.
     */
    @Test
    @Timeout(30)
    void aClientRpcWaitsLongerWhileItsServerSendsOtherResponses()
    {
        start(FabricMode.INSTANT, ctx -> {});
        final HomaSocket client = cluster.transport(0).openSocket(0);
        final long unanswered = client.homaSend(kernel.address, SERVER_PORT, new UnsafeBuffer(new byte[500]), 0, 500,
            0);
        client.homaSend(kernel.address, SERVER_PORT, new UnsafeBuffer(new byte[500]), 0, 500, 0);
        run(10_000);
        final KernelPeer.Received answered = kernel.ofType(DATA).get(1);
        final long startNs = cluster.sim.nowNs();
        // The second request's response comes a packet a millisecond, all of it unscheduled.
        final int timeoutTicks = TimerSettings.TIMEOUT_TICKS_DEFAULT;
        final int length = 1_000 * (5 * timeoutTicks);
        HomaMessage ended = null;
        for (int offset = 0; offset < length && null == ended; offset += 1_000)
        {
            kernel.send(KernelPeer.data(SERVER_PORT, answered.sourcePort(), answered.senderId() ^ 1, length, length,
                offset, 1_000, 0, 0, 0, false), engineAddress());
            run(1_000_000);
            ended = client.homaRecv(HomaSocket.RECV_RESPONSE);
        }
        assertFalse(null == ended, "the unanswered RPC ends while the other response still comes");
        assertEquals(unanswered, ended.id());
        assertTrue(ended.isError(), "with an error");
        final long elapsedMs = (cluster.sim.nowNs() - startNs) / 1_000_000;
        assertTrue(elapsedMs > 3 * timeoutTicks && elapsedMs <= 4 * timeoutTicks + 2, "after four timeouts: " +
            elapsedMs + " ms");
        ended.release();
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void clientIgnoresRpcUnknownOnceItsResponseStarted()
    {
        start(FabricMode.INSTANT, ctx -> {});
        final HomaSocket client = cluster.transport(0).openSocket(0);
        client.homaSend(kernel.address, SERVER_PORT, new UnsafeBuffer(new byte[500]), 0, 500, 0);
        run(10_000);
        final KernelPeer.Received request = kernel.ofType(DATA).getFirst();
        final int clientPort = request.sourcePort();
        final long serverId = request.senderId() ^ 1;
        final int length = 3_000;
        kernel.send(KernelPeer.data(SERVER_PORT, clientPort, serverId, length, length, 0, 1_000, 0, 0, 0, false),
            engineAddress());
        run(10_000);
        kernel.clear();
        // A stray RPC_UNKNOWN (homa_rpc_unknown_pkt ignores it unless the request is still outgoing).
        kernel.send(KernelPeer.control(KernelPeer.RPC_UNKNOWN, SERVER_PORT, clientPort, serverId), engineAddress());
        run(10_000);
        assertTrue(kernel.ofType(DATA).isEmpty(), "the request is not sent again");
        for (int offset = 1_000; offset < length; offset += 1_000)
        {
            kernel.send(KernelPeer.data(SERVER_PORT, clientPort, serverId, length, length, offset, 1_000, 0, 0, 0,
                false), engineAddress());
        }
        run(10_000);
        final HomaMessage response = client.homaRecv(HomaSocket.RECV_RESPONSE);
        assertFalse(null == response || response.isError(), "the response completes");
        assertEquals(length, response.length());
        for (int i = 0; i < length; i++)
        {
            assertEquals(KernelPeer.payloadByte(i), response.getByte(i), "byte " + i);
        }
        response.release();
        assertEquals(0, cluster.engine(0).metrics().get(HomaMetrics.CLIENT_RESTARTS));
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void serverKeepsAResponseItsClientHoldsBack()
    {
        final int timeoutTicks = 20;
        start(FabricMode.INSTANT, ctx -> ctx.tickNs(1_000_000).timeoutTicks(timeoutTicks));
        final HomaSocket server = cluster.transport(0).openSocket(SERVER_PORT);
        request(KERNEL_CLIENT_PORT, 2, 100, 0, false);
        run(10_000);
        final HomaMessage req = server.homaRecv(HomaSocket.RECV_REQUEST);
        final int length = 200_000;
        server.homaReply(req, new UnsafeBuffer(new byte[length]), 0, length);
        req.release();
        // The client takes the unscheduled part and then grants nothing for three timeouts (a kernel client whose
        // receive buffer is full does exactly that).
        run(3L * timeoutTicks * 1_000_000);
        final List<KernelPeer.Received> unscheduled = responses(2);
        assertFalse(unscheduled.isEmpty(), "unscheduled part sent");
        assertEquals(1, cluster.engine(0).serverRpcCount(), "the server still holds the RPC");
        assertEquals(0, cluster.engine(0).metrics().get(HomaMetrics.SERVER_TIMEOUTS));
        assertTrue(kernel.ofType(KernelPeer.NEED_ACK).isEmpty(), "no NEED_ACK before the response is sent");
        // Now the client grants everything; the response completes and an ACK frees the RPC.
        kernel.send(KernelPeer.grant(KERNEL_CLIENT_PORT, SERVER_PORT, 2, length, 0), engineAddress());
        run(10_000_000);
        int bytes = 0;
        for (final KernelPeer.Received r : responses(2))
        {
            bytes += r.payloadLength();
        }
        assertEquals(length, bytes, "every response byte sent once");
        kernel.send(KernelPeer.ack(KERNEL_CLIENT_PORT, SERVER_PORT, 2), engineAddress());
        run(10_000);
        assertEquals(0, cluster.engine(0).serverRpcCount());
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void acksFromAnyClientSocketOfAHostFreeByIdAlone()
    {
        start(FabricMode.INSTANT, ctx -> {});
        cluster.add(new Cluster.EchoServer(cluster.transport(0).openSocket(SERVER_PORT)));
        // A kernel host with two client sockets: ids come from one host-wide counter (homa_rpc_alloc_client).
        for (int i = 0; i < 4; i++)
        {
            request(KERNEL_CLIENT_PORT + (i & 1), 2 + 2 * i, 100, 0, false);
        }
        run(100_000);
        assertEquals(4, cluster.engine(0).serverRpcCount());
        // Acks travel on whatever packet the host sends next: a piggybacked one on the other socket's request...
        request(KERNEL_CLIENT_PORT + 1, 10, 100, 2, false);
        run(100_000);
        assertEquals(4, cluster.engine(0).serverRpcCount(), "RPC 2 (port 32768) freed by a packet from 32769");
        // ... and the rest in an ACK from one socket naming RPCs of both.
        kernel.send(KernelPeer.ack(KERNEL_CLIENT_PORT, SERVER_PORT, 10, 4, SERVER_PORT, 6, SERVER_PORT, 8, SERVER_PORT),
            engineAddress());
        run(100_000);
        assertEquals(0, cluster.engine(0).serverRpcCount(), "every RPC freed");
        assertEquals(5, cluster.engine(0).metrics().get(HomaMetrics.SERVER_RPCS_ACKED));
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void engineClientSendsItsAcksForAllSocketsTogether()
    {
        start(FabricMode.INSTANT, ctx -> {});
        // The kernel server answers every request with a 100-byte response.
        kernel.responder = r ->
        {
            if (DATA == r.type() && 0 == (r.senderId() & 1) && 0 == r.dataOffset())
            {
                respond(r, 100);
            }
        };
        final HomaSocket a = cluster.transport(0).openSocket(0);
        final HomaSocket b = cluster.transport(0).openSocket(0);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[100]);
        final long[] ids = new long[3];
        for (int i = 0; i < 3; i++)
        {
            ids[i] = a.homaSend(kernel.address, SERVER_PORT, buffer, 0, 100, 0);
        }
        run(100_000);
        for (int i = 0; i < 3; i++)
        {
            a.homaRecv(HomaSocket.RECV_RESPONSE).release();
        }
        kernel.clear();
        // The next request, from the other socket, carries one of socket a's acks...
        b.homaSend(kernel.address, SERVER_PORT, buffer, 0, 100, 0);
        run(100_000);
        final KernelPeer.Received carrier = kernel.ofType(DATA).getFirst();
        final long piggybacked = carrier.u64(36);
        assertTrue(piggybacked == ids[0] || piggybacked == ids[1] || piggybacked == ids[2],
            "a socket-a RPC acknowledged on socket b's request: " + piggybacked);
        assertEquals(SERVER_PORT, carrier.u16(44));
        b.homaRecv(HomaSocket.RECV_RESPONSE).release();
        // ... and a NEED_ACK for socket b's RPC draws an ACK with every other pending ack of the host.
        kernel.send(KernelPeer.control(KernelPeer.NEED_ACK, SERVER_PORT, carrier.sourcePort(),
            carrier.senderId() ^ 1), engineAddress());
        run(100_000);
        final KernelPeer.Received ack = kernel.ofType(KernelPeer.ACK).getFirst();
        assertEquals(carrier.senderId(), ack.senderId(), "header names the RPC asked about");
        assertEquals(3, ack.u16(28), "the other three pending acks (two of socket a, b's first)");
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void resendsBackOffWhileThePeerAnswersBusyAndNotOnceDataComes()
    {
        start(FabricMode.INSTANT, ctx -> { });
        cluster.transport(0).openSocket(SERVER_PORT);
        // A 30,000-byte request, all unscheduled, without its last two packets. The client answers the server's
        // first three RESENDs with BUSY, the fourth with one of the missing packets and the fifth with the other.
        final int length = 30_000;
        sendRange(2, length, length, 0, 28_000);
        final List<Long> askedAtNs = new ArrayList<>();
        kernel.responder = r ->
        {
            if (KernelPeer.RESEND == r.type())
            {
                askedAtNs.add(cluster.sim.nowNs());
                switch (askedAtNs.size())
                {
                    case 1, 2, 3 -> kernel.send(KernelPeer.control(KernelPeer.BUSY, KERNEL_CLIENT_PORT, SERVER_PORT, 2),
                        engineAddress());
                    case 4 -> sendRange(2, length, length, 28_000, 29_000);
                    default -> sendRange(2, length, length, 29_000, 30_000);
                }
            }
        };
        run(200_000_000);
        assertEquals(5, askedAtNs.size(), "RESENDs: " + askedAtNs);
        // 10, 20 and 40 ticks after the 1st, 2nd and 3rd BUSY (the kernel: 5 each); 5 after data.
        assertArrayEquals(new long[]{ 10, 20, 40, 5 }, firstGapsInTicks(askedAtNs, 4),
            "ticks between RESENDs: " + askedAtNs);
        assertEquals(1, cluster.engine(0).metrics().get(HomaMetrics.MESSAGES_RECEIVED), "the request completed");
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void aSendingClientBacksOffWhileTheServerAnswersBusyAndNotOnceAGrantComes()
    {
        start(FabricMode.INSTANT, ctx -> { });
        final int length = 100_000;
        final HomaSocket client = cluster.transport(0).openSocket(0);
        client.homaSend(kernel.address, SERVER_PORT, new UnsafeBuffer(new byte[length]), 0, length, 0);
        // The kernel server grants nothing at first: the client, with everything it may send sent, asks after 5 silent
        // ticks. The server answers three RESENDs with BUSY and the fourth with a GRANT for 10,000 more bytes.
        final int unscheduled = cluster.engine(0).unscheduledBytes();
        final List<Long> askedAtNs = new ArrayList<>();
        kernel.responder = r ->
        {
            if (KernelPeer.RESEND == r.type())
            {
                askedAtNs.add(cluster.sim.nowNs());
                final long serverId = r.senderId() ^ 1;
                kernel.send(askedAtNs.size() <= 3 ?
                    KernelPeer.control(KernelPeer.BUSY, SERVER_PORT, r.sourcePort(), serverId) :
                    KernelPeer.grant(SERVER_PORT, r.sourcePort(), serverId, unscheduled + 10_000, 0), engineAddress());
            }
        };
        run(120_000_000);
        assertTrue(askedAtNs.size() >= 5, "RESENDs: " + askedAtNs);
        // 10, 20 and 40 ticks after the 1st, 2nd and 3rd BUSY; 5 after the GRANT, once its bytes are sent.
        assertArrayEquals(new long[]{ 10, 20, 40, 5 }, firstGapsInTicks(askedAtNs, 4),
            "ticks between RESENDs: " + askedAtNs);
        assertTrue(kernel.ofType(DATA).stream().anyMatch(d -> d.offset() >= unscheduled), "the granted bytes went out");
        cluster.assertNoErrors();
    }

    /** The first {@code n} gaps between successive times, in whole 1 ms ticks. */
    private static long[] firstGapsInTicks(final List<Long> timesNs, final int n)
    {
        final long[] gaps = new long[n];
        for (int i = 0; i < n; i++)
        {
            gaps[i] = Math.round((timesNs.get(i + 1) - timesNs.get(i)) / 1e6);
        }
        return gaps;
    }

    @Test
    @Timeout(30)
    void resendAsksForTheHighestLevel()
    {
        start(FabricMode.INSTANT, ctx -> ctx.tickNs(1_000_000).resendTicks(3).resendIntervalTicks(3));
        cluster.transport(0).openSocket(SERVER_PORT);
        // A 30,000-byte request, all unscheduled (level 4 by the engine's cutoffs), one packet lost in the middle
        // and the last one too.
        final int length = 30_000;
        for (int offset = 0; offset < length - 1_000; offset += 1_000)
        {
            if (10_000 != offset)
            {
                kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, SERVER_PORT, 2, length, length, offset, 1_000, 0, 0,
                    1, false), engineAddress());
            }
        }
        run(5_000_000);
        final List<KernelPeer.Received> resends = kernel.ofType(KernelPeer.RESEND);
        assertTrue(resends.size() >= 2, "a RESEND for the gap and one for the tail: " + resends);
        for (final KernelPeer.Received resend : resends)
        {
            assertEquals(7, resend.priorityField(), "retransmission asked at the highest level");
            assertEquals(7, resend.priority(), "RESEND travels at the highest level");
        }
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void everyDataHeaderFieldIsAsTheKernelSetsIt()
    {
        final int length = 100_000;
        start(FabricMode.INSTANT, ctx -> ctx.driver(new ForwardingNicDriver(ctx.driver())
        {
            @Override
            public boolean carriesIpProtocol146()
            {
                return true;
            }
        }));
        final HomaSocket client = cluster.transport(0).openSocket(0);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[length]);
        for (int i = 0; i < length; i++)
        {
            request.putByte(i, KernelPeer.payloadByte(i));
        }
        client.homaSend(kernel.address, SERVER_PORT, request, 0, length, 0);
        run(100_000);
        final KernelPeer.Received first = kernel.ofType(DATA).getFirst();
        final int unscheduled = cluster.engine(0).unscheduledBytes();
        // The kernel server grants the rest at level 2 and then asks for one range again.
        kernel.send(
            KernelPeer.grant(SERVER_PORT, first.sourcePort(), first.senderId() ^ 1, length, 2), engineAddress());
        run(1_000_000);
        final List<KernelPeer.Received> sent = kernel.ofType(DATA);
        kernel.send(KernelPeer.resend(SERVER_PORT, first.sourcePort(), first.senderId() ^ 1, 30_000, 3_000, 7),
            engineAddress());
        run(100_000);
        final List<KernelPeer.Received> all = kernel.ofType(DATA);
        final List<KernelPeer.Received> again = all.subList(sent.size(), all.size());

        int covered = 0;
        for (final KernelPeer.Received d : sent)
        {
            assertCommonHeader(d, 0xE0);
            assertEquals(length, d.messageLength());
            assertEquals(unscheduled, d.u32(32), "incoming: the unscheduled bytes, in every packet");
            assertEquals(0, d.u64(36), "no ack pending");
            assertEquals(0, d.u16(46), "no CUTOFFS heard: version 0");
            assertEquals(0, d.u8(48), "not a retransmission");
            assertEquals(0, d.u8(49) | d.u8(50) | d.u8(51), "pad");
            assertEquals(-1, d.u32(52), "seg.offset -1: the offset is in sequence");
            assertEquals(covered, d.u32(4), "sequence: the offset");
            for (int i = 0; i < d.payloadLength(); i++)
            {
                assertEquals(KernelPeer.payloadByte(covered + i), d.bytes()[KernelPeer.DATA_HEADER + i]);
            }
            covered += d.payloadLength();
        }
        assertEquals(length, covered, "the whole message once, in order");
        assertFalse(again.isEmpty(), "the RESEND was answered");
        int resent = 30_000;
        for (final KernelPeer.Received d : again)
        {
            assertCommonHeader(d, 0xE0);
            assertEquals(1, d.u8(48), "retransmit");
            assertEquals(resent, d.u32(4), "sequence");
            assertEquals(resent, d.u32(52), "seg.offset holds the offset too (homa_resend_data)");
            assertEquals(33_000, d.u32(32), "incoming: the end of the range asked for");
            assertEquals(7, d.priority(), "at the level the RESEND named");
            resent += d.payloadLength();
        }
        assertTrue(resent >= 33_000, "the range covered");
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void resendForAMessageWithGrantedBytesNotYetSentDrawsBusy()
    {
        final int length = 100_000;
        start(FabricMode.INSTANT, ctx -> { });
        final HomaSocket client = cluster.transport(0).openSocket(0);
        client.homaSend(kernel.address, SERVER_PORT, new UnsafeBuffer(new byte[length]), 0, length, 0);
        run(100_000);
        final KernelPeer.Received first = kernel.ofType(DATA).getFirst();
        final int unscheduled = cluster.engine(0).unscheduledBytes();
        final int sent = kernel.ofType(DATA).size();
        // The kernel server grants more and, in the same batch, asks for the start again: the engine has granted
        // bytes it has not sent, so it answers BUSY and sends them, retransmitting nothing (homa_resend_pkt).
        kernel.send(KernelPeer.grant(SERVER_PORT, first.sourcePort(), first.senderId() ^ 1, unscheduled + 20_000, 2),
            engineAddress());
        kernel.send(KernelPeer.resend(SERVER_PORT, first.sourcePort(), first.senderId() ^ 1, 0, 3_000, 7),
            engineAddress());
        run(1_000_000);
        final List<KernelPeer.Received> data = kernel.ofType(DATA);
        assertTrue(data.size() > sent, "the granted bytes went out");
        for (final KernelPeer.Received d : data)
        {
            assertEquals(0, d.u8(48), "nothing retransmitted: " + d);
        }
        assertEquals(1, kernel.ofType(KernelPeer.BUSY).size(), "BUSY answers the RESEND");

        // Once everything granted is sent, a RESEND is answered with the bytes asked for.
        kernel.send(KernelPeer.resend(SERVER_PORT, first.sourcePort(), first.senderId() ^ 1, 0, 3_000, 7),
            engineAddress());
        run(1_000_000);
        final List<KernelPeer.Received> after = kernel.ofType(DATA);
        assertTrue(after.subList(data.size(), after.size()).stream().allMatch(d -> 1 == d.u8(48)) &&
            after.size() > data.size(), "retransmitted");
        cluster.assertNoErrors();
    }

    private void assertCommonHeader(final KernelPeer.Received packet, final int doff)
    {
        assertEquals(doff, packet.u8(12), "doff");
        assertEquals(KernelPeer.HIJACK_FLAGS, packet.u8(13), "flags");
        assertEquals(0, packet.u16(14), "window");
        assertEquals(KernelPeer.HIJACK_URGENT, packet.u16(18), "urgent");
        assertEquals(0, packet.u8(8) | packet.u8(9) | packet.u8(10), "TCP ack bytes");
        assertEquals(KernelPeer.kernelChecksum(packet.bytes(), HostAddress.ipv4Of(engineAddress()),
            HostAddress.ipv4Of(kernel.address)), packet.u16(16), "checksum");
    }

    @Test
    @Timeout(30)
    void aPacketForAClosedPortIsAnsweredAndTheAnswerEndsTheRpcsAtOnce()
    {
        start(FabricMode.INSTANT, ctx -> {});
        cluster.transport(0).openSocket(SERVER_PORT);
        // A request to a port nobody listens on (the fabric has no ICMP: the answer comes in band).
        kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, 77, 2, 100, 100, 0, 100, 0, 0, 0, false), engineAddress());
        run(10_000);
        final List<KernelPeer.Received> answers = kernel.ofType(KernelPeer.RPC_UNKNOWN);
        assertEquals(1, answers.size(), "answered");
        final KernelPeer.Received answer = answers.getFirst();
        assertEquals(0x40, answer.u8(13) & 0x40, "the unreachable notice mark");
        assertEquals(77, answer.sourcePort(), "names the closed port");
        assertEquals(KERNEL_CLIENT_PORT, answer.destinationPort());
        assertEquals(3, answer.senderId(), "the request's id, flipped");
        assertEquals(3, answer.u16(14), "ICMP code: port unreachable");

        // The other way: the engine's RPCs to a port the peer says is closed end at once, the others live on.
        final HomaSocket client = cluster.transport(0).openSocket(0);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
        final long closed = client.homaSend(kernel.address, 55, request, 0, 100, 0);
        final long open = client.homaSend(kernel.address, 56, request, 0, 100, 0);
        run(10_000);
        final KernelPeer.Received toClosed = kernel.matching(r -> DATA == r.type() && 55 == r.destinationPort())
            .getFirst();
        final java.nio.ByteBuffer notice = KernelPeer.control(KernelPeer.RPC_UNKNOWN, 55, toClosed.sourcePort(),
            toClosed.senderId() ^ 1);
        notice.put(13, (byte)(KernelPeer.HIJACK_FLAGS | 0x40));
        notice.putShort(14, (short)3);
        kernel.send(notice, engineAddress());
        run(10_000);
        final HomaMessage result = client.homaRecv(HomaSocket.RECV_RESPONSE);
        assertFalse(null == result, "the RPC to the closed port ended");
        assertEquals(closed, result.id());
        assertTrue(result.isError());
        assertTrue(result.error() instanceof HomaUnreachableException, result.error().toString());
        result.release();
        assertEquals(1, cluster.engine(0).rpcCount(), "the RPC to port 56 lives on");
        assertEquals(open, kernel.matching(r -> DATA == r.type() && 56 == r.destinationPort()).getFirst()
            .senderId());
        assertEquals(0, cluster.engine(0).metrics().get(HomaMetrics.RESENDS_REQUESTED), "no RESEND needed");

        // A flood to closed ports draws no more answers than the kernel's ICMP rate limit allows (burst 50).
        kernel.clear();
        for (int i = 0; i < 200; i++)
        {
            kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, 78, 4 + 2 * i, 100, 100, 0, 100, 0, 0, 0, false),
                engineAddress());
        }
        run(10_000);
        assertEquals(49, kernel.ofType(KernelPeer.RPC_UNKNOWN).size(),
            "a burst of 50 answers (the first went earlier), then 1 a millisecond");
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void aHostWithManyOutstandingRpcsMarksNoRequestByDefault()
    {
        start(FabricMode.INSTANT, ctx -> { });
        final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
        final HomaSocket client = cluster.transport(0).openSocket(0);
        for (int i = 0; i < 3 * GrantSettings.INCAST_THRESHOLD_DEFAULT; i++)
        {
            client.homaSend(kernel.address, SERVER_PORT, request, 0, 100, 0);
        }
        run(10_000);
        final List<KernelPeer.Received> requests = kernel.ofType(DATA);
        assertEquals(3 * GrantSettings.INCAST_THRESHOLD_DEFAULT, requests.size());
        for (final KernelPeer.Received r : requests)
        {
            assertEquals(0, r.u8(13) & 0x80, "no request is marked: incast handling is off unless set");
        }
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void incastCountsEveryRpcOfTheHostWhateverItsSocket()
    {
        start(FabricMode.INSTANT, ctx -> ctx.incastEnabled(true).incastThreshold(4));
        // One RPC on each of seven sockets: the host has seven outstanding, over the threshold from the fifth on.
        final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
        for (int i = 0; i < 7; i++)
        {
            cluster.transport(0).openSocket(0).homaSend(kernel.address, SERVER_PORT, request, 0, 100, 0);
        }
        run(10_000);
        final List<KernelPeer.Received> requests = kernel.ofType(DATA);
        assertEquals(7, requests.size());
        int marked = 0;
        for (final KernelPeer.Received r : requests)
        {
            marked += 0 != (r.u8(13) & 0x80) ? 1 : 0;
        }
        assertEquals(3, marked, "requests beyond the host's fourth outstanding RPC are marked");
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void messagesWaitingForTheReceivePoolGetItShortestFirst()
    {
        final HomaSocket server = startWithFivePoolPages(ctx -> {});
        // A takes four of the five pages; B (three pages), C and D (two each) must wait.
        final int[] lengths = { 200_000, 150_000, 100_000, 120_000 };
        for (int i = 0; i < lengths.length; i++)
        {
            kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, SERVER_PORT, 2 + 2 * i, lengths[i], lengths[i], 0, 1_000,
                0, 0, 0, false), engineAddress());
            run(10_000);
        }
        for (int offset = 1_000; offset < lengths[0]; offset += 1_000)
        {
            kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, SERVER_PORT, 2, lengths[0], lengths[0], offset, 1_000,
                0, 0, 0, false), engineAddress());
        }
        run(10_000);
        // A's pages come back: the shortest waiting messages get them first (homa_pool's waiting_for_bufs is sorted
        // by length), C and D, which then ask for their bytes; B, the longest, waits on.
        final List<KernelPeer.Received> resends = resendsOnceReleased(server, 2_000_000);
        final List<Long> asked = resends.stream().map(KernelPeer.Received::senderId).distinct().sorted().toList();
        assertEquals(List.of(7L, 9L), asked, "C (id 7) and D (id 9) got pages; B (id 5) waits: " + resends);
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void aMessageGivenPagesAsksOnceAndWaitsAResendIntervalForTheAnswer()
    {
        // A RESEND every tick once silence reaches resendTicks: a second one for the same bytes would come at once.
        final HomaSocket server = startWithFivePoolPages(ctx -> ctx.resendIntervalTicks(1));
        // A takes four of the five pages; B (three pages, 30,000 bytes unscheduled) must wait, its packets dropped,
        // and waits ten ticks: as long as the kernel's resendTicks twice over.
        sendRange(2, 200_000, 200_000, 0, 200_000);
        sendRange(4, 150_000, 30_000, 0, 30_000);
        run(10_000_000);
        // B has its pages and asks for its bytes; the answer is not due before a resend interval of silence.
        final List<KernelPeer.Received> resends = resendsOnceReleased(server, 3_500_000);
        assertEquals(1, resends.size(), "one RESEND for B's dropped bytes, not one per tick: " + resends);
        assertEquals(30_000, resends.getFirst().resendLength(), "all it dropped");
        cluster.assertNoErrors();
    }

    /**
     * The kernel never counts silence for a request waiting for buffer space. Here one heard from more than once
     * counts none while its client host sends DATA, and ends {@code timeoutTicks} after the client falls silent.
     */
    @Test
    @Timeout(30)
    void aRequestWaitingForPagesLivesWhileItsClientSendsAndEndsOnceItFallsSilent()
    {
        final HomaSocket server = startWithFivePoolPages(ctx -> {});
        // The application holds A and its four pages; B (three pages) waits, its packets dropped.
        sendRange(2, 200_000, 200_000, 0, 200_000);
        sendRange(4, 150_000, 30_000, 0, 30_000);
        run(1_000_000);
        final HomaMessage holder = server.homaRecv(HomaSocket.RECV_REQUEST);
        assertFalse(null == holder, "the first request complete");
        // For three timeouts B's client never asks about B but sends a short request every millisecond.
        final int timeoutTicks = TimerSettings.TIMEOUT_TICKS_DEFAULT;
        for (int i = 0; i < 3 * timeoutTicks; i++)
        {
            sendRange(6 + 2 * i, 100, 100, 0, 100);
            run(1_000_000);
            final HomaMessage small = server.homaRecv(HomaSocket.RECV_REQUEST);
            assertFalse(null == small, "short request " + i);
            small.release();
        }
        final HomaMetrics metrics = cluster.engine(0).metrics();
        assertEquals(0, metrics.get(HomaMetrics.SERVER_TIMEOUTS) + metrics.get(HomaMetrics.SERVER_RPCS_RECLAIMED),
            "B lives while its client sends");
        run((timeoutTicks + 5) * 1_000_000L);
        assertEquals(1, metrics.get(HomaMetrics.SERVER_TIMEOUTS), "B ends once its client is silent");
        holder.release();
        cluster.assertNoErrors();
    }

    /**
     * The kernel never counts silence for a request that has all it was granted. Here one heard from more than once
     * counts none while its client host sends DATA, and ends {@code timeoutTicks} after the client falls silent.
     */
    @Test
    @Timeout(30)
    void aRequestWaitingForGrantsLivesWhileItsClientSendsAndEndsOnceItFallsSilent()
    {
        start(FabricMode.INSTANT, ctx -> ctx.overcommit(1).fifoGrantFractionPerMille(0));
        cluster.transport(0).openSocket(SERVER_PORT);
        // A and B, 1 MB each, send their 10,000 unscheduled bytes; the one grant goes to A, which goes on sending a
        // packet a millisecond and so stays shortest; B has all it was granted and never asks about it.
        sendRange(2, 1_000_000, 10_000, 0, 10_000);
        sendRange(4, 1_000_000, 10_000, 0, 10_000);
        final int timeoutTicks = TimerSettings.TIMEOUT_TICKS_DEFAULT;
        for (int i = 0; i < 3 * timeoutTicks; i++)
        {
            final int offset = 10_000 + 1_000 * i;
            sendRange(2, 1_000_000, 10_000, offset, offset + 1_000);
            run(1_000_000);
        }
        final HomaMetrics metrics = cluster.engine(0).metrics();
        assertEquals(0, metrics.get(HomaMetrics.SERVER_TIMEOUTS) + metrics.get(HomaMetrics.SERVER_RPCS_RECLAIMED),
            "B lives while its client sends");
        assertEquals(2, cluster.engine(0).serverRpcCount());
        run((timeoutTicks + 5) * 1_000_000L);
        assertEquals(2, metrics.get(HomaMetrics.SERVER_TIMEOUTS), "A and B end once their client is silent");
        cluster.assertNoErrors();
    }

    /**
     * A receive pool of five 64 KiB pages, all of which one peer may take but half a page kept for short messages;
     * messages of up to 200,000 bytes.
     *
     * @return the server socket.
     */
    private HomaSocket startWithFivePoolPages(final Consumer<HomaTransport.Context> configure)
    {
        // One page kept for short messages leaves none for prefixes: a message that waits here holds no pages.
        final int page = 64 * 1024;
        start(FabricMode.INSTANT, ctx -> configure.accept(ctx.maxMessageLength(200_000).receivePoolBytes(5L * page)
            .maxReceiveBytesPerPeer(5L * page).receiveReserveBytes(page)));
        return cluster.transport(0).openSocket(SERVER_PORT);
    }

    /**
     * Receive the complete request that holds the pool's pages and release it.
     *
     * @return the RESENDs the engine sent in the {@code ns} after.
     */
    private List<KernelPeer.Received> resendsOnceReleased(final HomaSocket server, final long ns)
    {
        final HomaMessage holder = server.homaRecv(HomaSocket.RECV_REQUEST);
        assertFalse(null == holder, "the first request complete");
        kernel.clear();
        holder.release();
        run(ns);
        return kernel.ofType(KernelPeer.RESEND);
    }

    private void sendRange(final long id, final int length, final int incoming, final int from, final int to)
    {
        for (int offset = from; offset < to; offset += 1_000)
        {
            kernel.send(KernelPeer.data(KERNEL_CLIENT_PORT, SERVER_PORT, id, length, incoming, offset,
                Math.min(1_000, to - offset), 0, 0, 0, false), engineAddress());
        }
    }

    private List<KernelPeer.Received> grantsFor(final long clientId)
    {
        return kernel.matching(r -> KernelPeer.GRANT == r.type() && r.senderId() == (clientId ^ 1));
    }

    @Test
    @Timeout(30)
    void aMessageHoldsItsGrantSlotUntilFullyReceived()
    {
        // The kernel's max_incoming (the engine's default on a 25 Gb/s link; this fabric's is 10 Gb/s).
        start(FabricMode.INSTANT, ctx -> ctx.overcommit(1).fifoGrantFractionPerMille(0).maxIncomingBytes(400_000));
        cluster.transport(0).openSocket(SERVER_PORT);
        sendRange(2, 100_000, 10_000, 0, 10_000);
        sendRange(4, 200_000, 10_000, 0, 10_000);
        run(10_000);
        final List<KernelPeer.Received> grantsA = grantsFor(2);
        assertEquals(100_000, grantsA.getLast().offset(), "A, the shorter, fully granted (window 200,000)");
        assertTrue(grantsFor(4).isEmpty(), "B waits: K = 1");
        sendRange(2, 100_000, 10_000, 10_000, 99_000);
        run(10_000);
        assertTrue(grantsFor(4).isEmpty(), "B still waits while A's last bytes are on the way (homa_grant_check_rpc)");
        sendRange(2, 100_000, 10_000, 99_000, 100_000);
        run(10_000);
        assertFalse(grantsFor(4).isEmpty(), "A received: B takes the slot");
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void onlyMessagesThatNeedGrantsCountTowardMaxIncoming()
    {
        start(FabricMode.INSTANT, ctx -> ctx.maxIncomingBytes(100_000).maxIncomingBytesPerPeer(100_000)
            .windowBytes(60_000).fifoGrantFractionPerMille(0));
        cluster.transport(0).openSocket(SERVER_PORT);
        // S needs no grant (all unscheduled): 79,000 of its bytes are on the way. L needs grants.
        sendRange(2, 80_000, 80_000, 0, 1_000);
        sendRange(4, 500_000, 10_000, 0, 10_000);
        run(10_000);
        final int granted = grantsFor(4).getLast().offset();
        assertTrue(granted >= 10_000 + 60_000, "L gets its whole window; S is not counted (homa_grant_update_incoming" +
            " counts RPC_GRANTABLE messages only): granted " + granted);
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void fifoGrantsGoToTheOldestAtTheNextToHighestLevel()
    {
        start(FabricMode.INSTANT, ctx -> ctx.overcommit(1));
        cluster.transport(0).openSocket(SERVER_PORT);
        sendRange(2, 500_000, 10_000, 0, 10_000);
        sendRange(4, 100_000, 10_000, 0, 10_000);
        run(1_000_000);
        final List<KernelPeer.Received> fifo = kernel.matching(r -> KernelPeer.GRANT == r.type() &&
            6 == r.priorityField());
        assertFalse(fifo.isEmpty(), "a FIFO grant at level 6 (homa_high_priority)");
        for (final KernelPeer.Received grant : fifo)
        {
            assertEquals(3, grant.senderId(), "to the oldest message");
        }
        for (final KernelPeer.Received grant : grantsFor(4))
        {
            assertTrue(grant.priorityField() <= 3, "SRPT grants at scheduled levels");
        }
        cluster.assertNoErrors();
    }

    @Test
    @Timeout(30)
    void aResponseWaitingForGrantsIsNotSilent()
    {
        final int timeoutTicks = 20;
        start(FabricMode.INSTANT, ctx -> ctx.tickNs(1_000_000).resendTicks(3).resendIntervalTicks(3)
            .timeoutTicks(timeoutTicks).overcommit(1).fifoGrantFractionPerMille(0));
        final HomaSocket client = cluster.transport(0).openSocket(0);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[100]);
        client.homaSend(kernel.address, SERVER_PORT, request, 0, 100, 0);
        client.homaSend(kernel.address, SERVER_PORT, request, 0, 100, 0);
        run(10_000);
        final List<KernelPeer.Received> requests = kernel.ofType(DATA);
        final KernelPeer.Received first = requests.get(0);
        final KernelPeer.Received second = requests.get(1);
        // The kernel server answers both; the engine grants the shorter response (K = 1), which then arrives a
        // packet a tick, while the longer one has all its unscheduled bytes and waits for grants. A kernel server
        // never probes a client, so the waiting response owes us nothing: it must not count silence, ask for
        // anything or time out, however long the other takes (homa_timer_check_rpc: received >= granted).
        responseRange(first, 200_000, 0, 10_000);
        responseRange(second, 500_000, 0, 10_000);
        int next = 10_000;
        for (int tick = 0; tick < 3 * timeoutTicks; tick++)
        {
            responseRange(first, 200_000, next, next + 1_000);
            next += 1_000;
            run(1_000_000);
        }
        final long waiting = second.senderId();
        assertTrue(kernel.matching(r -> KernelPeer.GRANT == r.type() && r.senderId() == waiting).isEmpty(),
            "the longer response still waits for the slot");
        assertTrue(kernel.matching(r -> KernelPeer.RESEND == r.type() && r.senderId() == waiting).isEmpty(),
            "and is not asked for");
        assertEquals(2, cluster.engine(0).rpcCount(), "neither RPC timed out");
        assertEquals(0, cluster.engine(0).metrics().get(HomaMetrics.CLIENT_TIMEOUTS));
        cluster.assertNoErrors();
    }

    private void responseRange(final KernelPeer.Received request, final int length, final int from, final int to)
    {
        for (int offset = from; offset < to; offset += 1_000)
        {
            kernel.send(KernelPeer.data(request.destinationPort(), request.sourcePort(), request.senderId() ^ 1,
                length, 10_000, offset, Math.min(1_000, to - offset), 0, 0, 0, false), engineAddress());
        }
    }
}
