package dev.homa.nic.netns;

import dev.homa.test.NetnsPair;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Test support: a tshark capture of IPv4 protocol 146 on an interface of a {@link NetnsPair} namespace, written to
 * a file; {@link #start} returns once tshark says the capture has started, {@link #stop} returns once every frame
 * the interface carried before it was called is in the file.
 * <p>
 * A stopped capture keeps only what dumpcap had already read: frames still in the kernel ring are discarded without
 * being counted as dropped, and a dumpcap kept off the CPU by a loaded machine can be seconds behind. So {@link #stop}
 * first sends a marker, a UDP datagram to the discard port carrying a random nonce, out of the captured interface,
 * and signals tshark only once the nonce is in the file: the ring is read in order, so every earlier frame is too.
 * Readers select protocol 146 and never see the marker.
 */
public final class TsharkCapture
{
    private static final int DISCARD_PORT = 9;
    private static final long CATCH_UP_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);
    private static final long MARKER_RESEND_NS = TimeUnit.SECONDS.toNanos(1);

    private final NetnsPair pair;
    private final String ns;
    private final String peerIp;
    private final Path pcap;
    private final Process tshark;
    private final Thread outputReader;
    private final List<String> output;

    private TsharkCapture(
        final NetnsPair pair, final String ns, final Path pcap, final Process tshark, final Thread outputReader,
        final List<String> output)
    {
        this.pair = pair;
        this.ns = ns;
        this.peerIp = ns.equals(pair.nsA()) ? pair.ipB() : pair.ipA();
        this.pcap = pcap;
        this.tshark = tshark;
        this.outputReader = outputReader;
        this.output = output;
    }

    /**
     * @param pair       the namespaces.
     * @param ns         the namespace of the interface.
     * @param ifName     the interface.
     * @param pcap       the file to write.
     * @param snapLength bytes kept of each frame, 0 for all.
     * @return the running capture.
     * @throws InterruptedException if interrupted while waiting for it to start.
     */
    public static TsharkCapture start(
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
        command.addAll(List.of("-f", "ip proto 146 or udp dst port " + DISCARD_PORT, "-w", pcap.toString()));
        final Process tshark = pair.start(ns, command.toArray(new String[0]));
        final CountDownLatch started = new CountDownLatch(1);
        final List<String> output = new ArrayList<>();
        final Thread outputReader = Thread.ofPlatform().daemon().start(() ->
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
        assertTrue(started.await(30, TimeUnit.SECONDS), () -> "tshark did not start: " + output(output));
        return new TsharkCapture(pair, ns, pcap, tshark, outputReader, output);
    }

    /**
     * Wait until the file holds every frame seen so far, then SIGTERM: tshark finishes the file. Fails if tshark
     * does not catch up, or reports frames it dropped, since the tests that capture check every frame.
     *
     * @throws Exception if the marker cannot be sent or the file read, or if interrupted while waiting.
     */
    public void stop() throws Exception
    {
        try
        {
            awaitMarker();
        }
        finally
        {
            tshark.destroy();
            if (!tshark.waitFor(20, TimeUnit.SECONDS))
            {
                tshark.destroyForcibly();
            }
        }
        outputReader.join(TimeUnit.SECONDS.toMillis(20));
        final String summary = output(output);
        assertFalse(summary.contains("dropped"), () -> "the capture of " + pcap + " lost frames: " + summary);
    }

    private void awaitMarker() throws Exception
    {
        final byte[] nonce = ("homa-capture-marker-" + UUID.randomUUID()).getBytes(StandardCharsets.US_ASCII);
        final FileScan scan = new FileScan(pcap, nonce);
        try (WatchService watch = FileSystems.getDefault().newWatchService())
        {
            pcap.toAbsolutePath().getParent().register(watch, StandardWatchEventKinds.ENTRY_MODIFY);
            final long deadline = System.nanoTime() + CATCH_UP_TIMEOUT_NS;
            long nextSend = System.nanoTime();
            while (!scan.found())
            {
                final long now = System.nanoTime();
                if (now - deadline >= 0)
                {
                    fail("tshark did not write the marker to " + pcap + " within " +
                        TimeUnit.NANOSECONDS.toSeconds(CATCH_UP_TIMEOUT_NS) + " s: " + output(output));
                }
                if (now - nextSend >= 0)
                {
                    // Again after a while: the first one can wait on, and be dropped by, neighbour resolution.
                    sendMarker(nonce);
                    nextSend = now + MARKER_RESEND_NS;
                }
                if (!tshark.isAlive())
                {
                    fail("tshark exited before catching up: " + output(output));
                }
                final WatchKey key = watch.poll(Math.min(deadline - now, nextSend - now), TimeUnit.NANOSECONDS);
                if (null != key)
                {
                    key.pollEvents();
                    key.reset();
                }
            }
        }
    }

    private void sendMarker(final byte[] nonce) throws Exception
    {
        pair.callIn(ns, () ->
        {
            try (DatagramChannel channel = DatagramChannel.open())
            {
                channel.send(ByteBuffer.wrap(nonce), new InetSocketAddress(peerIp, DISCARD_PORT));
            }
            return null;
        });
    }

    private static String output(final List<String> output)
    {
        synchronized (output)
        {
            return String.valueOf(output);
        }
    }

    /**
     * Looks for a byte string in a growing file, reading only what was appended since the last look.
     */
    private static final class FileScan
    {
        private final Path file;
        private final byte[] needle;
        private final ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        private long position;
        private int matched;

        FileScan(final Path file, final byte[] needle)
        {
            this.file = file;
            this.needle = needle;
        }

        boolean found() throws IOException
        {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
            {
                while (matched < needle.length)
                {
                    buffer.clear();
                    final int read = channel.read(buffer, position);
                    if (read <= 0)
                    {
                        return false;
                    }
                    position += read;
                    for (int i = 0; i < read && matched < needle.length; i++)
                    {
                        matched = advance(matched, buffer.get(i));
                    }
                }
                return true;
            }
        }

        // The needle's first byte occurs nowhere else in it, so after a mismatch the only match that can be under
        // way is one starting at this byte.
        private int advance(final int matchedSoFar, final byte b)
        {
            if (needle[matchedSoFar] == b)
            {
                return matchedSoFar + 1;
            }
            return needle[0] == b ? 1 : 0;
        }
    }
}
