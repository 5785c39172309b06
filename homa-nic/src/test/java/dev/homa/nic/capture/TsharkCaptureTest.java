package dev.homa.nic.capture;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.frame.HomaFrameWriter;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.frame.TcpHijack;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.netns.LuaDissector;
import dev.homa.nic.time.VirtualClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Reads captures back with tshark and the Lua dissector in {@code docs/wireshark/homa.lua}: the 802.1Q PCP, IPv4
 * protocol 146 with a good header checksum, and every Homa field equal to what was written. Skips, with the reason,
 * where tshark is not installed ({@code .ci/run} installs it).
 * <p>
 * As root, tshark warns "Running as user root" on stderr; that is harmless. Wireshark runs Lua as root when its
 * {@code init.lua} has {@code run_user_scripts_when_superuser = true} (the default); a site that disabled it makes
 * these tests fail with a message that says so, rather than pass without having dissected anything.
 */
@Timeout(180)
class TsharkCaptureTest
{
    private static final long TSHARK_TIMEOUT_SECONDS = 60;
    private static final String TSHARK = System.getProperty("homa.tshark", "tshark");
    private static final long LOCAL = HostAddress.parseIpv4("198.18.0.1");
    private static final long REMOTE = HostAddress.parseIpv4("198.18.0.2");
    private static final long EPOCH_BASE_NS = 1_700_000_000_000_000_000L;
    private static final int SRC_IP = HostAddress.ipv4Of(LOCAL);
    private static final int DST_IP = HostAddress.ipv4Of(REMOTE);
    private static final long SRC_MAC = EthernetFlyweight.syntheticMac(SRC_IP);
    private static final long DST_MAC = EthernetFlyweight.syntheticMac(DST_IP);

    /** Fields printed per frame, in this order. */
    private static final String[] FIELDS = {
        "frame.time_epoch", "eth.src", "eth.dst", "vlan.priority", "vlan.id", "ip.proto", "ip.checksum.status",
        "ip.src", "ip.dst", "ip.dsfield.dscp", "homa.sport", "homa.dport", "homa.type", "homa.type_name", "homa.doff",
        "homa.sender_id", "homa.data.message_length", "homa.data.incoming", "homa.data.ack.client_id",
        "homa.data.ack.server_port", "homa.data.cutoff_version", "homa.data.retransmit", "homa.data.offset",
        "homa.data.payload_length", "homa.grant.offset", "homa.grant.priority", "homa.resend.offset",
        "homa.resend.length", "homa.resend.priority", "homa.cutoffs.cutoff", "homa.cutoffs.version",
        "homa.ack.num_acks", "homa.ack.client_id", "homa.ack.server_port", "homa.data.seg_offset",
        "homa.checksum.status", "homa.data.gso_segment", "homa.flags.kernel", "_ws.expert.message",
    };

    /** Unscheduled cutoffs as the kernel's defaults (entry 0 is ignored and conventionally unlimited). */
    private static final int[] KERNEL_CUTOFFS =
        { 0x7FFF_FFFF, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 15_000, 2800, 200 };

    private static Path luaScript;

    private final HomaFrameWriter frameWriter = new HomaFrameWriter();
    private final UnsafeBuffer frame = new UnsafeBuffer(new byte[2048]);
    private final UnsafeBuffer homa = new UnsafeBuffer(frame, 38, frame.capacity() - 38);

    @TempDir
    Path dir;

    private static String tsharkVersion;

    @BeforeAll
    static void findTsharkAndDissector() throws Exception
    {
        luaScript = LuaDissector.locate();
        tsharkVersion = probeTshark();
        System.out.println(null == tsharkVersion ?
            "tshark: not found, dissector tests skip" : "tshark: " + tsharkVersion + ", dissector: " + luaScript);
    }

    @BeforeEach
    void requireTshark()
    {
        // Checked per test rather than in @BeforeAll so that each skipped test reports the reason.
        assumeTrue(null != tsharkVersion,
            "tshark is not installed (or not on PATH as '" + TSHARK + "'): " +
            "the Wireshark dissector tests are skipped. " +
            "Install it (Debian/Ubuntu: apt-get install tshark; .ci/run does) to run them.");
    }

