package dev.homa.nic.capture;

import dev.homa.nic.frame.AllocationMeter;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class PcapWriterTest
{
    @TempDir
    Path dir;

    @Test
    void fileHeaderIsClassicPcapWithNanosecondMagicEthernetAndSnapLength65535() throws Exception
    {
        final Path file = dir.resolve("empty.pcap");
        PcapWriter.create(file).close();

        assertEquals("4d3cb2a1" + "0200" + "0400" + "00000000" + "00000000" + "ffff0000" + "01000000",
            HexFormat.of().formatHex(Files.readAllBytes(file)));
    }

    @Test
    void recordHeaderCarriesSecondsNanosecondsAndLengths() throws Exception
    {
        final Path file = dir.resolve("one.pcap");
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[]{ 1, 2, 3, 4, 5 });
        try (PcapWriter writer = PcapWriter.create(file))
        {
            assertTrue(writer.writeFrame(1_700_000_000_123_456_789L, frame, 1, 3));
            assertEquals(1, writer.recordCount());
            assertEquals(24 + 16 + 3, writer.fileBytes());
        }

        final byte[] bytes = Files.readAllBytes(file);
        assertEquals(24 + 16 + 3, bytes.length);
        // 1_700_000_000 = 0x6553F100, 123_456_789 = 0x075BCD15, little-endian.
        assertEquals("00f15365" + "15cd5b07" + "03000000" + "03000000" + "020304",
            HexFormat.of().formatHex(Arrays.copyOfRange(bytes, 24, bytes.length)));
    }

    @Test
    void twoPiecesAreJoinedIntoOneRecord() throws Exception
    {
        final Path file = dir.resolve("pieces.pcap");
        try (PcapWriter writer = PcapWriter.create(file))
        {
            writer.writeFrame(5, new UnsafeBuffer(new byte[]{ 9, 1, 2 }), 1, 2,
                new UnsafeBuffer(new byte[]{ 3, 4, 5, 9 }), 0, 3);
        }

        final PcapFile pcap = PcapFile.read(file);
        assertEquals(1, pcap.records.size());
        assertEquals(5, pcap.records.get(0).timestampNs());
        assertArrayEquals(new byte[]{ 1, 2, 3, 4, 5 }, pcap.records.get(0).data());
    }

    @Test
    void framesLongerThanTheSnapLengthAreTruncated() throws Exception
    {
        final Path file = dir.resolve("snap.pcap");
        final byte[] data = new byte[100];
        for (int i = 0; i < data.length; i++)
        {
            data[i] = (byte)i;
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            PcapWriter writer = new PcapWriter(channel, false, 0, 64, Long.MAX_VALUE))
        {
            writer.writeFrame(0, new UnsafeBuffer(new byte[40]), 0, 40, new UnsafeBuffer(data), 0, 60);
            writer.writeFrame(0, new UnsafeBuffer(data), 0, 100);
        }

        final PcapFile pcap = PcapFile.read(file);
        assertEquals(64, pcap.snapLength);
        assertEquals(100, pcap.records.get(0).originalLength());
        assertEquals(64, pcap.records.get(0).data().length);
        assertArrayEquals(Arrays.copyOf(data, 24), Arrays.copyOfRange(pcap.records.get(0).data(), 40, 64));
        assertEquals(100, pcap.records.get(1).originalLength());
        assertArrayEquals(Arrays.copyOf(data, 64), pcap.records.get(1).data());
    }

    @Test
    void manyRecordsThroughASmallBufferArriveIntactAndInOrder() throws Exception
    {
        final Path file = dir.resolve("many.pcap");
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[1514]);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            PcapWriter writer = new PcapWriter(channel, false, 4096, 2048, Long.MAX_VALUE))
        {
            for (int i = 0; i < 1000; i++)
            {
                frame.putInt(0, i);
                writer.writeFrame(i * 1_000L, frame, 0, 60 + (i % 1400));
            }
        }

        final PcapFile pcap = PcapFile.read(file);
        assertEquals(1000, pcap.records.size());
        for (int i = 0; i < 1000; i++)
        {
            final PcapFile.Record record = pcap.records.get(i);
            assertEquals(i * 1_000L, record.timestampNs());
            assertEquals(60 + (i % 1400), record.data().length);
            assertEquals(i, new UnsafeBuffer(record.data()).getInt(0));
        }
    }

    @Test
    void fileSizeLimitDropsAndCountsRecords() throws Exception
    {
        final Path file = dir.resolve("limit.pcap");
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[100]);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            PcapWriter writer = new PcapWriter(channel, false, 0, 65535, 24 + 2 * 116 + 50))
        {
            assertTrue(writer.writeFrame(0, frame, 0, 100));
            assertTrue(writer.writeFrame(0, frame, 0, 100));
            assertFalse(writer.writeFrame(0, frame, 0, 100));
            assertTrue(writer.writeFrame(0, frame, 0, 30), "a smaller record still fits");
            assertEquals(3, writer.recordCount());
            assertEquals(1, writer.droppedCount());
        }
        assertEquals(24 + 2 * 116 + 46, Files.size(file));
    }

    @Test
    void closeIsIdempotentAndWritesAfterCloseAreMisuse() throws Exception
    {
        final PcapWriter writer = PcapWriter.create(dir.resolve("closed.pcap"));
        writer.close();
        writer.close();
        writer.flush();
        assertThrows(IllegalStateException.class, () -> writer.writeFrame(0, new UnsafeBuffer(new byte[1]), 0, 1));
        assertThrows(IllegalArgumentException.class,
            () -> new PcapWriter(null, false, 0, 65536, Long.MAX_VALUE));
    }

    @Test
    void flushMakesRecordsVisibleInTheFile() throws Exception
    {
        final Path file = dir.resolve("flush.pcap");
        try (PcapWriter writer = PcapWriter.create(file))
        {
            writer.writeFrame(0, new UnsafeBuffer(new byte[60]), 0, 60);
            assertEquals(0, Files.size(file), "staged, not yet written");
            writer.flush();
            assertEquals(24 + 16 + 60, Files.size(file));
        }
    }

    @Test
    @Tag("allocation")
    void recordingAllocatesNothing() throws Exception
    {
        final UnsafeBuffer head = new UnsafeBuffer(new byte[38]);
        final UnsafeBuffer body = new UnsafeBuffer(new byte[200]);
        try (FileChannel channel = FileChannel.open(
            dir.resolve("alloc.pcap"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            PcapWriter writer = new PcapWriter(channel, false, 64 * 1024, 65535, Long.MAX_VALUE))
        {
            final long allocated = new AllocationMeter().measure(
                5_000, (i) -> writer.writeFrame(i, head, 0, 38, body, 0, 100 + (i & 63)));
            assertEquals(0, allocated, "bytes allocated by 5 000 records, buffer drains included");
        }
    }
}
