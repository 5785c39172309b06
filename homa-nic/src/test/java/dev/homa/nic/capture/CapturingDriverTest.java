package dev.homa.nic.capture;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.frame.AllocationMeter;
import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.frame.FrameRejectReason;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.frame.HomaFrameReader;
import dev.homa.nic.frame.MacResolver;
import dev.homa.nic.time.VirtualClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class CapturingDriverTest
{
    private static final long LOCAL = HostAddress.parseIpv4("198.18.0.1");
    private static final long REMOTE = HostAddress.parseIpv4("198.18.0.2:4000");
    private static final long EPOCH_BASE_NS = 1_700_000_000_000_000_000L;

    @TempDir
    Path dir;

    private final VirtualClock clock = new VirtualClock(1_000);
    private final FakeNicDriver fake = new FakeNicDriver(LOCAL);
    private final HomaFrameReader reader = new HomaFrameReader();

    @Test
    void sentPacketIsRecordedAsATaggedIpv4HomaFrame() throws Exception
    {
        final Path file = dir.resolve("send.pcap");
        final byte[] homa;
        try (CapturingDriver driver = new CapturingDriver(fake, PcapWriter.create(file), clock, EPOCH_BASE_NS))
        {
            final Packet packet = driver.acquire();
            packet.length(HomaBytes.grant(packet.buffer(), 4000, 99, 1235, 30_000, 2));
            homa = bytesOf(packet);

            clock.advanceTo(2_500);
            assertTrue(driver.send(packet, REMOTE, 7));
            assertEquals(1, fake.sent.size(), "the wrapped driver sends");
            assertSame(packet, fake.sent.get(0).packet());
            assertEquals(REMOTE, fake.sent.get(0).destination());
            assertEquals(7, fake.sent.get(0).priority());
            driver.flush();
            assertEquals(1, fake.flushes);
        }

        final PcapFile pcap = PcapFile.read(file);
        assertEquals(1, pcap.records.size());
        final PcapFile.Record record = pcap.records.get(0);
        assertEquals(EPOCH_BASE_NS + 2_500, record.timestampNs());
        assertEquals(38 + 33, record.data().length);
        assertEquals(FrameRejectReason.NONE, reader.read(new UnsafeBuffer(record.data()), 0, record.data().length));
        assertTrue(reader.tagged());
        assertEquals(7, reader.pcp());
        assertEquals(7, reader.priority());
        assertEquals(HostAddress.ipv4Of(LOCAL), reader.sourceIpv4());
        assertEquals(HostAddress.ipv4Of(REMOTE), reader.destinationIpv4());
        assertEquals(EthernetFlyweight.parseMac("02:00:c6:12:00:01"), reader.sourceMac());
        assertEquals(EthernetFlyweight.parseMac("02:00:c6:12:00:02"), reader.destinationMac());
        // The packet's bytes, with the checksum a NIC would complete on the wire.
        final byte[] recorded = Arrays.copyOfRange(record.data(), 38, 38 + 33);
        assertTrue(HomaChecksum.isValid(new UnsafeBuffer(recorded), 0, recorded.length, HostAddress.ipv4Of(LOCAL),
            HostAddress.ipv4Of(REMOTE)), "the record carries the completed checksum");
        HomaChecksum.write(new UnsafeBuffer(homa), 0, homa.length, HostAddress.ipv4Of(LOCAL),
            HostAddress.ipv4Of(REMOTE));
        assertArrayEquals(homa, recorded);
    }

    @Test
    void refusedSendIsNotRecorded() throws Exception
    {
        final Path file = dir.resolve("refused.pcap");
        try (CapturingDriver driver = new CapturingDriver(fake, PcapWriter.create(file), clock, 0))
        {
            final Packet packet = driver.acquire();
            packet.length(HomaBytes.common(packet.buffer(), HomaBytes.BUSY, 1, 2, 3));
            fake.refuseSends = true;
            assertFalse(driver.send(packet, REMOTE, 7));
            assertEquals(0, driver.writer().recordCount());
        }
        assertEquals(0, PcapFile.read(file).records.size());
    }

    @Test
    void receivedPacketIsRecordedBeforeTheSinkSeesIt() throws Exception
    {
        final Path file = dir.resolve("receive.pcap");
        final List<Long> recordsSeenBySink = new ArrayList<>();
        final List<Packet> delivered = new ArrayList<>();
        try (CapturingDriver driver = new CapturingDriver(fake, PcapWriter.create(file), clock, EPOCH_BASE_NS))
        {
            final Packet tagged = fake.acquire();
            tagged.length(HomaBytes.resend(tagged.buffer(), 99, 4000, 1234, 100, -1, 7));
            tagged.source(REMOTE).priority(0);
            final Packet untagged = fake.acquire();
            untagged.length(HomaBytes.common(untagged.buffer(), HomaBytes.NEED_ACK, 99, 4000, 1235));
            untagged.source(REMOTE).priority(-1);
            fake.deliver(tagged);
            fake.deliver(untagged);

            clock.advanceTo(9_000);
            final int count = driver.poll(
                (packet) ->
                {
                    recordsSeenBySink.add(driver.writer().recordCount());
                    delivered.add(packet);
                    driver.release(packet);
                },
                10);

            assertEquals(2, count);
            assertEquals(List.of(1L, 2L), recordsSeenBySink);
            assertEquals(List.of(tagged, untagged), delivered);
            assertEquals(delivered, fake.released);
        }

        final PcapFile pcap = PcapFile.read(file);
        assertEquals(2, pcap.records.size());

        final PcapFile.Record first = pcap.records.get(0);
        assertEquals(EPOCH_BASE_NS + 9_000, first.timestampNs());
        assertEquals(FrameRejectReason.NONE, reader.read(new UnsafeBuffer(first.data()), 0, first.data().length));
        assertTrue(reader.tagged());
        assertEquals(1, reader.pcp(), "level 0 is PCP 1");
        assertEquals(HostAddress.ipv4Of(REMOTE), reader.sourceIpv4());
        assertEquals(HostAddress.ipv4Of(LOCAL), reader.destinationIpv4());
        assertEquals(37, reader.homaLength());

        final PcapFile.Record second = pcap.records.get(1);
        assertEquals(FrameRejectReason.NONE, reader.read(new UnsafeBuffer(second.data()), 0, second.data().length));
        assertFalse(reader.tagged(), "unknown priority is recorded without a tag");
        assertEquals(0, reader.tos());
        assertEquals(34, reader.homaOffset());
        assertEquals(28, reader.homaLength());
    }

    @Test
    void macsComeFromTheWrappedDriverWhenItResolvesThem() throws Exception
    {
        final Path file = dir.resolve("macs.pcap");
        final ResolvingFakeDriver resolving = new ResolvingFakeDriver(LOCAL);
        try (CapturingDriver driver = new CapturingDriver(resolving, PcapWriter.create(file), clock, 0))
        {
            final Packet packet = driver.acquire();
            packet.length(HomaBytes.common(packet.buffer(), HomaBytes.BUSY, 1, 2, 3));
            driver.send(packet, REMOTE, 3);
        }

        final PcapFile.Record record = PcapFile.read(file).records.get(0);
        assertEquals(FrameRejectReason.NONE, reader.read(new UnsafeBuffer(record.data()), 0, record.data().length));
        assertEquals(0x00AA_0000_0000L | (HostAddress.ipv4Of(LOCAL) & 0xFFFF_FFFFL), reader.sourceMac());
        assertEquals(0x00AA_0000_0000L | (HostAddress.ipv4Of(REMOTE) & 0xFFFF_FFFFL), reader.destinationMac());
    }

    @Test
    void capabilitiesAreThoseOfTheWrappedDriverAndCloseClosesBoth() throws Exception
    {
        final PcapWriter writer = PcapWriter.create(dir.resolve("caps.pcap"));
        final CapturingDriver driver = new CapturingDriver(fake, writer, clock, 0, MacResolver.SYNTHETIC);
        assertEquals(fake.maxPacketLength(), driver.maxPacketLength());
        assertEquals(8, driver.priorityLevels());
        assertEquals(10_000_000_000L, driver.linkBitsPerSecond());
        assertEquals(62, driver.wireOverheadBytes());
        assertEquals(LOCAL, driver.localAddress());
        assertEquals(0, driver.queuedBytes());
        assertSame(fake, driver.delegate());

        driver.close();
        assertTrue(fake.closed);
        assertThrowsOnWrite(writer);
    }

    @Test
    @Tag("allocation")
    void sendAndReceivePathsAllocateNothing() throws Exception
    {
        final NoAllocationDriver quiet = new NoAllocationDriver(LOCAL);
        try (CapturingDriver driver = new CapturingDriver(
            quiet, PcapWriter.create(dir.resolve("alloc.pcap")), clock, EPOCH_BASE_NS))
        {
            final Packet packet = quiet.packet;
            packet.length(HomaBytes.data(packet.buffer(), 4000, 99, 1234, 10_000, 10_000, 0, 0, 1, false, 0, 1000));
            packet.source(REMOTE).priority(5);
            final dev.homa.nic.PacketSink sink = (p) -> { };
            final long allocated = new AllocationMeter().measure(
                2_000,
                (i) ->
                {
                    driver.send(packet, REMOTE, i & 7);
                    driver.flush();
                    driver.poll(sink, 1);
                });
            assertEquals(0, allocated, "bytes allocated by 2 000 captured sends and receives");
        }
    }

    private static void assertThrowsOnWrite(final PcapWriter writer)
    {
        try
        {
            writer.writeFrame(0, new UnsafeBuffer(new byte[1]), 0, 1);
        }
        catch (final IllegalStateException expected)
        {
            return;
        }
        throw new AssertionError("the writer should be closed");
    }

    private static byte[] bytesOf(final Packet packet)
    {
        final byte[] bytes = new byte[packet.length()];
        packet.buffer().getBytes(0, bytes);
        return bytes;
    }

    private static final class ResolvingFakeDriver extends FakeNicDriver implements MacResolver
    {
        ResolvingFakeDriver(final long localAddress)
        {
            super(localAddress);
        }

        @Override
        public long macOf(final long hostAddress)
        {
            return 0x00AA_0000_0000L | (HostAddress.ipv4Of(hostAddress) & 0xFFFF_FFFFL);
        }
    }

    /** One preallocated packet, sent nowhere and received back on every poll: nothing allocated per call. */
    private static final class NoAllocationDriver extends FakeNicDriver
    {
        final Packet packet = new Packet(new UnsafeBuffer(new byte[MAX_PACKET_LENGTH]), 0);

        NoAllocationDriver(final long localAddress)
        {
            super(localAddress);
        }

        @Override
        public boolean send(final Packet packet, final long destination, final int priority)
        {
            return true;
        }

        @Override
        public int flush()
        {
            return 1;
        }

        @Override
        public int poll(final dev.homa.nic.PacketSink sink, final int limit)
        {
            sink.onPacket(packet);
            return 1;
        }
    }
}
