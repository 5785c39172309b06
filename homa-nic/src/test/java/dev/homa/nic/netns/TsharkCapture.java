package dev.homa.nic.netns;

import dev.homa.test.NetnsPair;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Test support: a tshark capture of IPv4 protocol 146 on an interface of a {@link NetnsPair} namespace, written to
 * a file; {@link #start} returns once tshark says the capture has started, {@link #stop} lets it finish the file.
 */
public final class TsharkCapture
{
    private TsharkCapture()
    {
    }

    /**
     * @param pair       the namespaces.
     * @param ns         the namespace of the interface.
     * @param ifName     the interface.
     * @param pcap       the file to write.
     * @param snapLength bytes kept of each frame, 0 for all.
     * @return the running tshark.
     * @throws InterruptedException if interrupted while waiting for it to start.
     */
    public static Process start(
        final NetnsPair pair, final String ns, final String ifName, final Path pcap, final int snapLength)
        throws InterruptedException
    {
        // A 64 MiB kernel buffer instead of 2 MiB: the tests check every frame, and on two cores shared with busy
        // polling JVMs tshark can be off the CPU while thousands of frames arrive; what overflows is lost.
        final List<String> command = new ArrayList<>(List.of("tshark", "-i", ifName, "-B", "64"));
        if (snapLength > 0)
        {
            command.add("-s");
            command.add(String.valueOf(snapLength));
        }
        command.addAll(List.of("-f", "ip proto 146", "-w", pcap.toString()));
        final Process tshark = pair.start(ns, command.toArray(new String[0]));
        final CountDownLatch started = new CountDownLatch(1);
        final List<String> output = new ArrayList<>();
        Thread.ofPlatform().daemon().start(() ->
        {
            try (BufferedReader in = new BufferedReader(
                new InputStreamReader(tshark.getInputStream(), StandardCharsets.UTF_8)))
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
                        started.countDown();
                    }
                }
            }
            catch (final IOException ignore)
            {
                // Capture ended.
            }
        });
        assertTrue(started.await(30, TimeUnit.SECONDS), () -> "tshark did not start: " + output);
        return tshark;
    }

    /**
     * SIGTERM: tshark finishes the file; give it time before insisting.
     *
     * @param tshark from {@link #start}.
     * @throws InterruptedException if interrupted while waiting.
     */
    public static void stop(final Process tshark) throws InterruptedException
    {
        tshark.destroy();
        if (!tshark.waitFor(20, TimeUnit.SECONDS))
        {
            tshark.destroyForcibly();
        }
    }
}
