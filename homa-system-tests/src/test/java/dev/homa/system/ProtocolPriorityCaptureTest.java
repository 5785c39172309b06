package dev.homa.system;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.priority.Cutoffs;
import dev.homa.core.wire.CutoffsFlyweight;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.ResendFlyweight;
import dev.homa.core.workload.MessageSizeDistribution;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.netns.TsharkCapture;
import dev.homa.nic.raw.RawEthernetDriver;
import dev.homa.test.NetnsPair;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tshark capture of real frames from the raw driver, both directions, shows every DATA frame's 802.1Q
 * PCP equal to the priority the protocol chose: unscheduled bytes at the level the receiver's cutoffs (the version
 * named in the DATA header, from the CUTOFFS packets in the capture) give for the message length, scheduled bytes at
 * the priority of a GRANT the sender had received, retransmissions at the priority of a RESEND. Every frame carries a
 * VID-0 tag and a valid IPv4 header checksum.
 */
class ProtocolPriorityCaptureTest
{
    private static final long SEED = Long.getLong("homa.seed", 0x5EED_0CA9L);
    private static final int RPCS = 300;
    private static final int PORT = 4000;
    private static final int WINDOW = 8;
    private static final int SNAP_LENGTH = 160;
    private static final int POOL_PACKETS = 8192;

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void everyDataFrameCarriesThePriorityTheProtocolChose() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tshark")), "tshark is not installed");
        System.out.println("seed=" + SEED);
        final MessageSizeDistribution w4 = MessageSizeDistribution.workload("w4", 1_000_000);
        final Random random = new Random(SEED);
        final Path pcapA = Files.createTempFile("hraw-proto-a", ".pcapng");
        final Path pcapB = Files.createTempFile("hraw-proto-b", ".pcapng");
        try (NetnsPair pair = NetnsPair.create("hrawpcp", 10))
        {
            // Each side captures what it receives: with PACKET_QDISC_BYPASS a sender's own taps never see its frames.
            // Segmentation offload is off so that each DATA packet is a frame of its own, checked by itself (an
            // offload frame carries a run of packets at one level; RawEthernetOffloadTest covers those).
            final TsharkCapture captureA = TsharkCapture.start(pair, pair.nsA(), pair.ifA(), pcapA, SNAP_LENGTH);
            final TsharkCapture captureB = TsharkCapture.start(pair, pair.nsB(), pair.ifB(), pcapB, SNAP_LENGTH);
            try (RawEthernetDriver driver = RawEthernetDriver.fromUri(
                    "raw://" + pair.ifA() + "?netns=" + pair.nsA() + "&pool=" + POOL_PACKETS + "&tso=false");
                EchoServerProcess server = EchoServerProcess.rpcs(pair,
                    "raw://" + pair.ifB() + "?pool=" + POOL_PACKETS + "&tso=false", PORT))
            {
                final long serverAddress = server.address();
                assertTrue(driver.awaitNeighbour(serverAddress, TimeUnit.SECONDS.toNanos(5)));
                try (HomaTransport transport = HomaTransport.launch(EchoServer.transportContext(driver)))
                {
                    final HomaSocket socket = transport.openSocket(0);
                    final UnsafeBuffer request = new UnsafeBuffer(new byte[1_000_000]);
                    @SuppressWarnings("unchecked")
                    final CompletableFuture<HomaMessage>[] calls = new CompletableFuture[WINDOW];
                    for (int first = 0; first < RPCS; first += WINDOW)
                    {
                        for (int slot = 0; slot < WINDOW && first + slot < RPCS; slot++)
                        {
                            final int size = Math.max(4, w4.sample(random.nextDouble()));
                            calls[slot] = socket.call(serverAddress, PORT, request, 0, size);
                        }
                        for (int slot = 0; slot < WINDOW && first + slot < RPCS; slot++)
                        {
                            calls[slot].get(60, TimeUnit.SECONDS).release();
                        }
                    }
                    assertEquals(RPCS, server.stop(), "requests the server answered");
                }
            }
            finally
            {
                try
                {
                    captureA.stop();
                }
                finally
                {
                    captureB.stop();
                }
            }

            // One time line from both files: both taps stamp frames on arrival from the same kernel clock, and a GRANT
            // is stamped at the message's sender before the DATA it allows can leave it, so it sorts ahead of them.
            final List<Frame> frames = new ArrayList<>();
            frames.addAll(readFrames(pcapA));
            frames.addAll(readFrames(pcapB));
            frames.sort((x, y) -> Double.compare(x.time, y.time));
            verify(frames);
        }
        finally
        {
            Files.deleteIfExists(pcapA);
            Files.deleteIfExists(pcapB);
        }
    }

    private static void verify(final List<Frame> frames)
    {
        final UnsafeBuffer homa = new UnsafeBuffer(new byte[SNAP_LENGTH]);
        final HomaHeaderFlyweight header = new HomaHeaderFlyweight();
        final DataHeaderFlyweight data = new DataHeaderFlyweight();
        final GrantFlyweight grant = new GrantFlyweight();
        final ResendFlyweight resend = new ResendFlyweight();
        final CutoffsFlyweight cutoffsFw = new CutoffsFlyweight();
        final Map<String, Cutoffs> cutoffsByHostVersion = new HashMap<>();
        final Map<String, List<long[]>> grantsByMessage = new HashMap<>();
        final Map<String, List<Integer>> resendsByMessage = new HashMap<>();
        final Map<String, int[]> unscheduledByMessage = new HashMap<>();
        int dataFrames = 0;
        int unscheduledChecked = 0;
        int scheduledChecked = 0;
        int retransmitsChecked = 0;
        final List<String> failures = new ArrayList<>();

        for (final Frame frame : frames)
        {
            assertEquals("0", frame.vlanId, () -> "VID of " + frame);
            assertEquals("1", frame.checksumStatus, () -> "IPv4 checksum status (1 = good) of " + frame);
            final int level = PriorityMapping.pcpToLevel(Integer.parseInt(frame.pcp));
            homa.setMemory(0, SNAP_LENGTH, (byte)0);
            homa.putBytes(0, frame.homa, 0, Math.min(SNAP_LENGTH, frame.homa.length));
            header.wrap(homa, 0);
            final int type = header.type();
            if (PacketType.CUTOFFS == type)
            {
                cutoffsFw.wrap(homa, 0);
                final int[] values = new int[PriorityMapping.LEVELS];
                for (int i = 0; i < values.length; i++)
                {
                    values[i] = cutoffsFw.cutoff(i);
                }
                cutoffsByHostVersion.put(frame.source + "/" + cutoffsFw.cutoffVersion(),
                    new Cutoffs().set(values, cutoffsFw.cutoffVersion()));
            }
            else if (PacketType.GRANT == type)
            {
                grant.wrap(homa, 0);
                // Key of the message granted: its sender is this grant's destination, with the other id parity.
                grantsByMessage.computeIfAbsent(frame.destination + "/" + (header.senderId() ^ 1),
                    (k) -> new ArrayList<>()).add(new long[]{ grant.offset(), grant.priority() });
            }
            else if (PacketType.RESEND == type)
            {
                resend.wrap(homa, 0);
                resendsByMessage.computeIfAbsent(frame.destination + "/" + (header.senderId() ^ 1),
                    (k) -> new ArrayList<>()).add(resend.priority());
            }
            else if (PacketType.DATA == type)
            {
                dataFrames++;
                data.wrap(homa, 0);
                final String key = frame.source + "/" + header.senderId();
                final int offset = data.segmentOffset();
                final int length = data.messageLength();
                if (data.retransmit())
                {
                    final List<Integer> resends = resendsByMessage.getOrDefault(key, List.of());
                    // A retransmission answers a RESEND (its priority), or is the sender's own timeout-driven resend
                    // of unscheduled or granted bytes at the priority those bytes had.
                    final int[] known = unscheduledByMessage.get(key);
                    final boolean fromResend = resends.contains(level);
                    final Cutoffs named = 0 == data.cutoffVersion() ? Cutoffs.unknownPeer() :
                        cutoffsByHostVersion.get(frame.destination + "/" + data.cutoffVersion());
                    final boolean asBefore = null != known && (offset < known[0] ?
                        level == known[1] || (null != named && level == named.unscheduledPriorityFor(length)) :
                        grantsByMessage.getOrDefault(key, List.of()).stream().anyMatch((g) -> g[1] == level));
                    if (!fromResend && !asBefore)
                    {
                        failures.add("retransmit " + key + "@" + offset + " at level " + level + ", RESENDs " +
                            resends);
                    }
                    retransmitsChecked++;
                    continue;
                }
                int[] unscheduled = unscheduledByMessage.get(key);
                if (0 == offset && null == unscheduled)
                {
                    final int version = data.cutoffVersion();
                    final Cutoffs cutoffs = 0 == version ? Cutoffs.unknownPeer() :
                        cutoffsByHostVersion.get(frame.destination + "/" + version);
                    final int expected = null == cutoffs ? -1 : cutoffs.unscheduledPriorityFor(length);
                    unscheduled = new int[]{ data.incoming(), expected };
                    unscheduledByMessage.put(key, unscheduled);
                }
                if (null == unscheduled)
                {
                    failures.add("DATA " + key + "@" + offset + " before the message's first packet");
                    continue;
                }
                if (offset < unscheduled[0])
                {
                    // Each packet against the cutoffs it names: the sender picks the level per packet, so a CUTOFFS
                    // arriving in the middle of a message's unscheduled bytes moves the rest to the new level under
                    // the new version.
                    final int version = data.cutoffVersion();
                    final Cutoffs cutoffs = 0 == version ? Cutoffs.unknownPeer() :
                        cutoffsByHostVersion.get(frame.destination + "/" + version);
                    if (null == cutoffs)
                    {
                        failures.add("DATA " + key + " names cutoff version " + version +
                            " that no CUTOFFS packet in the capture carries");
                    }
                    else if (level != cutoffs.unscheduledPriorityFor(length))
                    {
                        failures.add("unscheduled DATA " + key + "@" + offset + " of " + length + " at level " +
                            level + ", cutoffs version " + version + " say " + cutoffs.unscheduledPriorityFor(length));
                    }
                    unscheduledChecked++;
                }
                else
                {
                    final List<long[]> grants = grantsByMessage.getOrDefault(key, List.of());
                    boolean granted = false;
                    boolean priorityMatches = false;
                    for (final long[] g : grants)
                    {
                        granted |= g[0] > offset;
                        priorityMatches |= g[1] == level;
                    }
                    if (!granted || !priorityMatches)
                    {
                        failures.add("scheduled DATA " + key + "@" + offset + " at level " + level +
                            (granted ? "" : " without a covering GRANT") + ", GRANT priorities " +
                            grants.stream().map((g) -> g[1]).distinct().toList());
                    }
                    scheduledChecked++;
                }
            }
        }
        System.out.println("capture: " + frames.size() + " frames, " + dataFrames + " DATA: " + unscheduledChecked +
            " unscheduled at the cutoff level, " + scheduledChecked + " scheduled at a GRANT's priority, " +
            retransmitsChecked + " retransmissions; cutoff versions seen " + cutoffsByHostVersion.keySet());
        assertTrue(failures.isEmpty(), () -> failures.size() + " frames off: " +
            failures.subList(0, Math.min(20, failures.size())));
        assertTrue(unscheduledChecked > 0 && scheduledChecked > 0, "both kinds of DATA were checked");
    }

    private record Frame(double time, String source, String destination, String pcp, String vlanId,
        String checksumStatus, byte[] homa)
    {
        @Override
        public String toString()
        {
            return time + " " + source + " -> " + destination + " pcp " + pcp;
        }
    }

    private static List<Frame> readFrames(final Path pcap) throws Exception
    {
        final Process process = new ProcessBuilder("tshark", "-r", pcap.toString(), "-Y", "ip.proto == 146",
            "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=/t",
            "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst", "-e", "vlan.priority", "-e", "vlan.id",
            "-e", "ip.checksum.status", "-e", "data.data")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
        final List<Frame> frames = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while (null != (line = in.readLine()))
            {
                final String[] f = line.split("\t", -1);
                if (f.length < 7)
                {
                    continue;
                }
                frames.add(new Frame(Double.parseDouble(f[0]), f[1], f[2], f[3], f[4], f[5],
                    hex(f[6].replace(":", ""))));
            }
        }
        assertTrue(process.waitFor(120, TimeUnit.SECONDS));
        assertTrue(frames.size() > 0, "no frames in " + pcap);
        return frames;
    }

    private static byte[] hex(final String text)
    {
        final byte[] bytes = new byte[text.length() / 2];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)Integer.parseInt(text.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }
}
