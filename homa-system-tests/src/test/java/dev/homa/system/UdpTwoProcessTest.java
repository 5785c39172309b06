package dev.homa.system;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.udp.UdpDriver;
import dev.homa.nic.udp.UdpDriverContext;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two JVM processes in two network namespaces: this one in namespace A, an {@link EchoServer} child in B echoing
 * packets. 10,000 packets of seeded random sizes (full-size runs among them, so GSO and GRO engage) at all eight
 * levels go over the veth and come back byte-exact at the level they were sent at, on each datapath. Packet-level
 * only: {@link UdpRpcEndToEndTest} runs RPCs over this driver.
 */
class UdpTwoProcessTest
{
    private static final int PACKETS = 10_000;
    private static final int WINDOW = 64;

    @ParameterizedTest(name = "{0}")
    @EnumSource(UdpDriverContext.Datapath.class)
    @Timeout(120)
    void echoesTenThousandPacketsBetweenProcessesByteExact(final UdpDriverContext.Datapath datapath)
        throws Exception
    {
        assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        final long seed = Long.getLong("homa.seed", System.nanoTime());
        System.out.println("seed=" + seed);
        final Random random = new Random(seed);
        try (NetnsPair pair = NetnsPair.create("hudpe", 3);
            EchoServerProcess server = EchoServerProcess.packets(pair,
                "udp://" + pair.ipB() + ":4000?datapath=" + datapath.name().toLowerCase(Locale.ROOT)))
        {
            final long serverAddress = server.address();
            final UdpDriver client = pair.callIn(pair.nsA(), () -> new UdpDriver(new UdpDriverContext()
                .bindAddress(HostAddress.parseIpv4(pair.ipA() + ":4000")).datapath(datapath)));
            try (client)
            {
                exchange(client, serverAddress, random);
                System.out.printf("client %s: sent=%d received=%d gsoSends=%d groSuperDatagrams=%d%n", datapath,
                    client.counters().packetsSent(), client.counters().packetsReceived(),
                    client.counters().gsoSends(), client.counters().groSuperDatagrams());
                assertTrue(client.counters().gsoSends() > 0, "full-size runs went out as GSO");
            }
            assertEquals(PACKETS, server.stop(), "packets the server echoed");
        }
    }

    private static void exchange(final UdpDriver client, final long server, final Random random)
    {
        final byte[][] expected = new byte[PACKETS][];
        final int[] level = new int[PACKETS];
        final int[] done = new int[1];
        int next = 0;
        int outstanding = 0;
        final Packet[] batch = new Packet[WINDOW];
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (done[0] < PACKETS)
        {
            int queued = 0;
            while (next < PACKETS && outstanding + queued < WINDOW)
            {
                // Runs of full-size packets at one level (GSO material) between single packets of random size.
                final boolean run = 0 != (next / 8) % 2;
                final int length = run ? client.maxPacketLength() : 8 + random.nextInt(client.maxPacketLength() - 7);
                final byte[] bytes = new byte[length];
                random.nextBytes(bytes);
                bytes[0] = (byte)(next >>> 24);
                bytes[1] = (byte)(next >>> 16);
                bytes[2] = (byte)(next >>> 8);
                bytes[3] = (byte)next;
                expected[next] = bytes;
                level[next] = run ? (next / 16) % 8 : random.nextInt(8);
                final Packet packet = client.acquire();
                packet.buffer().putBytes(0, bytes);
                packet.length(length);
                assertTrue(client.send(packet, server, level[next]));
                batch[queued++] = packet;
                next++;
            }
            if (queued > 0)
            {
                client.flush();
                for (int i = 0; i < queued; i++)
                {
                    client.release(batch[i]);
                }
                outstanding += queued;
            }
            final int before = done[0];
            client.poll(packet ->
            {
                try
                {
                    final int seq = packet.buffer().getInt(0, ByteOrder.BIG_ENDIAN);
                    assertTrue(seq >= 0 && seq < PACKETS && null != expected[seq], "unexpected echo " + seq);
                    final byte[] got = new byte[packet.length()];
                    packet.buffer().getBytes(0, got);
                    assertArrayEquals(expected[seq], got, "echo of packet " + seq);
                    assertEquals(level[seq], packet.priority(), "level of packet " + seq);
                    assertEquals(server, packet.source());
                    expected[seq] = null;
                    done[0]++;
                }
                finally
                {
                    client.release(packet);
                }
            }, WINDOW);
            outstanding -= done[0] - before;
            if (System.nanoTime() > deadlineNs)
            {
                final int missing = (int)Arrays.stream(expected).filter(e -> null != e).count();
                throw new AssertionError("echoes missing: " + missing + " of " + PACKETS + ", drops noBuffer=" +
                    client.counters().rxDroppedNoBuffer());
            }
        }
    }
}
