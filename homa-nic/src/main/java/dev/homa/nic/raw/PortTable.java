package dev.homa.nic.raw;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.function.Consumer;

import dev.homa.nic.linux.FileLocks;

/**
 * The Homa ports of one interface, shared by every process with a raw driver on it: what a kernel host's port map is
 * to its Homa sockets. A Homa packet names its socket by port alone, so without this two processes on one interface
 * would each receive the other's packets, take the same ports, and answer each other's packets with ICMP port
 * unreachable.
 * <p>
 * The table is a file, one per network namespace and interface index, in {@link RawEthernetDriverContext#portTable}
 * (mode 0600):
 * <ul>
 *     <li>A port is claimed by an open-file-description lock on byte {@code port} of the file ({@link FileLocks}):
 *     exclusive across processes and drivers, and dropped by the kernel when the holder exits.</li>
 *     <li>The driver holding the lock on byte {@value #ANSWERING_BYTE} answers for the interface: its receive filter
 *     passes every port no other driver claimed, so that a packet for a port nobody has draws ICMP port unreachable
 *     (once, from one driver). Every other driver's filter passes only its own ports. When the answering driver goes,
 *     another takes the role at its next look.</li>
 *     <li>Every open table holds a shared lock on byte {@value #PRESENCE_BYTE}. The last to close finds it can make
 *     that lock exclusive and removes the file while it holds it; a table being opened takes its shared lock and then
 *     checks that the name still leads to the file it opened, and starts again with a new file if not.</li>
 *     <li>The file's first page is memory-mapped: a generation (bumped on every claim and release, so a driver sees a
 *     change without a system call) and a bitmap of claimed ports, which the answering driver's filter leaves out.
 *     The bitmap is a hint, the locks the truth: a bit a dead process left behind is cleared when the answering
 *     driver finds its byte unlocked, and {@link #claimedElsewhere} asks the kernel.</li>
 * </ul>
 * The table hands each new receive filter this driver needs to its socket. Claims come from the application's threads
 * and the look at other drivers' changes from the driver's; every method that changes state is synchronized.
 */
final class PortTable implements AutoCloseable
{
    static final int PORTS = 1 << 16;
    static final int ANSWERING_BYTE = PORTS;
    static final int PRESENCE_BYTE = PORTS + 1;
    /** Attempts at opening a file that is not removed meanwhile: each failure means another table just closed. */
    private static final int OPEN_ATTEMPTS = 16;
    private static final int GENERATION_OFFSET = 0;
    private static final int BITMAP_OFFSET = 64;
    private static final int FILE_LENGTH = BITMAP_OFFSET + PORTS / 8;
    /** In looks: how often a driver that does not answer for its interface tries to take the role. */
    private static final int ROLE_LOOK_INTERVAL = 64;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final String path;
    private final Arena mapping;
    private final MemorySegment shared;
    private final FileLocks locks;
    private final Consumer<int[][]> filters;
    private final int[] own = new int[HomaFilter.MAX_PORTS];
    private int ownCount;
    private int looks;
    private long seenGeneration;
    private boolean answering;
    private boolean closed;

    private PortTable(
        final String path, final Arena mapping, final MemorySegment shared, final FileLocks locks,
        final Consumer<int[][]> filters)
    {
        this.path = path;
        this.mapping = mapping;
        this.shared = shared;
        this.locks = locks;
        this.filters = filters;
    }