    private static String probeTshark() throws InterruptedException
    {
        try
        {
            final Process process = new ProcessBuilder(TSHARK, "--version")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
            final byte[] output = process.getInputStream().readAllBytes();
            if (process.waitFor(TSHARK_TIMEOUT_SECONDS, TimeUnit.SECONDS) && 0 == process.exitValue())
            {
                return new String(output, StandardCharsets.UTF_8).lines().findFirst().orElse("?");
            }
            process.destroyForcibly();
            return null;
        }
        catch (final IOException ex)
        {
            return null;
        }
    }

    @Test
    void frameWriterCaptureShowsPcpProtocol146GoodChecksumAndTheDataAndGrantFields() throws Exception
    {
        final Path file = dir.resolve("data-grant.pcap");
        final long bigId = 0x0123_4567_89AB_CDEEL;

        try (PcapWriter writer = PcapWriter.create(file))
        {
            int length = HomaBytes.data(homa, 4000, 99, bigId, 1_000_000, 60_000, 42, 99, 3, false, 14_000, 1400);
            frameWriter.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, length, 5, 1);
            writer.writeFrame(EPOCH_BASE_NS + 1_000, frame, 0, 38 + length);

            length = HomaBytes.grant(homa, 99, 4000, bigId + 1, 30_000, 2);
            frameWriter.writeHeaders(frame, 0, SRC_MAC, DST_MAC, DST_IP, SRC_IP, length, 7, 2);
            writer.writeFrame(EPOCH_BASE_NS + 2_000, frame, 0, 38 + length);

            length = HomaBytes.data(homa, 4000, 99, 2, 5000, 5000, 0, 0, 0, true, 1400, 100);
            frameWriter.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, length, 0, 3);
            writer.writeFrame(EPOCH_BASE_NS + 3_000, frame, 0, 38 + length);

