package dev.homa.nic.raw;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.homa.nic.frame.PriorityMapping;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real capture, read back by tshark: every frame the driver sent carries the 802.1Q PCP of the priority it was
 * sent at (802.1p order: level 0 -> PCP 1, level 1 -> PCP 0) and an IPv4 header checksum tshark validates.
 */
class RawEthernetCaptureTest
{
    private static final int PER_PRIORITY = 5;

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void tsharkSeesPcpOfEveryPriorityAndValidChecksums() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tshark")), "tshark is not installed");
        final Path pcap = Files.createTempFile("hraw-capture", ".pcapng");
        try (NetnsPair pair = NetnsPair.create("hrawcap", 1);
            RawEthernetDriver a = pair.callIn(pair.nsA(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifA()));
            RawEthernetDriver b = pair.callIn(pair.nsB(), () -> RawEthernetDriver.fromUri("raw://" + pair.ifB())))
        {
            assertTrue(a.awaitNeighbour(b.localAddress(), TimeUnit.SECONDS.toNanos(5)));

            // Capture on the receiving end: with PACKET_QDISC_BYPASS the sender's own taps never see its frames.
            // It stops by itself after the expected count of Homa frames (a signal could lose the file's tail).
            final Process tshark = pair.start(pair.nsB(), "tshark", "-i", pair.ifB(), "-f", "ip proto 146",
                "-c", String.valueOf(8 * PER_PRIORITY), "-w", pcap.toString());
            final List<String> output = new ArrayList<>();
            final CountDownLatch capturing = new CountDownLatch(1);
            final Thread reader = Thread.ofPlatform().daemon().start(() -> drain(tshark, output, capturing));
            assertTrue(capturing.await(30, TimeUnit.SECONDS), () -> "tshark did not start: " + output);

            for (int priority = 0; priority < 8; priority++)
            {
                for (int i = 0; i < PER_PRIORITY; i++)
                {
                    RawEthernetDriverTest.sendOne(a, b.localAddress(), priority);
                }
            }
            final int[] received = new int[1];
            RawEthernetDriverTest.awaitTrue(() ->
            {
                b.poll((packet) ->
                {
                    received[0]++;
                    b.release(packet);
                }, 64);
                return 8 * PER_PRIORITY == received[0];
            }, () -> "received " + received[0]);

            if (!tshark.waitFor(20, TimeUnit.SECONDS))
            {
                tshark.destroyForcibly();
            }
            reader.join(5_000);

            final List<String> lines = readFields(pcap);
            assertEquals(8 * PER_PRIORITY, lines.size(), () -> "frames in capture: " + lines + ", tshark said " +
                output +
                ", pcap bytes " + pcap.toFile().length());
            for (int i = 0; i < lines.size(); i++)
            {
                final int priority = i / PER_PRIORITY;
                final String[] fields = lines.get(i).split("\t", -1);
                assertEquals(String.valueOf(PriorityMapping.levelToPcp(priority)), fields[0],
                    "PCP of frame " + i + " sent at level " + priority + ": " + lines.get(i));
                assertEquals("1", fields[1], "IPv4 checksum status (1 = good) of frame " + i + ": " + lines.get(i));
                assertEquals("0", fields[2], "VLAN id of frame " + i);
                assertEquals("146", fields[3], "IP protocol of frame " + i);
            }
            System.out.println("tshark: " + lines.size() + " frames, PCP per level 0..7 = " +
                lines.stream().map((line) -> line.split("\t")[0]).distinct().toList() + ", all checksums good");
        }
        finally
        {
            Files.deleteIfExists(pcap);
        }
    }

    private static void drain(final Process process, final List<String> output, final CountDownLatch capturing)
    {
        try (BufferedReader in = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while (null != (line = in.readLine()))
            {
                synchronized (output)
                {
                    output.add(line);
                }
                if (line.contains("Capture started"))
                {
                    capturing.countDown();
                }
            }
        }
        catch (final IOException ignore)
        {
            // Process ended.
        }
    }

    private static List<String> readFields(final Path pcap) throws Exception
    {
        final Process process = new ProcessBuilder("tshark", "-r", pcap.toString(), "-Y", "ip.proto == 146",
            "-o", "ip.check_checksum:TRUE", "-T", "fields",
            "-e", "vlan.priority", "-e", "ip.checksum.status", "-e", "vlan.id", "-e", "ip.proto")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
        final String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        final List<String> lines = new ArrayList<>();
        for (final String line : text.split("\n"))
        {
            if (!line.isBlank())
            {
                lines.add(line.replace("\r", ""));
            }
        }
        return lines;
    }
}
