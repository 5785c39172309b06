package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two JVM processes in two network namespaces: this one in namespace A, an {@link UdpEchoServer} child in B.
 * 10,000 packets of seeded random sizes (full-size runs among them, so GSO and GRO engage) at all eight levels go
 * over the veth and come back byte-exact at the level they were sent at. Packet-level only: RPCs over this driver
 * are tested with the protocol engine.
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
        final long seed = UdpDriverTest.seed();
        final Random random = new Random(seed);
        try (NetnsPair pair = NetnsPair.create("hudpe", 3))
        {
            final long serverAddress = HostAddress.parseIpv4(pair.ipB() + ":4000");
            final Process server = pair.start(pair.nsB(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "--enable-native-access=ALL-UNNAMED",
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                UdpEchoServer.class.getName(), HostAddress.toString(serverAddress), datapath.name());
            final BufferedReader serverOutput = new BufferedReader(
                new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            try
            {
                String line;
                while (null != (line = serverOutput.readLine()) && !line.startsWith("READY"))
                {
                    System.out.println("server: " + line);
                }
                assertNotNull(line, "echo server exited before it was ready");

                final UdpDriver client = pair.callIn(pair.nsA(), () -> new UdpDriver(new UdpDriverContext()
                    .bindAddress(HostAddress.parseIpv4(pair.ipA() + ":4000")).datapath(datapath)));
                try (client)
                {
                    exchange(client, serverAddress, random);
                    final Packet stop = client.acquire().length(1);
                    stop.buffer().putByte(0, (byte)0xFF);
                    client.send(stop, serverAddress, 7);
                    client.flush();
                    client.release(stop);
                    System.out.printf("client %s: sent=%d received=%d gsoSends=%d groSuperDatagrams=%d%n", datapath,
                        client.counters().packetsSent(), client.counters().packetsReceived(),
                        client.counters().gsoSends(), client.counters().groSuperDatagrams());
                    assertTrue(client.counters().gsoSends() > 0, "full-size runs went out as GSO");
                }
                assertTrue(server.waitFor(30, TimeUnit.SECONDS), "echo server did not stop");
                while (null != (line = serverOutput.readLine()))
                {
                    System.out.println("server: " + line);
                }
                assertEquals(0, server.exitValue());
            }
            finally
            {
                server.destroyForcibly();
            }
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
