package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The priority reaches the wire: tshark captures the driver's datagrams on {@code lo} and reads each one's DSCP,
 * which must be the class selector of the level it was sent at (CS n = n << 3). Skipped with the reason where
 * tshark is missing or may not capture.
 */
class UdpDscpCaptureTest
{
    private static final int PER_LEVEL = 3;
    private static final int BASE_LENGTH = 100;

    @ParameterizedTest(name = "{0}")
    @EnumSource(UdpDriverContext.Datapath.class)
    @Timeout(60)
    void everyLevelIsCarriedAsClassSelectorDscpOnLoopback(final UdpDriverContext.Datapath datapath) throws Exception
    {
        assumeTrue(new File("/usr/bin/tshark").canExecute() || onPath("tshark"), "tshark not installed");
        try (UdpDriver a = new UdpDriver(
                UdpDriverTest.ethernet().datapath(datapath).gso(false));
            UdpDriver b = new UdpDriver(
                UdpDriverTest.ethernet().datapath(datapath).gro(false)))
        {
            captureAndCheck(a, b, (port, pcap) -> new ProcessBuilder(tsharkCommand("lo", port, pcap))
                .redirectErrorStream(true).start());
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(UdpDriverContext.Datapath.class)
    @Timeout(90)
    void everyLevelIsCarriedAsClassSelectorDscpOverVeth(final UdpDriverContext.Datapath datapath) throws Exception
    {
        assumeTrue(new File("/usr/bin/tshark").canExecute() || onPath("tshark"), "tshark not installed");
        assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        try (NetnsPair pair = NetnsPair.create("hudpd"))
        {
            final UdpDriver a = pair.callIn(pair.nsA(), () -> new UdpDriver(new UdpDriverContext()
                .bindAddress(HostAddress.parseIpv4(pair.ipA())).datapath(datapath).gso(false)));
            final UdpDriver b = pair.callIn(pair.nsB(), () -> new UdpDriver(new UdpDriverContext()
                .bindAddress(HostAddress.parseIpv4(pair.ipB())).datapath(datapath).gro(false)));
            try (a; b)
            {
                captureAndCheck(a, b, (port, pcap) -> pair.start(pair.nsB(), tsharkCommand(pair.ifB(), port, pcap)));
            }
        }
    }

    @FunctionalInterface
    interface CaptureStarter
    {
        Process start(int port, Path pcap) throws IOException;
    }

    private static String[] tsharkCommand(final String iface, final int port, final Path pcap)
    {
        final int expectedFrames = UdpDriver.PRIORITY_LEVELS * PER_LEVEL;
        return new String[]{ "tshark", "-i", iface, "-f", "udp dst port " + port, "-c",
            String.valueOf(expectedFrames), "-a", "duration:30", "-w", pcap.toString() };
    }

    private static void captureAndCheck(final UdpDriver a, final UdpDriver b, final CaptureStarter starter)
        throws Exception
    {
        final Path pcap = Files.createTempFile("homa-udp-dscp", ".pcapng");
        {
            final int port = HostAddress.portOf(b.localAddress());
            final int expectedFrames = UdpDriver.PRIORITY_LEVELS * PER_LEVEL;
            final Process capture = starter.start(port, pcap);
            try
            {
                awaitCaptureStarted(capture);

                // Each level's datagrams get a distinct length so the capture can be matched back to the level.
                final List<Packet> sent = new ArrayList<>();
                for (int level = 0; level < UdpDriver.PRIORITY_LEVELS; level++)
                {
                    for (int k = 0; k < PER_LEVEL; k++)
                    {
                        final Packet packet = a.acquire().length(BASE_LENGTH + level);
                        packet.buffer().setMemory(0, packet.length(), (byte)level);
                        assertTrue(a.send(packet, b.localAddress(), level));
                        sent.add(packet);
                    }
                }
                a.flush();
                sent.forEach(a::release);

                final int[] received = new int[1];
                final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (received[0] < expectedFrames)
                {
                    b.poll(packet ->
                    {
                        assertEquals(packet.length() - BASE_LENGTH, packet.priority());
                        received[0]++;
                        b.release(packet);
                    }, 64);
                    assertTrue(System.nanoTime() < deadlineNs, "datagrams lost on loopback: " + received[0]);
                }
                assertTrue(capture.waitFor(30, TimeUnit.SECONDS), "tshark did not stop");
            }
            finally
            {
                capture.destroy();
            }
        }

        checkCapture(pcap);
    }

    private static void checkCapture(final Path pcap) throws Exception
    {
        final List<String> lines = run("tshark", "-r", pcap.toString(), "-T", "fields",
            "-e", "udp.length", "-e", "ip.dsfield.dscp", "-e", "ip.dsfield.ecn");
        Files.deleteIfExists(pcap);
        final int[] perLevel = new int[UdpDriver.PRIORITY_LEVELS];
        for (final String line : lines)
        {
            final String[] fields = line.trim().split("\\s+");
            final int level = Integer.parseInt(fields[0]) - 8 - BASE_LENGTH;
            final int dscp = Integer.parseInt(fields[1]);
            System.out.println("captured level=" + level + " dscp=" + dscp + " ecn=" + fields[2]);
            assertEquals(level << 3, dscp, "DSCP of a level-" + level + " datagram: " + line);
            assertEquals("0", fields[2], "ECN bits stay zero");
            perLevel[level]++;
        }
        for (int level = 0; level < UdpDriver.PRIORITY_LEVELS; level++)
        {
            assertEquals(PER_LEVEL, perLevel[level], "captured datagrams of level " + level);
        }
    }

    private static void awaitCaptureStarted(final Process capture) throws IOException
    {
        final BufferedReader reader = new BufferedReader(
            new InputStreamReader(capture.getInputStream(), StandardCharsets.UTF_8));
        final StringBuilder output = new StringBuilder();
        String line;
        while (null != (line = reader.readLine()))
        {
            output.append(line).append('\n');
            if (line.contains("Capture started"))
            {
                // tshark says so once dumpcap has the interface open with the filter attached ("Capturing on" comes
                // earlier, before dumpcap is ready, and packets sent then are missed).
                return;
            }
        }
        assumeTrue(false, "tshark cannot capture on lo here: " + output);
    }

    private static List<String> run(final String... command) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(false).start();
        final List<String> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while (null != (line = reader.readLine()))
            {
                if (!line.isBlank())
                {
                    lines.add(line);
                }
            }
        }
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        return lines;
    }

    private static boolean onPath(final String tool)
    {
        final String path = System.getenv("PATH");
        if (null == path)
        {
            return false;
        }
        for (final String dir : path.split(File.pathSeparator))
        {
            if (new File(dir, tool).canExecute())
            {
                return true;
            }
        }
        return false;
    }
}