            length = HomaBytes.grant(homa, 99, 4000, 3, 1_000_000, 0);
            frameWriter.writeHeaders(frame, 0, SRC_MAC, DST_MAC, DST_IP, SRC_IP, length, 1, 4);
            writer.writeFrame(EPOCH_BASE_NS + 4_000, frame, 0, 38 + length);
        }

        final List<Map<String, String>> rows = tshark(file);
        assertEquals(4, rows.size());

        final Map<String, String> data = rows.get(0);
        assertFraming(data, 5, "198.18.0.1", "198.18.0.2");
        assertEquals("02:00:c6:12:00:01", data.get("eth.src"));
        assertEquals("02:00:c6:12:00:02", data.get("eth.dst"));
        assertEquals("0", data.get("vlan.id"));
        assertEquals(String.valueOf(PriorityMapping.levelToDscp(5)), data.get("ip.dsfield.dscp"));
        assertTime(EPOCH_BASE_NS + 1_000, data);
        assertType(0x10, "DATA", data);
        assertEquals("14", data.get("homa.doff"));
        assertEquals("4000", data.get("homa.sport"));
        assertEquals("99", data.get("homa.dport"));
        assertEquals(Long.toUnsignedString(bigId), data.get("homa.sender_id"));
        assertEquals("1000000", data.get("homa.data.message_length"));
        assertEquals("60000", data.get("homa.data.incoming"));
        assertEquals("42", data.get("homa.data.ack.client_id"));
        assertEquals("99", data.get("homa.data.ack.server_port"));
        assertEquals("3", data.get("homa.data.cutoff_version"));
        assertEquals("0", data.get("homa.data.retransmit"));
        assertEquals("14000", data.get("homa.data.offset"));
        assertEquals("1400", data.get("homa.data.payload_length"));

        final Map<String, String> grant = rows.get(1);
        assertFraming(grant, 7, "198.18.0.2", "198.18.0.1");
        assertTime(EPOCH_BASE_NS + 2_000, grant);
        assertType(0x11, "GRANT", grant);
        assertEquals("5", grant.get("homa.doff"));
        assertEquals("99", grant.get("homa.sport"));
        assertEquals("4000", grant.get("homa.dport"));
        assertEquals(Long.toUnsignedString(bigId + 1), grant.get("homa.sender_id"));
        assertEquals("30000", grant.get("homa.grant.offset"));
        assertEquals("2", grant.get("homa.grant.priority"));
        assertEquals("", grant.get("homa.data.offset"), "a GRANT has no DATA fields");

        final Map<String, String> retransmit = rows.get(2);
        assertFraming(retransmit, 0, "198.18.0.1", "198.18.0.2");
        assertType(0x10, "DATA", retransmit);
        assertEquals("1", retransmit.get("homa.data.retransmit"));
        assertEquals("1400", retransmit.get("homa.data.offset"));
        assertEquals("100", retransmit.get("homa.data.payload_length"));

        final Map<String, String> lowGrant = rows.get(3);
        assertFraming(lowGrant, 1, "198.18.0.2", "198.18.0.1");
        assertType(0x11, "GRANT", lowGrant);
        assertEquals("1000000", lowGrant.get("homa.grant.offset"));
        assertEquals("0", lowGrant.get("homa.grant.priority"));
    }

    @Test
    void kernelDataSegmentsDissectAsTheKernelWritesThem() throws Exception
    {
        final Path file = dir.resolve("kernel-data.pcap");
        try (PcapWriter writer = PcapWriter.create(file))
        {
            // A single-segment packet as homa_tx_data_pkt_alloc writes it: the offset in sequence, seg.offset -1,
            // flags 6, urgent 0xb97d and the TCP-style checksum its NIC completes.
            int length = HomaBytes.data(homa, 32768, 99, 2, 100_000, 40_000, 0, 0, 1, false, 14_000, 1400);
            kernelMarks(homa, length, SRC_IP, DST_IP);
            homa.putInt(52, -1, BIG_ENDIAN);
            HomaChecksum.write(homa, 0, length, SRC_IP, DST_IP);
            frameWriter.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, length, 4, 1);
            writer.writeFrame(EPOCH_BASE_NS + 1_000, frame, 0, 38 + length);

            // The second segment of a GSO batch on the wire: doff 13, sequence as in the first, seg.offset its own.
            length = HomaBytes.data(homa, 32768, 99, 2, 100_000, 40_000, 0, 0, 1, false, 15_400, 1400);
            kernelMarks(homa, length, SRC_IP, DST_IP);
            homa.putByte(12, (byte)(13 << 4));
            homa.putInt(4, 14_000, BIG_ENDIAN);
            HomaChecksum.write(homa, 0, length, SRC_IP, DST_IP);
            frameWriter.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, length, 4, 2);
            writer.writeFrame(EPOCH_BASE_NS + 2_000, frame, 0, 38 + length);

            // A checksum that is not the kernel's.
            length = HomaBytes.grant(homa, 99, 32768, 3, 60_000, 2);
            kernelMarks(homa, length, DST_IP, SRC_IP);
            homa.putShort(16, (short)0x1234, BIG_ENDIAN);
            frameWriter.writeHeaders(frame, 0, SRC_MAC, DST_MAC, DST_IP, SRC_IP, length, 7, 3);
            writer.writeFrame(EPOCH_BASE_NS + 3_000, frame, 0, 38 + length);
        }

        final List<Map<String, String>> rows = tshark(file);
        assertEquals(3, rows.size());
        final Map<String, String> single = rows.get(0);
        assertEquals("14000", single.get("homa.data.offset"), "the offset read from sequence");
        assertEquals("-1", single.get("homa.data.seg_offset"));
        assertEquals("14", single.get("homa.doff"));
        assertEquals("good", single.get("homa.checksum.status"));
        assertEquals("1", single.get("homa.flags.kernel"));
        assertEquals("", single.get("_ws.expert.message"), "nothing to flag");

        final Map<String, String> segment = rows.get(1);
        assertEquals("15400", segment.get("homa.data.offset"));
        assertEquals("13", segment.get("homa.doff"));
        assertEquals("1", segment.get("homa.data.gso_segment"));
        assertEquals("good", segment.get("homa.checksum.status"));
        assertEquals("", segment.get("_ws.expert.message"), "a GSO segment is not malformed");

        final Map<String, String> badChecksum = rows.get(2);
        assertEquals("bad", badChecksum.get("homa.checksum.status"));
        assertTrue(badChecksum.get("_ws.expert.message").contains("Checksum"), badChecksum.toString());
    }

    @Test
    void tcpHijackedByHomaDissectsAsHomaAndRealTcpStaysTcp() throws Exception
    {
        final Path file = dir.resolve("hijacked.pcap");
        try (PcapWriter writer = PcapWriter.create(file))
        {
            // Two wire packets a device cut from one offload frame: protocol 6, the whole DATA header in each, the
            // offset in sequence, seg.offset -1, each packet's own checksum.
            for (int i = 0; i < 2; i++)
            {
                final int length = HomaBytes.data(homa, 32768, 99, 2, 100_000, 40_000, 0, 0, 1, false, i * 1400, 1400);
                homa.putInt(52, -1, BIG_ENDIAN);
                kernelMarks(homa, length, SRC_IP, DST_IP);
                frameWriter.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, length, 4, 1 + i,
                    TcpHijack.IPPROTO_TCP);
                writer.writeFrame(EPOCH_BASE_NS + 1_000 * (1 + i), frame, 0, 38 + length);
            }
            // Real TCP between the same hosts: ACK|PSH, no urgent pointer.
            homa.setMemory(0, 30, (byte)0);
            homa.putShort(0, (short)443, BIG_ENDIAN);
            homa.putShort(2, (short)50_000, BIG_ENDIAN);
            homa.putByte(12, (byte)(5 << 4));
            homa.putByte(13, (byte)0x18);
            homa.putShort(14, (short)512, BIG_ENDIAN);
            frameWriter.writeHeaders(frame, 0, DST_MAC, SRC_MAC, SRC_IP, DST_IP, 30, 0, 3, TcpHijack.IPPROTO_TCP);
            writer.writeFrame(EPOCH_BASE_NS + 3_000, frame, 0, 38 + 30);
        }

        final List<String> homaFrames =
            tsharkFields(file, "homa", "homa.data.offset", "ip.proto", "homa.checksum.status");
        assertEquals(List.of("0\t6\tgood", "1400\t6\tgood"), homaFrames, "the hijacked packets, as Homa");
        assertEquals(List.of("443\t50000"), tsharkFields(file, "tcp && !homa", "tcp.srcport", "tcp.dstport"),
            "the real TCP packet, as TCP");
    }

    /** The marks a current kernel puts on every packet (homa_hijack_set_hdr). */
    private static void kernelMarks(final UnsafeBuffer homa, final int length, final int srcIp, final int dstIp)
    {
        homa.putByte(13, (byte)6);
        homa.putShort(18, (short)0xb97d, BIG_ENDIAN);
        HomaChecksum.write(homa, 0, length, srcIp, dstIp);
    }

    @Test
    void capturingDriverRecordsEveryPacketTypeAsTsharkSeesIt() throws Exception
    {
        final Path file = dir.resolve("driver.pcap");
        final VirtualClock clock = new VirtualClock();
        final FakeNicDriver fake = new FakeNicDriver(LOCAL);
        try (CapturingDriver driver = new CapturingDriver(fake, PcapWriter.create(file), clock, EPOCH_BASE_NS))
        {
            final Packet packet = driver.acquire();

            clock.advanceTo(1_000);
            packet.length(HomaBytes.data(packet.buffer(), 4000, 99, 100, 2800, 2800, 0, 0, 1, false, 0, 1400));
            driver.send(packet, HostAddress.withPort(REMOTE, 4000), 4);
            clock.advanceTo(2_000);
            packet.length(HomaBytes.grant(packet.buffer(), 4000, 99, 101, 10_000, 3));
            driver.send(packet, REMOTE, 7);
            clock.advanceTo(3_000);
            packet.length(HomaBytes.common(packet.buffer(), HomaBytes.BUSY, 4000, 99, 100));
            driver.send(packet, REMOTE, 7);
            clock.advanceTo(4_000);
            packet.length(HomaBytes.ack(packet.buffer(), 4000, 99, 100, new long[]{ 96, 98 }, new int[]{ 99, 98 }));
            driver.send(packet, REMOTE, 6);
            clock.advanceTo(5_000);
            packet.length(HomaBytes.common(packet.buffer(), HomaBytes.FREEZE, 4000, 99, 100));
            driver.send(packet, REMOTE, 7);
            driver.flush();

            deliver(fake, 7, (b) -> HomaBytes.resend(b, 99, 4000, 101, 1400, -1, 7));
            deliver(fake, 7, (b) -> HomaBytes.cutoffs(
                b, 99, 4000, 101, KERNEL_CUTOFFS, 9));
            deliver(fake, -1, (b) -> HomaBytes.common(b, HomaBytes.NEED_ACK, 99, 4000, 101));
            deliver(fake, 2, (b) -> HomaBytes.common(b, HomaBytes.RPC_UNKNOWN, 99, 4000, 101));
            clock.advanceTo(6_000);
            assertEquals(4, driver.poll(driver::release, 10));
        }

        final List<Map<String, String>> rows = tshark(file);
        assertEquals(9, rows.size());

        final Map<String, String> data = rows.get(0);
        assertFraming(data, 4, "198.18.0.1", "198.18.0.2");
        assertTime(EPOCH_BASE_NS + 1_000, data);
        assertType(0x10, "DATA", data);
        assertEquals("100", data.get("homa.sender_id"));
        assertEquals("2800", data.get("homa.data.message_length"));
        assertEquals("0", data.get("homa.data.offset"));
        assertEquals("1400", data.get("homa.data.payload_length"));

        final Map<String, String> grant = rows.get(1);
        assertFraming(grant, 7, "198.18.0.1", "198.18.0.2");
        assertTime(EPOCH_BASE_NS + 2_000, grant);
        assertType(0x11, "GRANT", grant);
        assertEquals("10000", grant.get("homa.grant.offset"));
        assertEquals("3", grant.get("homa.grant.priority"));

        assertType(0x14, "BUSY", rows.get(2));
        assertFraming(rows.get(2), 7, "198.18.0.1", "198.18.0.2");

        final Map<String, String> ack = rows.get(3);
        assertFraming(ack, 6, "198.18.0.1", "198.18.0.2");
        assertType(0x18, "ACK", ack);
        assertEquals("2", ack.get("homa.ack.num_acks"));
        assertEquals("96;98", ack.get("homa.ack.client_id"));
        assertEquals("99;98", ack.get("homa.ack.server_port"));

        assertType(0x16, "FREEZE", rows.get(4));

        final Map<String, String> resend = rows.get(5);
        assertFraming(resend, 7, "198.18.0.2", "198.18.0.1");
        assertTime(EPOCH_BASE_NS + 6_000, resend);
        assertType(0x12, "RESEND", resend);
        assertEquals("1400", resend.get("homa.resend.offset"));
        assertEquals("-1", resend.get("homa.resend.length"));
        assertEquals("7", resend.get("homa.resend.priority"));

        final Map<String, String> cutoffs = rows.get(6);
        assertType(0x15, "CUTOFFS", cutoffs);
        assertEquals("2147483647;1000000;1000000;1000000;1000000;15000;2800;200", cutoffs.get("homa.cutoffs.cutoff"));
        assertEquals("9", cutoffs.get("homa.cutoffs.version"));

        final Map<String, String> needAck = rows.get(7);
        assertType(0x17, "NEED_ACK", needAck);
        assertEquals("", needAck.get("vlan.priority"), "unknown receive priority: recorded untagged");
        assertEquals("146", needAck.get("ip.proto"));
        assertGoodChecksum(needAck);

        final Map<String, String> unknown = rows.get(8);
        assertType(0x13, "RPC_UNKNOWN", unknown);
        assertFraming(unknown, 2, "198.18.0.2", "198.18.0.1");
    }

    @Test
    void fabricCaptureOnBothHostsShowsEachPacketSentAndReceived() throws Exception
    {
        final Path file = dir.resolve("fabric.pcap");
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).packetPoolSize(8).build();
        final VirtualClock clock = fabric.clock();
        // One file for both hosts: single-threaded virtual time keeps the records in time order.
        final PcapWriter writer = PcapWriter.create(file);
        final CapturingDriver a = new CapturingDriver(fabric.driverAt(0), writer, clock, EPOCH_BASE_NS);
        final CapturingDriver b = new CapturingDriver(fabric.driverAt(1), writer, clock, EPOCH_BASE_NS);
        final long[] arrivalNs = new long[2];
        try (a; b)
        {
            final Packet data = a.acquire();
            data.length(HomaBytes.data(data.buffer(), 4000, 99, 200, 1382, 1382, 0, 0, 1, false, 0, 1382));
            a.send(data, b.localAddress(), 2);
            a.flush();
            a.release(data);

            while (0 == b.poll((packet) -> receive(b, packet, arrivalNs, 0, clock), 1))
            {
                assertTrue(fabric.scheduler().runNext(), "the DATA packet must arrive");
            }
            while (0 == a.poll((packet) -> receive(a, packet, arrivalNs, 1, clock), 1))
            {
                assertTrue(fabric.scheduler().runNext(), "the GRANT must arrive");
            }
        }

        final List<Map<String, String>> rows = tshark(file);
        assertEquals(4, rows.size());
        final String[] types = { "DATA", "DATA", "GRANT", "GRANT" };
        final int[] levels = { 2, 2, 7, 7 };
        final long[] times = { 0, arrivalNs[0], arrivalNs[0], arrivalNs[1] };
        for (int i = 0; i < 4; i++)
        {
            final Map<String, String> row = rows.get(i);
            final boolean fromA = i < 2;
            assertFraming(row, levels[i], fromA ? "198.18.0.1" : "198.18.0.2", fromA ? "198.18.0.2" : "198.18.0.1");
            assertType("DATA".equals(types[i]) ? 0x10 : 0x11, types[i], row);
            assertTime(EPOCH_BASE_NS + times[i], row);
        }
        assertTrue(arrivalNs[0] > 0 && arrivalNs[1] > arrivalNs[0], "virtual time moved on");
        assertEquals("1382", rows.get(1).get("homa.data.payload_length"));
        assertEquals("200", rows.get(1).get("homa.sender_id"));
        assertEquals("1382", rows.get(3).get("homa.grant.offset"));
        assertEquals("7", rows.get(3).get("homa.grant.priority"));
    }

    private static void receive(
        final CapturingDriver driver, final Packet packet, final long[] arrivalNs, final int index,
        final VirtualClock clock)
    {
        arrivalNs[index] = clock.nanoTime();
        final boolean isData = HomaBytes.DATA == packet.buffer().getByte(11);
        final long source = packet.source();
        driver.release(packet);
        if (isData)
        {
            // Answer the DATA with a GRANT at the highest level, as a receiver would.
            final Packet grant = driver.acquire();
            grant.length(HomaBytes.grant(grant.buffer(), 99, 4000, 201, 1382, 7));
            driver.send(grant, source, 7);
            driver.flush();
            driver.release(grant);
        }
    }

    private static void deliver(
        final FakeNicDriver fake, final int priority, final java.util.function.ToIntFunction<UnsafeBuffer> writer)
    {
        final Packet packet = fake.acquire();
        packet.length(writer.applyAsInt((UnsafeBuffer)packet.buffer()));
        packet.source(REMOTE).priority(priority);
        fake.deliver(packet);
    }

    private static void assertFraming(
        final Map<String, String> row, final int level, final String source, final String destination)
    {
        assertEquals(String.valueOf(PriorityMapping.levelToPcp(level)), row.get("vlan.priority"),
            "802.1Q PCP of level " + level);
        assertEquals("146", row.get("ip.proto"));
        assertGoodChecksum(row);
        assertEquals(source, row.get("ip.src"));
        assertEquals(destination, row.get("ip.dst"));
    }

    private static void assertGoodChecksum(final Map<String, String> row)
    {
        // PROTO_CHECKSUM_E_GOOD is 1; versions that print value strings print "Good".
        final String status = row.get("ip.checksum.status");
        assertTrue("1".equals(status) || "Good".equalsIgnoreCase(status), "IPv4 checksum status " + status);
    }

    private static void assertType(final int type, final String name, final Map<String, String> row)
    {
        assertEquals(type, Integer.decode(row.get("homa.type")), "homa.type");
        assertEquals(name, row.get("homa.type_name"));
    }

    private static void assertTime(final long expectedNs, final Map<String, String> row)
    {
        final BigDecimal expected = BigDecimal.valueOf(expectedNs, 9);
        final BigDecimal actual = new BigDecimal(row.get("frame.time_epoch"));
        assertEquals(0, expected.compareTo(actual), "frame time " + actual + ", expected " + expected);
    }

    /** The fields of the frames a display filter keeps, tab-separated, one line per frame. */
    private List<String> tsharkFields(final Path pcap, final String filter, final String... fields) throws Exception
    {
        final List<String> command = new ArrayList<>(List.of(TSHARK, "-n", "-r", pcap.toString(),
            "-X", "lua_script:" + luaScript, "-Y", filter, "-T", "fields", "-E", "separator=/t"));
        for (final String field : fields)
        {
            command.add("-e");
            command.add(field);
        }
        final Path stdout = dir.resolve("tshark-fields.out");
        final ProcessBuilder builder = new ProcessBuilder(command)
            .redirectOutput(stdout.toFile())
            .redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("WIRESHARK_CONFIG_DIR", Files.createDirectories(dir.resolve("wireshark-config"))
            .toString());
        final Process process = builder.start();
        if (!process.waitFor(TSHARK_TIMEOUT_SECONDS, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            fail("tshark did not finish within " + TSHARK_TIMEOUT_SECONDS + " s: " + command);
        }
        assertEquals(0, process.exitValue(), () -> "tshark failed: " + command);
        return Files.readAllLines(stdout);
    }

    private List<Map<String, String>> tshark(final Path pcap) throws Exception
    {
        final List<String> command = new ArrayList<>(List.of(
            TSHARK, "-n", "-r", pcap.toString(),
            "-X", "lua_script:" + luaScript,
            "-o", "ip.check_checksum:TRUE",
            "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;"));
        for (final String field : FIELDS)
        {
            command.add("-e");
            command.add(field);
        }

        final Path configDir = Files.createDirectories(dir.resolve("wireshark-config"));
        final Path stdout = dir.resolve("tshark.out");
        final Path stderr = dir.resolve("tshark.err");
        final ProcessBuilder builder = new ProcessBuilder(command)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile());
        // A private, empty configuration directory: the user's preferences and plugins must not change the result.
        builder.environment().put("WIRESHARK_CONFIG_DIR", configDir.toString());
        final Process process = builder.start();
        if (!process.waitFor(TSHARK_TIMEOUT_SECONDS, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            fail("tshark did not finish within " + TSHARK_TIMEOUT_SECONDS + " s: " + command);
        }
        final String errors = Files.readString(stderr);
        if (0 != process.exitValue())
        {
            fail("tshark exited with " + process.exitValue() + ": " + errors + "\ncommand: " + command);
        }
        assertFalse(errors.contains("Lua: Error") || errors.contains("lua_script"),
            "the dissector must load without Lua errors: " + errors);

        final List<Map<String, String>> rows = new ArrayList<>();
        System.out.println("tshark " + pcap.getFileName() + ": " + String.join("\t", FIELDS));
        for (final String line : Files.readAllLines(stdout))
        {
            System.out.println("  " + line);
            final String[] values = line.split("\t", -1);
            assertEquals(FIELDS.length, values.length, "columns in: " + line);
            final Map<String, String> row = new HashMap<>();
            for (int i = 0; i < FIELDS.length; i++)
            {
                row.put(FIELDS[i], values[i]);
            }
            assertFalse(row.get("homa.type").isEmpty(), "the Homa dissector did not run on: " + line +
                " (is Lua disabled for this user? stderr: " + errors + ")");
            rows.add(row);
        }
        return rows;
    }
}
