package dev.homa.core.metrics;

import org.agrona.IoUtil;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersManager;
import org.agrona.concurrent.status.CountersReader;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A transport's counters in a memory-mapped file that other processes read ({@code homa-stat}), as Aeron's CnC file
 * holds its counters: a header, then the metadata and values buffers of an Agrona {@link CountersManager}. Every
 * slot of the {@link HomaMetrics} is registered once, in slot order, with a type id saying whose it is
 * ({@link #ENGINE_COUNTER}: a {@link HomaCounter}; {@link #DRIVER_COUNTER}: one of the driver's), its slot in the
 * key and its label; a reader needs nothing but the file.
 * <pre>
 *   0  int   magic 'HOMA'        16 long  start time, epoch ms      40 int   role length
 *   4  int   version             24 long  heartbeat, epoch ms       44 ...  role (ASCII), up to 200 bytes
 *   8  long  process id          32 int   metadata buffer length
 *                                36 int   values buffer length
 * 256      metadata buffer (CountersReader.METADATA_LENGTH per counter)
 * 256 + m  values buffer (CountersReader.COUNTER_LENGTH per counter)
 * </pre>
 * The protocol thread is the only writer: {@link #update(long)} copies every slot with ordered stores (the engine
 * calls it every {@code countersIntervalNs}, not per packet, so the data path keeps its own dense array) and stamps
 * the heartbeat. {@link #close()} deletes the file.
 */
public final class CountersFile implements AutoCloseable
{
    /** First int of the file: "HOMA" in ASCII. */
    public static final int MAGIC = 0x484F_4D41;
    /** Layout version. */
    public static final int VERSION = 1;
    /** Type id of an engine counter; its key holds its {@link HomaMetrics} slot. */
    public static final int ENGINE_COUNTER = 1;
    /** Type id of a driver counter; its key holds its {@link HomaMetrics} slot. */
    public static final int DRIVER_COUNTER = 2;
    /** File names end with this. */
    public static final String SUFFIX = ".counters";

    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 4;
    static final int PID_OFFSET = 8;
    static final int START_TIME_OFFSET = 16;
    static final int HEARTBEAT_OFFSET = 24;
    static final int METADATA_LENGTH_OFFSET = 32;
    static final int VALUES_LENGTH_OFFSET = 36;
    static final int ROLE_LENGTH_OFFSET = 40;
    static final int ROLE_OFFSET = 44;
    static final int MAX_ROLE_LENGTH = 200;
    static final int HEADER_LENGTH = 256;

    private final Path path;
    private final MappedByteBuffer mapped;
    private final UnsafeBuffer header;
    private final AtomicBuffer values;
    private final HomaMetrics metrics;
    private final int[] counterIds;
    private boolean closed;

    private CountersFile(final Path path, final MappedByteBuffer mapped, final HomaMetrics metrics, final int counters)
    {
        this.path = path;
        this.mapped = mapped;
        this.metrics = metrics;
        this.header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
        final int metadataLength = counters * CountersReader.METADATA_LENGTH;
        final int valuesLength = counters * CountersReader.COUNTER_LENGTH;
        final UnsafeBuffer metadata = new UnsafeBuffer(mapped, HEADER_LENGTH, metadataLength);
        this.values = new UnsafeBuffer(mapped, HEADER_LENGTH + metadataLength, valuesLength);
        final CountersManager manager = new CountersManager(metadata, values, StandardCharsets.US_ASCII);
        final String[] names = metrics.names();
        counterIds = new int[names.length];
        for (int i = 0; i < names.length; i++)
        {
            final int slot = i;
            counterIds[i] = manager.allocate(names[i], HomaMetrics.isDriverCounter(i) ? DRIVER_COUNTER : ENGINE_COUNTER,
                (key) -> key.putInt(0, slot));
        }
        header.putInt(METADATA_LENGTH_OFFSET, metadataLength);
        header.putInt(VALUES_LENGTH_OFFSET, valuesLength);
    }

    /**
     * Create the file of a running transport and register its counters.
     *
     * @param directory where (created if missing).
     * @param role      what the file belongs to, e.g. {@code homa-engine-198.18.0.1}.
     * @param metrics   the transport's counters, the driver's among them.
     * @param epochMs   the transport's start on the wall clock, also the first heartbeat.
     * @return the file, its counters at zero.
     * @throws UncheckedIOException if it cannot be created.
     */
    public static CountersFile create(
        final Path directory, final String role, final HomaMetrics metrics, final long epochMs)
    {
        try
        {
            Files.createDirectories(directory);
            removeStale(directory);
            final long pid = ProcessHandle.current().pid();
            Path path;
            int n = 0;
            do
            {
                path = directory.resolve(pid + "-" + n++ + SUFFIX);
            }
            while (Files.exists(path));
            final int counters = metrics.length();
            final long length = HEADER_LENGTH +
                (long)counters * (CountersReader.METADATA_LENGTH + CountersReader.COUNTER_LENGTH);
            final MappedByteBuffer mapped = IoUtil.mapNewFile(path.toFile(), length, true);
            final CountersFile file = new CountersFile(path, mapped, metrics, counters);
            final byte[] roleBytes = role.getBytes(StandardCharsets.US_ASCII);
            final int roleLength = Math.min(MAX_ROLE_LENGTH, roleBytes.length);
            file.header.putBytes(ROLE_OFFSET, roleBytes, 0, roleLength);
            file.header.putInt(ROLE_LENGTH_OFFSET, roleLength);
            file.header.putLong(PID_OFFSET, pid);
            file.header.putLong(START_TIME_OFFSET, epochMs);
            file.header.putLong(HEARTBEAT_OFFSET, epochMs);
            file.header.putInt(VERSION_OFFSET, VERSION);
            file.header.putIntVolatile(MAGIC_OFFSET, MAGIC);
            return file;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create the counters file in " + directory, ex);
        }
    }

    /**
     * {@return the file}
     */
    public Path path()
    {
        return path;
    }

    /**
     * Publish every counter's current value and stamp the heartbeat (protocol thread).
     *
     * @param epochMs the wall-clock time of the heartbeat.
     */
    public void update(final long epochMs)
    {
        if (closed)
        {
            return;
        }
        final int[] counterIds = this.counterIds;
        for (int i = 0; i < counterIds.length; i++)
        {
            values.putLongRelease(CountersReader.counterOffset(counterIds[i]), metrics.get(i));
        }
        header.putLongRelease(HEARTBEAT_OFFSET, epochMs);
    }

    /**
     * Unmap and delete the file.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        IoUtil.unmap(mapped);
        try
        {
            Files.deleteIfExists(path);
        }
        catch (final IOException ignore)
        {
            // Left behind: readers skip files of processes that are gone, and the next launch removes them.
        }
    }

    /**
     * The default directory: {@code /dev/shm/homa-USER} where there is a {@code /dev/shm} (memory, like Aeron's),
     * else {@code java.io.tmpdir/homa-USER}.
     *
     * @return the directory.
     */
    public static Path defaultDirectory()
    {
        final String name = "homa-" + System.getProperty("user.name", "user");
        final Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm.resolve(name) :
            Path.of(System.getProperty("java.io.tmpdir")).resolve(name);
    }

    /**
     * The counters files in a directory whose processes still run.
     *
     * @param directory where to look.
     * @return the files, oldest process first.
     */
    public static List<Path> live(final Path directory)
    {
        final List<Path> live = new ArrayList<>();
        if (!Files.isDirectory(directory))
        {
            return live;
        }
        try (Stream<Path> files = Files.list(directory))
        {
            files.filter((p) -> p.getFileName().toString().endsWith(SUFFIX)).sorted().forEach((p) ->
            {
                final long pid = pidOf(p);
                if (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                {
                    live.add(p);
                }
            });
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot list " + directory, ex);
        }
        return live;
    }

    /**
     * The process id in a counters file's name.
     *
     * @param file a counters file.
     * @return the process id its name starts with, or -1.
     */
    public static long pidOf(final Path file)
    {
        final String name = file.getFileName().toString();
        final int dash = name.indexOf('-');
        try
        {
            return dash > 0 ? Long.parseLong(name.substring(0, dash)) : -1;
        }
        catch (final NumberFormatException ex)
        {
            return -1;
        }
    }

    private static void removeStale(final Path directory) throws IOException
    {
        try (Stream<Path> files = Files.list(directory))
        {
            files.filter((p) -> p.getFileName().toString().endsWith(SUFFIX)).forEach((p) ->
            {
                final long pid = pidOf(p);
                if (pid > 0 && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                {
                    try
                    {
                        Files.deleteIfExists(p);
                    }
                    catch (final IOException ignore)
                    {
                        // Another process's file, or removed meanwhile.
                    }
                }
            });
        }
    }

    /**
     * Read a counters file written by another process.
     */
    public static final class Reader implements AutoCloseable
    {
        private final MappedByteBuffer mapped;
        private final UnsafeBuffer header;
        private final CountersReader counters;

        /**
         * Map an existing counters file for reading.
         *
         * @param file a counters file.
         * @throws IllegalStateException if it is not one (or not yet written).
         */
        public Reader(final Path file)
        {
            final File f = file.toFile();
            mapped = IoUtil.mapExistingFile(f, "homa counters");
            if (mapped.capacity() < HEADER_LENGTH)
            {
                IoUtil.unmap(mapped);
                throw new IllegalStateException(file + " is too short to be a counters file");
            }
            header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
            if (MAGIC != header.getIntVolatile(MAGIC_OFFSET) || VERSION != header.getInt(VERSION_OFFSET))
            {
                IoUtil.unmap(mapped);
                throw new IllegalStateException(file + " is not a Homa counters file of version " + VERSION);
            }
            final int metadataLength = header.getInt(METADATA_LENGTH_OFFSET);
            final int valuesLength = header.getInt(VALUES_LENGTH_OFFSET);
            counters = new CountersReader(new UnsafeBuffer(mapped, HEADER_LENGTH, metadataLength),
                new UnsafeBuffer(mapped, HEADER_LENGTH + metadataLength, valuesLength), StandardCharsets.US_ASCII);
        }

        /**
         * {@return the writer's process id}
         */
        public long pid()
        {
            return header.getLong(PID_OFFSET);
        }

        /**
         * {@return what the file belongs to}
         */
        public String role()
        {
            return header.getStringWithoutLengthAscii(ROLE_OFFSET, header.getInt(ROLE_LENGTH_OFFSET));
        }

        /**
         * {@return when the transport started, epoch ms}
         */
        public long startTimeMs()
        {
            return header.getLong(START_TIME_OFFSET);
        }

        /**
         * {@return when the counters were last published, epoch ms}
         */
        public long heartbeatMs()
        {
            return header.getLongVolatile(HEARTBEAT_OFFSET);
        }

        /**
         * {@return the counters (labels, type ids, keys and values)}
         */
        public CountersReader counters()
        {
            return counters;
        }

        /**
         * Read one counter by its label.
         *
         * @param label a counter's label, e.g. {@code client_rpcs_completed} or {@code driver.packets_received}.
         * @return its value, or -1 if there is no such counter.
         */
        public long value(final String label)
        {
            final long[] value = { -1 };
            counters.forEach((counterId, typeId, keyBuffer, counterLabel) ->
            {
                if (label.equals(counterLabel))
                {
                    value[0] = counters.getCounterValue(counterId);
                }
            });
            return value[0];
        }

        @Override
        public void close()
        {
            IoUtil.unmap(mapped);
        }
    }
}
