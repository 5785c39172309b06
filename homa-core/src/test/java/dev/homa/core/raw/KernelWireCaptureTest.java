package dev.homa.core.raw;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.nic.netns.ChecksumOffload;
import dev.homa.nic.netns.LuaDissector;
import dev.homa.nic.netns.TsharkCapture;
import dev.homa.nic.raw.RawEthernetDriver;
import dev.homa.test.NetnsPair;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A capture of a project-to-project exchange over raw Ethernet, read with tshark and
 * {@code docs/wireshark/homa.lua}, shows every DATA field as a current kernel sets it: doff 14, flags 6, window 0,
 * urgent 0xb97d, the TCP-style checksum good, the unused TCP ack bytes and the pad zero, a first transmission's
 * offset in sequence with seg.offset -1, incoming the message's unscheduled bytes in every packet, retransmit 0, an
 * ack of a completed RPC or none, and the cutoff_version of a CUTOFFS the receiver had sent (0 before any). Both
 * transports run in this JVM (INVOKER mode), one per namespace; each side's tshark records what it receives.
 */
class KernelWireCaptureTest
{
    private static final int PORT = 4000;
    private static final int[] SIZES = { 100, 1_400, 5_000, 60_000, 300_000 };
    private static final String[] FIELDS = {
        "ip.src", "homa.type", "homa.sender_id", "homa.doff", "homa.flags", "homa.window", "homa.urgent",
        "homa.checksum.status", "homa.unused1", "homa.sequence", "homa.data.message_length", "homa.data.incoming",
        "homa.data.ack.client_id", "homa.data.ack.server_port", "homa.data.cutoff_version", "homa.data.retransmit",
        "homa.data.pad", "homa.data.seg_offset", "homa.data.offset", "homa.cutoffs.version", "_ws.expert.message",
    };

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyDataFieldIsAsTheKernelSetsIt() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tshark")), "tshark is not installed");
        final Path pcapA = Files.createTempFile("hraw-wire-a", ".pcapng");
        final Path pcapB = Files.createTempFile("hraw-wire-b", ".pcapng");
        final Map<String, Integer> unscheduledByHost = new HashMap<>();
        final Set<String> clientIds = new HashSet<>();
        try (NetnsPair pair = NetnsPair.create("hrawwire", 12))
        {
            // The drivers leave a partial checksum, as the kernel's Homa does; with transmit offload off the stack
            // completes it from the driver's seed before the frame reaches the veth, as a NIC would on the wire.
            ChecksumOffload.transmit(pair, pair.nsA(), pair.ifA(), false);
            ChecksumOffload.transmit(pair, pair.nsB(), pair.ifB(), false);
            final TsharkCapture captureA = TsharkCapture.start(pair, pair.nsA(), pair.ifA(), pcapA, 0);
            final TsharkCapture captureB = TsharkCapture.start(pair, pair.nsB(), pair.ifB(), pcapB, 0);
            try (HomaTransport client = HomaTransport.launch(context(pair.ifA(), pair.nsA()));
                HomaTransport server = HomaTransport.launch(context(pair.ifB(), pair.nsB())))
            {
                unscheduledByHost.put(pair.ipA(), client.context().unscheduledBytes());
                unscheduledByHost.put(pair.ipB(), server.context().unscheduledBytes());
                final HomaSocket serverSocket = server.openSocket(PORT);
                final HomaSocket socket = client.openSocket(0);
                final long serverAddress = server.context().driver().localAddress();
                final UnsafeBuffer request = new UnsafeBuffer(new byte[SIZES[SIZES.length - 1]]);
                final UnsafeBuffer scratch = new UnsafeBuffer(new byte[SIZES[SIZES.length - 1]]);
                for (int round = 0; round < 2; round++)
                {
                    for (final int size : SIZES)
                    {
                        clientIds.add(Long.toUnsignedString(socket.homaSend(serverAddress, PORT, request, 0, size, 0)));
                        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                        HomaMessage response = null;
                        while (null == response)
                        {
                            assertTrue(System.nanoTime() - deadline < 0, "RPC of " + size + " bytes did not finish");
                            client.doWork();
                            server.doWork();
                            final HomaMessage req = serverSocket.homaRecv(HomaSocket.RECV_REQUEST);
                            if (null != req)
                            {
                                req.getBytes(0, scratch, 0, req.length());
                                serverSocket.homaReply(req, scratch, 0, req.length());
                                req.release();
                            }
                            response = socket.homaRecv(HomaSocket.RECV_RESPONSE);
                        }
                        assertEquals(size, response.length());
                        response.release();
                    }
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
            final List<Map<String, String>> rows = new ArrayList<>();
            rows.addAll(read(pcapA));
            rows.addAll(read(pcapB));
            verify(rows, unscheduledByHost, clientIds);
        }
        finally
        {
            Files.deleteIfExists(pcapA);
            Files.deleteIfExists(pcapB);
        }
    }

    private static void verify(
        final List<Map<String, String>> rows, final Map<String, Integer> unscheduledByHost, final Set<String> clientIds)
    {
        final Set<String> cutoffVersionsFrom = new HashSet<>();
        for (final Map<String, String> row : rows)
        {
            if ("0x15".equals(row.get("homa.type")))
            {
                cutoffVersionsFrom.add(row.get("ip.src") + "/" + row.get("homa.cutoffs.version"));
            }
        }
        final List<String> failures = new ArrayList<>();
        int data = 0;
        int withAck = 0;
        int withVersion = 0;
        for (final Map<String, String> row : rows)
        {
            assertEquals("", row.get("_ws.expert.message"), "the dissector flags nothing: " + row);
            if (!"0x10".equals(row.get("homa.type")))
            {
                continue;
            }
            data++;
            final String src = row.get("ip.src");
            final int length = Integer.parseInt(row.get("homa.data.message_length"));
            check(failures, row, "homa.doff", "14");
            check(failures, row, "homa.flags", "0x06");
            check(failures, row, "homa.window", "0x0000");
            check(failures, row, "homa.urgent", "0xb97d");
            check(failures, row, "homa.checksum.status", "good");
            check(failures, row, "homa.unused1", "000000");
            check(failures, row, "homa.data.pad", "000000");
            check(failures, row, "homa.data.retransmit", "0");
            check(failures, row, "homa.data.seg_offset", "-1");
            check(failures, row, "homa.data.offset", row.get("homa.sequence"));
            check(failures, row, "homa.data.incoming",
                String.valueOf(Math.min(length, unscheduledByHost.get(src))));
            final String ack = row.get("homa.data.ack.client_id");
            if (!"0".equals(ack))
            {
                withAck++;
                if (!clientIds.contains(ack) || !String.valueOf(PORT).equals(row.get("homa.data.ack.server_port")))
                {
                    failures.add("ack of an unknown RPC: " + row);
                }
            }
            final String version = row.get("homa.data.cutoff_version");
            if (!"0".equals(version))
            {
                withVersion++;
                final String receiver = other(unscheduledByHost, src);
                if (!cutoffVersionsFrom.contains(receiver + "/" + version))
                {
                    failures.add("cutoff_version " + version + " never sent by " + receiver + ": " + row);
                }
            }
        }
        System.out.println("capture: " + rows.size() + " frames, " + data + " DATA (" + withAck + " with an ack, " +
            withVersion + " with a cutoff version); CUTOFFS " + cutoffVersionsFrom);
        assertTrue(failures.isEmpty(), () -> failures.size() + " fields off: " +
            failures.subList(0, Math.min(10, failures.size())));
        assertTrue(data > 400, "both directions of every RPC captured: " + data + " DATA frames");
        assertTrue(withAck > 0 && withVersion > 0, "acks and cutoff versions seen");
    }

    private static String other(final Map<String, Integer> hosts, final String host)
    {
        for (final String candidate : hosts.keySet())
        {
            if (!candidate.equals(host))
            {
                return candidate;
            }
        }
        throw new IllegalStateException("one host only");
    }

    private static void check(
        final List<String> failures, final Map<String, String> row, final String field, final String expected)
    {
        if (!expected.equals(row.get(field)))
        {
            failures.add(field + " = " + row.get(field) + ", expected " + expected + " in " + row);
        }
    }

    private static HomaTransport.Context context(final String ifName, final String ns)
    {
        return new HomaTransport.Context()
            .driver(RawEthernetDriver.fromUri("raw://" + ifName + "?netns=" + ns + "&pool=1024"))
            .ownsDriver(true)
            .threadingMode(ThreadingMode.INVOKER)
            .receivePoolBytes(16L << 20)
            .sendPoolBytes(16L << 20);
    }

    private static List<Map<String, String>> read(final Path pcap) throws Exception
    {
        final List<String> command = new ArrayList<>(List.of("tshark", "-n", "-r", pcap.toString(),
            "-X", "lua_script:" + LuaDissector.locate(), "-Y", "homa", "-T", "fields", "-E", "separator=/t",
            "-E", "occurrence=f"));
        for (final String field : FIELDS)
        {
            command.add("-e");
            command.add(field);
        }
        final Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final List<Map<String, String>> rows = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
        {
            String line;
            while (null != (line = in.readLine()))
            {
                final String[] values = line.split("\t", -1);
                assertEquals(FIELDS.length, values.length, line);
                final Map<String, String> row = new HashMap<>();
                for (int i = 0; i < FIELDS.length; i++)
                {
                    row.put(FIELDS[i], values[i]);
                }
                assertNotNull(row.get("homa.type"), "the dissector ran: " + line);
                rows.add(row);
            }
        }
        if (!process.waitFor(120, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            fail("tshark did not finish reading " + pcap);
        }
        return rows;
    }
}
