package dev.homa.core;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;

import java.util.Random;

import static dev.homa.core.ModeTransports.launch;
import static dev.homa.core.ModeTransports.receive;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@code homaSendv} and {@code homaReplyv}: a message gathered from several buffers arrives as their bytes in
 * order, whether the call runs inline on the invoking thread (INVOKER) or goes through the command ring
 * (DEDICATED; pieces larger than a ring record included); a server answers with its request's own segments.
 */
class GatherTest
{
    private static final int PORT = 99;

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    @Timeout(30)
    void gatheredRequestsAndRepliesArriveByteExact(final ThreadingMode mode) throws Exception
    {
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
        try (HomaTransport client = launch(mode, fabric, 0);
            HomaTransport server = launch(mode, fabric, 1))
        {
            final long serverAddress = server.context().driver().localAddress();
            final HomaSocket clientSocket = client.openSocket(0);
            final HomaSocket serverSocket = server.openSocket(PORT);
            // A tiny piece, a piece larger than a command-ring record, and one in between.
            final int[] lengths = { 1 + random.nextInt(50), 100_000 + random.nextInt(50_000), 3_000 };
            final DirectBuffer[] pieces = new DirectBuffer[lengths.length];
            final byte[] whole = new byte[lengths[0] + lengths[1] + lengths[2]];
            random.nextBytes(whole);
            int at = 0;
            for (int i = 0; i < lengths.length; i++)
            {
                final byte[] piece = new byte[lengths[i]];
                System.arraycopy(whole, at, piece, 0, lengths[i]);
                pieces[i] = new UnsafeBuffer(piece);
                at += lengths[i];
            }
            assertThrows(HomaException.class,
                () -> clientSocket.homaSendv(serverAddress, PORT, pieces, 0, 0L));
            if (ThreadingMode.INVOKER == mode)
            {
                // This thread drives both duty cycles, so its sends and replies run inline, not through the ring.
                client.doWork();
                server.doWork();
            }

            final long id = clientSocket.homaSendv(serverAddress, PORT, pieces, pieces.length, 5L);
            final HomaMessage request = receive(mode, serverSocket, HomaSocket.RECV_REQUEST, client, server);
            assertEquals(whole.length, request.length());
            assertArrayEquals(whole, request.toByteArray(), "request = the pieces in order");

            final DirectBuffer[] segments = new DirectBuffer[request.segmentCount()];
            for (int i = 0; i < segments.length; i++)
            {
                segments[i] = request.segment(i);
            }
            serverSocket.homaReplyv(request, segments, segments.length);
            assertThrows(HomaException.class, () -> serverSocket.homaReplyv(request, segments, segments.length),
                "one reply per request");
            request.release();

            final HomaMessage response = receive(mode, clientSocket, HomaSocket.RECV_RESPONSE, client, server);
            assertEquals(id, response.id());
            assertEquals(5L, response.cookie());
            assertArrayEquals(whole, response.toByteArray(), "the echo of the request's own segments");
            response.release();
        }
        finally
        {
            fabric.close();
        }
    }
}
