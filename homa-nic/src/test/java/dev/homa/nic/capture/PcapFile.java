package dev.homa.nic.capture;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Independent reader of classic pcap files for assertions (little-endian, nanosecond magic only).
 */
final class PcapFile
{
    record Record(long timestampNs, int originalLength, byte[] data)
    {
    }

    final int magic;
    final int versionMajor;
    final int versionMinor;
    final int snapLength;
    final int linkType;
    final List<Record> records = new ArrayList<>();

    private PcapFile(final ByteBuffer bytes)
    {
        magic = bytes.getInt();
        versionMajor = bytes.getShort() & 0xFFFF;
        versionMinor = bytes.getShort() & 0xFFFF;
        bytes.getInt();
        bytes.getInt();
        snapLength = bytes.getInt();
        linkType = bytes.getInt();
        while (bytes.hasRemaining())
        {
            final long seconds = bytes.getInt() & 0xFFFF_FFFFL;
            final long nanos = bytes.getInt() & 0xFFFF_FFFFL;
            final int included = bytes.getInt();
            final int original = bytes.getInt();
            final byte[] data = new byte[included];
            bytes.get(data);
            records.add(new Record(seconds * 1_000_000_000L + nanos, original, data));
        }
    }

    static PcapFile read(final Path path) throws IOException
    {
        return new PcapFile(ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN));
    }
}
