package dev.homa.system;

import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.workload.MessageSizeDistribution;
import dev.homa.test.NetnsPair;
import dev.homa.nic.raw.RawEthernetDriver;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two JVM processes in two network namespaces exchange RPCs of W4 sizes (capped at 1,000,000 bytes) byte-exact over
 * the raw Ethernet driver: 1,000 in the default build, {@code -Dhoma.raw.e2e.rpcs=10000} for more. This JVM is the
 * client (its driver opened in namespace A), a child JVM runs an {@link EchoServer} answering RPCs in namespace B;
 * requests carry seeded bytes and each response must equal its request.
 */
class RawEthernetEndToEndTest
{
    private static final long SEED = Long.getLong("homa.seed", 0x5EED_0E2EL);
    private static final int RPCS = Integer.getInteger("homa.raw.e2e.rpcs", 1_000);
    private static final int PORT = 4000;
    private static final int WINDOW = 8;
    private static final int POOL_PACKETS = 8192;

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void tenThousandW4RpcsBetweenTwoJvmsOverRawEthernet() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        System.out.println("seed=" + SEED);
        final MessageSizeDistribution w4 = MessageSizeDistribution.workload("w4", 1_000_000);
        final Random random = new Random(SEED);
        final int[] sizes = new int[RPCS];
        long totalBytes = 0;
        for (int i = 0; i < RPCS; i++)
        {
            sizes[i] = Math.max(4, w4.sample(random.nextDouble()));
            totalBytes += sizes[i];
        }

        try (NetnsPair pair = NetnsPair.create("hrawe2e", 9);
            RawEthernetDriver driver = RawEthernetDriver.fromUri(
                "raw://" + pair.ifA() + "?netns=" + pair.nsA() + "&pool=" + POOL_PACKETS);
            EchoServerProcess server = EchoServerProcess.rpcs(pair, "raw://" + pair.ifB() + "?pool=" + POOL_PACKETS,
                PORT))
        {
            final long serverAddress = server.address();
            assertTrue(driver.awaitNeighbour(serverAddress, TimeUnit.SECONDS.toNanos(5)));

            try (HomaTransport transport = HomaTransport.launch(EchoServer.transportContext(driver)))
            {
                final HomaSocket socket = transport.openSocket(0);
                final UnsafeBuffer[] requests = new UnsafeBuffer[WINDOW];
                @SuppressWarnings("unchecked")
                final CompletableFuture<HomaMessage>[] calls = new CompletableFuture[WINDOW];
                final int[] index = new int[WINDOW];
                for (int slot = 0; slot < WINDOW; slot++)
                {
                    requests[slot] = new UnsafeBuffer(new byte[1_000_000]);
                }
                final long startNs = System.nanoTime();
                int next = 0;
                int completed = 0;
                int mismatches = 0;
                while (completed < RPCS)
                {
                    for (int slot = 0; slot < WINDOW; slot++)
                    {
                        if (null == calls[slot] && next < RPCS)
                        {
                            fill(requests[slot], next, sizes[next]);
                            index[slot] = next;
                            calls[slot] = socket.call(serverAddress, PORT, requests[slot], 0, sizes[next]);
                            next++;
                        }
                    }
                    for (int slot = 0; slot < WINDOW; slot++)
                    {
                        if (null != calls[slot] && calls[slot].isDone())
                        {
                            final HomaMessage response = calls[slot].get();
                            if (!matches(response, index[slot], sizes[index[slot]]))
                            {
                                mismatches++;
                            }
                            response.release();
                            calls[slot] = null;
                            completed++;
                        }
                    }
                    Thread.onSpinWait();
                    assertTrue(System.nanoTime() - startNs < TimeUnit.SECONDS.toNanos(240),
                        "stalled after " + completed + " RPCs; " + driver.counters());
                }
                final double seconds = (System.nanoTime() - startNs) / 1e9;
                assertEquals(0, mismatches, "responses that differ from their request");
                System.out.printf("raw e2e: %d W4 RPCs, %d request bytes each way, %.1f s, %.0f Mb/s each way;" +
                    " client %s%n", RPCS, totalBytes, seconds, totalBytes * 8 / seconds / 1e6, driver.counters());
                assertEquals(RPCS, server.stop(), "requests the server answered");
            }
        }
    }

    private static void fill(final UnsafeBuffer buffer, final int index, final int length)
    {
        final Random bytes = new Random(SEED ^ index);
        for (int i = 0; i < length; i += 8)
        {
            final long value = bytes.nextLong();
            for (int j = 0; j < 8 && i + j < length; j++)
            {
                buffer.putByte(i + j, (byte)(value >>> (8 * j)));
            }
        }
    }

    private static boolean matches(final HomaMessage response, final int index, final int length)
    {
        if (length != response.length())
        {
            return false;
        }
        final byte[] actual = response.toByteArray();
        final Random bytes = new Random(SEED ^ index);
        for (int i = 0; i < length; i += 8)
        {
            final long value = bytes.nextLong();
            for (int j = 0; j < 8 && i + j < length; j++)
            {
                if ((byte)(value >>> (8 * j)) != actual[i + j])
                {
                    return false;
                }
            }
        }
        return true;
    }
}
