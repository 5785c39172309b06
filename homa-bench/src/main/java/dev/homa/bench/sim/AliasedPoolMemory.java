package dev.homa.bench.sim;

import dev.homa.core.PoolMemory;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Pool memory for a simulated cluster: every pool of every host is a window onto the same few megabytes of one
 * memory file, mapped again and again side by side. The engine writes and reads payload bytes as it would on a real
 * host, but nothing in a simulation ever looks at them, so 144 hosts with pools big enough for W5's 29 MB messages
 * need a few megabytes of RAM instead of hundreds of gigabytes, and the copies stay in cache.
 * <p>
 * Each pool takes at most {@value #MAX_MAPPINGS_PER_POOL} mappings (the kernel allows about 65,000 per process);
 * {@link #close()} unmaps them all. Linux only.
 */
final class AliasedPoolMemory implements PoolMemory, AutoCloseable
{
    /** Smallest alias: the memory every pool window shares. */
    static final long MIN_CHUNK_BYTES = 2L << 20;
    static final int MAX_MAPPINGS_PER_POOL = 64;

    private static final int PROT_NONE = 0;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_SHARED = 0x01;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_FIXED = 0x10;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MethodHandle MEMFD_CREATE = bind("memfd_create", FunctionDescriptor.of(JAVA_INT, ADDRESS,
        JAVA_INT));
    private static final MethodHandle FTRUNCATE = bind("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
        JAVA_LONG));
    private static final MethodHandle MMAP = bind("mmap", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG,
        JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = bind("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private final long fileBytes;
    private final int fd;
    private final List<long[]> regions = new ArrayList<>();

    /**
     * @param largestPoolBytes the largest pool that will be asked for: sets the alias size so that no pool needs
     *                         more than {@value #MAX_MAPPINGS_PER_POOL} mappings.
     */
    AliasedPoolMemory(final long largestPoolBytes)
    {
        final long chunk = Math.max(MIN_CHUNK_BYTES, ceil(largestPoolBytes / MAX_MAPPINGS_PER_POOL, MIN_CHUNK_BYTES));
        fileBytes = chunk;
        try (Arena arena = Arena.ofConfined())
        {
            fd = (int)MEMFD_CREATE.invokeExact(arena.allocateFrom("homa-sim-pools"), 0);
            if (fd < 0)
            {
                throw new IllegalStateException("memfd_create failed: the simulator's pool memory needs Linux");
            }
            if (0 != (int)FTRUNCATE.invokeExact(fd, fileBytes))
            {
                throw new IllegalStateException("ftruncate of the pool memory file to " + fileBytes + " failed");
            }
        }
        catch (final RuntimeException | Error ex)
        {
            throw ex;
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * @return bytes of real memory behind every pool.
     */
    long aliasBytes()
    {
        return fileBytes;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public synchronized UnsafeBuffer allocate(final int bytes)
    {
        final long size = ceil(bytes, fileBytes);
        try
        {
            final long base = (long)MMAP.invokeExact(0L, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0L);
            if (-1 == base)
            {
                throw new IllegalStateException("cannot reserve " + size + " bytes of address space for a pool");
            }
            regions.add(new long[]{ base, size });
            for (long offset = 0; offset < size; offset += fileBytes)
            {
                final long at = (long)MMAP.invokeExact(base + offset, fileBytes, PROT_READ_WRITE,
                    MAP_SHARED | MAP_FIXED, fd, 0L);
                if (at != base + offset)
                {
                    throw new IllegalStateException("cannot map the pool memory file at " + (base + offset) +
                        " (too many mappings? vm.max_map_count)");
                }
            }
            return new UnsafeBuffer(base, bytes);
        }
        catch (final RuntimeException | Error ex)
        {
            throw ex;
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * Unmap every pool and close the file: call only once no transport uses them.
     */
    @Override
    public synchronized void close()
    {
        try
        {
            for (final long[] region : regions)
            {
                final int ignored = (int)MUNMAP.invokeExact(region[0], region[1]);
            }
            regions.clear();
            final int ignored = (int)CLOSE.invokeExact(fd);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static long ceil(final long value, final long unit)
    {
        return (value + unit - 1) / unit * unit;
    }

    private static MethodHandle bind(final String name, final FunctionDescriptor descriptor)
    {
        final MemorySegment symbol = LIBC.find(name).orElseThrow(() ->
            new IllegalStateException("libc has no " + name + ": the simulator's pool memory needs Linux"));
        return LINKER.downcallHandle(symbol, descriptor);
    }
}