    /**
     * Open (creating if needed) the table of an interface in the calling thread's network namespace, take the
     * answering role if no driver holds it, and hand the first filter over.
     *
     * @param directory where the tables live.
     * @param ifIndex   the interface's index.
     * @param filters   takes each receive filter the driver needs ({@link HomaFilter} programs).
     * @return the table, with no port claimed yet.
     * @throws RawEthernetException if the file cannot be created or opened.
     */
    static PortTable open(final Path directory, final int ifIndex, final Consumer<int[][]> filters)
    {
        final Path file = directory.resolve("homa-raw-" + networkNamespace() + "-" + ifIndex);
        try
        {
            Files.createDirectories(directory);
            for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++)
            {
                final PortTable table = openPresent(file, filters);
                if (null != table)
                {
                    return table;
                }
            }
            throw new IOException("removed by closing tables " + OPEN_ATTEMPTS + " times while being opened");
        }
        catch (final IOException | RuntimeException ex)
        {
            throw new RawEthernetException("the port table " + file + ", which the raw drivers on one interface " +
                "share, cannot be opened (" + ex + "); choose its directory with the portTable option");
        }
    }

    /**
     * @return the table, or null if the file was removed by the last table on it to close before this one's
     * presence lock was taken.
     */
    private static PortTable openPresent(final Path file, final Consumer<int[][]> filters) throws IOException
    {
        if (!Files.exists(file))
        {
            try
            {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
            }
            catch (final FileAlreadyExistsException ignore)
            {
                // Another driver made it first.
            }
        }
        final FileLocks locks;
        try
        {
            locks = FileLocks.open(file.toString());
        }
        catch (final IllegalStateException ex)
        {
            if (Files.exists(file))
            {
                throw ex;
            }
            return null;
        }
        final Arena mapping = Arena.ofShared();
        try
        {
            locks.lockShared(PRESENCE_BYTE);
            if (!sameFile(file, locks))
            {
                locks.close();
                mapping.close();
                return null;
            }
            // While this table's presence lock is held, no other table removes the file, so the name stays its.
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
            {
                if (raf.length() < FILE_LENGTH)
                {
                    raf.setLength(FILE_LENGTH);
                }
                final MemorySegment shared =
                    raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, FILE_LENGTH, mapping);
                final PortTable table = new PortTable(file.toString(), mapping, shared, locks, filters);
                table.takeAnswering();
                table.seenGeneration = table.generation();
                table.refilter();
                return table;
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            locks.close();
            mapping.close();
            throw ex;
        }
    }

    private static boolean sameFile(final Path file, final FileLocks locks) throws IOException
    {
        try
        {
            return (long)Files.getAttribute(file, "unix:ino") == locks.inode();
        }
        catch (final NoSuchFileException ex)
        {
            return false;
        }
    }

    private static String networkNamespace()
    {
        try
        {
            // "net:[4026531840]": the namespace's inode, the same in every process that shares it.
            final String link = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
            return link.substring(link.indexOf('[') + 1, link.indexOf(']'));
        }
        catch (final IOException | RuntimeException ex)
        {
            return "0";
        }
    }

    /**
     * Claim a port for this driver.
     *
     * @param port 0..65535.
     * @return true if the port is this driver's now, false if another driver (in this process or another) has it.
     */
    synchronized boolean claim(final int port)
    {
        checkPort(port);
        if (closed)
        {
            return false;
        }
        if (indexOf(port) >= 0)
        {
            return true;
        }
        if (ownCount == own.length)
        {
            throw new RawEthernetException("a raw driver claims at most " + own.length + " ports");
        }
        if (!locks.tryLock(port))
        {
            return false;
        }
        own[ownCount++] = port;
        setBit(port);
        LONG.getAndAdd(shared, (long)GENERATION_OFFSET, 1L);
        refilter();
        return true;
    }

    /**
     * Give a port back.
     *
     * @param port a port this driver claimed (others are ignored).
     */
    synchronized void release(final int port)
    {
        final int index = indexOf(port);
        if (closed || index < 0)
        {
            return;
        }
        own[index] = own[--ownCount];
        clearBit(port);
        locks.unlock(port);
        LONG.getAndAdd(shared, (long)GENERATION_OFFSET, 1L);
        refilter();
    }

    /**
     * Now and then while the driver is idle: the driver that answers for the interface follows the other drivers'
     * claims, and one that does not takes the role if its holder has gone. Reads shared memory; a system call only
     * every {@value #ROLE_LOOK_INTERVAL} looks for a driver that does not answer.
     */
    void look()
    {
        final long generation = generation();
        if (generation != seenGeneration && answering ||
            0 == (++looks & (ROLE_LOOK_INTERVAL - 1)) && !answering && takeAnswering())
        {
            synchronized (this)
            {
                seenGeneration = generation;
                refilter();
            }
        }
    }

    /**
     * @param port a port.
     * @return true if another driver, in any process, holds it (the kernel's word, not the bitmap's).
     */
    synchronized boolean claimedElsewhere(final int port)
    {
        return !closed && indexOf(port) < 0 && locks.lockedElsewhere(port);
    }

    /**
     * Take the answering role if no driver holds it.
     *
     * @return true if this driver answers for the interface.
     */
    synchronized boolean takeAnswering()
    {
        if (!answering && !closed)
        {
            answering = locks.tryLock(ANSWERING_BYTE);
        }
        return answering;
    }

    /**
     * @return the generation: it changes whenever any driver claims or releases a port.
     */
    long generation()
    {
        return (long)LONG.getVolatile(shared, (long)GENERATION_OFFSET);
    }

    /**
     * The receive filter this driver needs now: every port but those other drivers claim if it answers for the
     * interface, else only its own. Where the list would be too long, every port (the engine then drops what is not
     * its own, and {@link #claimedElsewhere} keeps it from answering for another driver's ports).
     *
     * @return the program.
     */
    synchronized int[][] filter()
    {
        if (!answering)
        {
            return HomaFilter.program(own, ownCount, HomaFilter.ACCEPT, HomaFilter.DROP);
        }
        final int[] others = new int[HomaFilter.MAX_PORTS];
        int count = 0;
        for (int word = 0; word < PORTS / 64; word++)
        {
            long bits = shared.get(ValueLayout.JAVA_LONG, BITMAP_OFFSET + word * 8L);
            while (0 != bits)
            {
                final int port = word * 64 + Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                if (indexOf(port) >= 0)
                {
                    continue;
                }
                if (!locks.lockedElsewhere(port))
                {
                    clearBit(port);
                    continue;
                }
                if (count == others.length)
                {
                    return HomaFilter.ALL_PORTS;
                }
                others[count++] = port;
            }
        }
        return HomaFilter.program(others, count, HomaFilter.DROP, HomaFilter.ACCEPT);
    }

    private void refilter()
    {
        if (!closed)
        {
            filters.accept(filter());
        }
    }

    /**
     * @return the ports this driver holds, sorted.
     */
    synchronized int[] ownPorts()
    {
        final int[] ports = Arrays.copyOf(own, ownCount);
        Arrays.sort(ports);
        return ports;
    }

    /**
     * @return true if this driver answers for the interface.
     */
    synchronized boolean answering()
    {
        return answering;
    }

    /**
     * @return the table's file.
     */
    String path()
    {
        return path;
    }

    /**
     * Release every port and the answering role.
     */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (int i = 0; i < ownCount; i++)
        {
            clearBit(own[i]);
        }
        ownCount = 0;
        LONG.getAndAdd(shared, (long)GENERATION_OFFSET, 1L);
        if (locks.tryLock(PRESENCE_BYTE))
        {
            // No other table has the file open: remove it while no new one can take it up.
            try
            {
                Files.deleteIfExists(Path.of(path));
            }
            catch (final IOException ignore)
            {
                // Left for the next driver on the interface to use.
            }
        }
        locks.close();
        mapping.close();
    }

    private int indexOf(final int port)
    {
        for (int i = 0; i < ownCount; i++)
        {
            if (own[i] == port)
            {
                return i;
            }
        }
        return -1;
    }

    private void setBit(final int port)
    {
        LONG.getAndBitwiseOr(shared, BITMAP_OFFSET + (port >>> 6) * 8L, 1L << (port & 63));
    }

    private void clearBit(final int port)
    {
        LONG.getAndBitwiseAnd(shared, BITMAP_OFFSET + (port >>> 6) * 8L, ~(1L << (port & 63)));
    }

    private static void checkPort(final int port)
    {
        if (port < 0 || port >= PORTS)
        {
            throw new IllegalArgumentException("port out of range 0..65535: " + port);
        }
    }
}
