package dev.homa.nic.capture;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Writes a classic pcap file (not pcapng) with nanosecond timestamps and Ethernet link type, readable by
 * Wireshark, tshark and tcpdump. Records are staged in one preallocated direct buffer and written to the channel
 * when it fills, on {@link #flush()} and on {@link #close()}: no allocation and no system call per record.
 * <pre>
 *  file header (24 bytes):  magic 0xa1b23c4d | major 2 | minor 4 | thiszone 0 | sigfigs 0 | snaplen | linktype 1
 *  per record (16 bytes):   ts_sec | ts_nsec | incl_len | orig_len, then incl_len frame bytes
 * </pre>
 * Fields are written little-endian, explicitly, so that a capture is byte-identical whatever machine wrote it;
 * readers detect the order from the magic. A frame longer than the snap length is truncated to it
 * ({@code incl_len < orig_len}). The file has an explicit size limit: records that would pass it are counted in
 * {@link #droppedCount()} and not written.
 * <p>
 * Not thread-safe: one writer per thread, or the owner's lock around it (captures are a debugging aid off the
 * protocol's own path).
 */
public final class PcapWriter implements AutoCloseable
{
    /** Magic number of a pcap file with nanosecond timestamps. */
    public static final int MAGIC_NANOSECONDS = 0xA1B23C4D;
    /** Format major version. */
    public static final int VERSION_MAJOR = 2;
    /** Format minor version. */
    public static final int VERSION_MINOR = 4;
    /** Link type of Ethernet frames (starting at the destination MAC, no preamble, no CRC). */
    public static final int LINKTYPE_ETHERNET = 1;
    /** Default and largest snap length. */
    public static final int DEFAULT_SNAP_LENGTH = 65535;
    /** Length of the file header. */
    public static final int FILE_HEADER_LENGTH = 24;
    /** Length of a record header. */
    public static final int RECORD_HEADER_LENGTH = 16;
    /** Default staging buffer size. */
    public static final int DEFAULT_BUFFER_LENGTH = 256 * 1024;
    /** Default file size limit: 1 GiB. */
    public static final long DEFAULT_MAX_FILE_BYTES = 1L << 30;

    /** Offset of the magic in the file header. */
    public static final int MAGIC_OFFSET = 0;
    /** Offset of the major version in the file header. */
    public static final int VERSION_MAJOR_OFFSET = 4;
    /** Offset of the minor version in the file header. */
    public static final int VERSION_MINOR_OFFSET = 6;
    /** Offset of the time zone correction in the file header. */
    public static final int THIS_ZONE_OFFSET = 8;
    /** Offset of the timestamp accuracy in the file header. */
    public static final int SIGFIGS_OFFSET = 12;
    /** Offset of the snap length in the file header. */
    public static final int SNAP_LENGTH_OFFSET = 16;
    /** Offset of the link type in the file header. */
    public static final int LINK_TYPE_OFFSET = 20;

    /** Offset of the seconds in a record header. */
    public static final int TS_SEC_OFFSET = 0;
    /** Offset of the nanoseconds in a record header. */
    public static final int TS_NSEC_OFFSET = 4;
    /** Offset of the captured length in a record header. */
    public static final int INCL_LEN_OFFSET = 8;
    /** Offset of the original length in a record header. */
    public static final int ORIG_LEN_OFFSET = 12;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final FileChannel channel;
    private final boolean ownsChannel;
    private final int snapLength;
    private final long maxFileBytes;
    private final ByteBuffer byteBuffer;
    private final UnsafeBuffer buffer;
    private int position;
    private long fileBytes;
    private long recordCount;
    private long droppedCount;
    private boolean closed;

    /**
     * Create (or truncate) a file with the default buffer, snap length and size limit; the writer owns and closes
     * the channel.
     *
     * @param path file to write.
     * @return the writer, file header already staged.
     */
    public static PcapWriter create(final Path path)
    {
        try
        {
            final FileChannel channel = FileChannel.open(
                path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
            return new PcapWriter(channel, true, DEFAULT_BUFFER_LENGTH, DEFAULT_SNAP_LENGTH, DEFAULT_MAX_FILE_BYTES);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create pcap file " + path, ex);
        }
    }

    /**
     * @param channel      to write to, positioned at the start of an empty file.
     * @param ownsChannel  true to close the channel in {@link #close()}.
     * @param bufferLength staging buffer size; raised to hold at least one full record.
     * @param snapLength   most bytes kept per frame, 1..65535.
     * @param maxFileBytes size limit of the file, file header included; at least the file header.
     */
    public PcapWriter(
        final FileChannel channel,
        final boolean ownsChannel,
        final int bufferLength,
        final int snapLength,
        final long maxFileBytes)
    {
        if (snapLength < 1 || snapLength > DEFAULT_SNAP_LENGTH)
        {
            throw new IllegalArgumentException("snap length out of range 1..65535: " + snapLength);
        }
        if (maxFileBytes < FILE_HEADER_LENGTH)
        {
            throw new IllegalArgumentException("file size limit below the file header: " + maxFileBytes);
        }
        this.channel = channel;
        this.ownsChannel = ownsChannel;
        this.snapLength = snapLength;
        this.maxFileBytes = maxFileBytes;
        final int capacity = Math.max(bufferLength, RECORD_HEADER_LENGTH + snapLength);
        this.byteBuffer = BufferUtil.allocateDirectAligned(BitUtil.align(capacity, 64), 64);
        this.buffer = new UnsafeBuffer(byteBuffer);

        buffer.putInt(MAGIC_OFFSET, MAGIC_NANOSECONDS, LITTLE_ENDIAN);
        buffer.putShort(VERSION_MAJOR_OFFSET, (short)VERSION_MAJOR, LITTLE_ENDIAN);
        buffer.putShort(VERSION_MINOR_OFFSET, (short)VERSION_MINOR, LITTLE_ENDIAN);
        buffer.putInt(THIS_ZONE_OFFSET, 0, LITTLE_ENDIAN);
        buffer.putInt(SIGFIGS_OFFSET, 0, LITTLE_ENDIAN);
        buffer.putInt(SNAP_LENGTH_OFFSET, snapLength, LITTLE_ENDIAN);
        buffer.putInt(LINK_TYPE_OFFSET, LINKTYPE_ETHERNET, LITTLE_ENDIAN);
        position = FILE_HEADER_LENGTH;
        fileBytes = FILE_HEADER_LENGTH;
    }

    /**
     * Record one frame.
     *
     * @param timestampNs nanoseconds since the Unix epoch.
     * @param frame       buffer holding the frame, starting at the destination MAC.
     * @param offset      of the frame.
     * @param length      of the frame.
     * @return true if recorded, false if the file size limit was reached.
     */
    public boolean writeFrame(final long timestampNs, final DirectBuffer frame, final int offset, final int length)
    {
        return writeFrame(timestampNs, frame, offset, length, frame, offset + length, 0);
    }

    /**
     * Record one frame given in two pieces, typically synthesized headers and the packet they frame, without
     * joining them first.
     *
     * @param timestampNs nanoseconds since the Unix epoch.
     * @param head        buffer holding the first piece.
     * @param headOffset  of the first piece.
     * @param headLength  of the first piece.
     * @param body        buffer holding the second piece.
     * @param bodyOffset  of the second piece.
     * @param bodyLength  of the second piece.
     * @return true if recorded, false if the file size limit was reached.
     */
    public boolean writeFrame(
        final long timestampNs,
        final DirectBuffer head,
        final int headOffset,
        final int headLength,
        final DirectBuffer body,
        final int bodyOffset,
        final int bodyLength)
    {
        if (closed)
        {
            throw new IllegalStateException("pcap writer is closed");
        }
        if (headLength < 0 || bodyLength < 0)
        {
            throw new IllegalArgumentException("negative length: head=" + headLength + " body=" + bodyLength);
        }
        final int originalLength = headLength + bodyLength;
        final int includedLength = Math.min(originalLength, snapLength);
        final int recordLength = RECORD_HEADER_LENGTH + includedLength;
        if (fileBytes + recordLength > maxFileBytes)
        {
            droppedCount++;
            return false;
        }
        if (position + recordLength > buffer.capacity())
        {
            drain();
        }

        final int index = position;
        buffer.putInt(index + TS_SEC_OFFSET, (int)Math.floorDiv(timestampNs, NANOS_PER_SECOND), LITTLE_ENDIAN);
        buffer.putInt(index + TS_NSEC_OFFSET, (int)Math.floorMod(timestampNs, NANOS_PER_SECOND), LITTLE_ENDIAN);
        buffer.putInt(index + INCL_LEN_OFFSET, includedLength, LITTLE_ENDIAN);
        buffer.putInt(index + ORIG_LEN_OFFSET, originalLength, LITTLE_ENDIAN);
        final int headBytes = Math.min(headLength, includedLength);
        buffer.putBytes(index + RECORD_HEADER_LENGTH, head, headOffset, headBytes);
        final int bodyBytes = includedLength - headBytes;
        if (bodyBytes > 0)
        {
            buffer.putBytes(index + RECORD_HEADER_LENGTH + headBytes, body, bodyOffset, bodyBytes);
        }
        position += recordLength;
        fileBytes += recordLength;
        recordCount++;
        return true;
    }

    /**
     * Write everything staged to the channel (no {@code fsync}).
     */
    public void flush()
    {
        if (!closed)
        {
            drain();
        }
    }

    /**
     * Flush, then close the channel if the writer owns it. Idempotent.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        try
        {
            drain();
        }
        finally
        {
            closed = true;
            if (ownsChannel)
            {
                try
                {
                    channel.close();
                }
                catch (final IOException ex)
                {
                    throw new UncheckedIOException("cannot close pcap file", ex);
                }
            }
        }
    }

    /**
     * @return frames recorded.
     */
    public long recordCount()
    {
        return recordCount;
    }

    /**
     * @return frames not recorded because of the file size limit.
     */
    public long droppedCount()
    {
        return droppedCount;
    }

    /**
     * @return bytes of the file so far, staged bytes included.
     */
    public long fileBytes()
    {
        return fileBytes;
    }

    /**
     * @return the snap length.
     */
    public int snapLength()
    {
        return snapLength;
    }

    private void drain()
    {
        if (0 == position)
        {
            return;
        }
        byteBuffer.limit(position).position(0);
        try
        {
            while (byteBuffer.hasRemaining())
            {
                channel.write(byteBuffer);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write pcap file", ex);
        }
        finally
        {
            byteBuffer.clear();
            position = 0;
        }
    }
}
