package dev.homa.system;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.raw.RawEthernetDriver;
import dev.homa.test.NetnsPair;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two JVM processes in two namespaces: this one with its driver opened in namespace A ({@code netns=}), an
 * {@link EchoServer} child in B echoing packets; 10,000 packets of random sizes at all eight priorities go out and
 * come back byte-exact with their priority.
 */
class RawEthernetTwoProcessTest
{
    private static final long SEED = Long.getLong("homa.seed", 0x5EED_0010L);
    private static final int PACKETS = 10_000;
    private static final int WINDOW = 32;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void tenThousandPacketsEchoedByAnotherJvmInAnotherNamespace() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        System.out.println("seed=" + SEED);
        try (NetnsPair pair = NetnsPair.create("hraw2p", 5);
            RawEthernetDriver a = RawEthernetDriver.fromUri("raw://" + pair.ifA() + "?netns=" + pair.nsA());
            EchoServerProcess server = EchoServerProcess.packets(pair, "raw://" + pair.ifB()))
        {
            final long serverAddress = server.address();
            assertTrue(a.awaitNeighbour(serverAddress, TimeUnit.SECONDS.toNanos(5)));

            final Random random = new Random(SEED);
            final int[] lengths = new int[PACKETS];
            for (int i = 0; i < PACKETS; i++)
            {
                lengths[i] = 28 + random.nextInt(a.maxPacketLength() - 27);
            }
            final long[] bytesChecked = new long[1];
            final int[] echoed = new int[1];
            final int[] wrong = new int[1];
            final Packet[] window = new Packet[WINDOW];
            for (int first = 0; first < PACKETS; first += WINDOW)
            {
                final int end = Math.min(PACKETS, first + WINDOW);
                for (int i = first; i < end; i++)
                {
                    final Packet packet = a.acquire();
                    fill(packet.buffer(), i, lengths[i]);
                    packet.length(lengths[i]);
                    assertTrue(a.send(packet, serverAddress, i & 7));
                    window[i - first] = packet;
                }
                a.flush();
                for (int i = first; i < end; i++)
                {
                    a.release(window[i - first]);
                }
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (echoed[0] < end)
                {
                    a.poll((packet) ->
                    {
                        final int index = packet.buffer().getInt(0, BIG_ENDIAN);
                        if (index < 0 || index >= PACKETS || lengths[index] != packet.length() ||
                            (index & 7) != packet.priority() ||
                            !matches(packet.buffer(), index, lengths[index], serverAddress, a.localAddress()) ||
                            serverAddress != packet.source())
                        {
                            wrong[0]++;
                        }
                        bytesChecked[0] += packet.length();
                        echoed[0]++;
                        a.release(packet);
                    }, 64);
                    if (System.nanoTime() - deadline > 0)
                    {
                        fail("echoes stalled at " + echoed[0] + " of " + end + ": " + a.counters());
                    }
                }
            }
            assertEquals(0, wrong[0], "echoes with wrong bytes, length, priority or source");
            assertEquals(PACKETS, echoed[0]);
            assertEquals(PACKETS, server.stop(), "packets the server echoed");
            System.out.println("two JVMs: " + PACKETS + " packets, " + bytesChecked[0] +
                " Homa bytes echoed byte-exact at priorities 0..7; client " + a.counters());
        }
    }

    private static void fill(final MutableDirectBuffer buffer, final int index, final int length)
    {
        buffer.putInt(0, index, BIG_ENDIAN);
        for (int i = 4; i < length; i++)
        {
            buffer.putByte(i, (byte)(index * 31 + i));
        }
    }

    /**
     * The echo's bytes are the request's, except the checksum field: the echo server's driver stores the seed of a
     * partial checksum from it to us there (veth passes it on uncompleted).
     */
    private static boolean matches(
        final DirectBuffer buffer, final int index, final int length, final long source, final long destination)
    {
        if (HomaChecksum.seed(length, HostAddress.ipv4Of(source), HostAddress.ipv4Of(destination)) !=
            (buffer.getShort(HomaChecksum.CHECKSUM_OFFSET, BIG_ENDIAN) & 0xFFFF))
        {
            return false;
        }
        for (int i = 4; i < length; i++)
        {
            if (i == HomaChecksum.CHECKSUM_OFFSET || i == HomaChecksum.CHECKSUM_OFFSET + 1)
            {
                continue;
            }
            if ((byte)(index * 31 + i) != buffer.getByte(i))
            {
                return false;
            }
        }
        return true;
    }
}
