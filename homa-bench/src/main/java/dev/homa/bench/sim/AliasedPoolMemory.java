package dev.homa.bench.sim;

import dev.homa.core.PoolMemory;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.VirtualMemory;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Pool memory for a simulated cluster: every pool of every host is the same window onto the same few megabytes of
 * one memory file, mapped again and again side by side. The engine writes and reads payload bytes as it would on a
 * real host, but nothing in a simulation ever looks at them (a pool holds payload only), so 144 hosts with pools big
 * enough for W5's 29 MB messages need a few megabytes of RAM instead of hundreds of gigabytes. Sharing the virtual
 * addresses as well keeps the copies in cache and in the TLB: each host's pool hands out its lowest pages first, so
 * the hosts' copies all land on the same few pages, each faulted in once per run instead of once per host.
 * <p>
 * The window takes at most {@value #MAX_MAPPINGS_PER_POOL} mappings (the kernel allows about 65,000 per process);
 * {@link #close()} unmaps them all. Linux only.
 */
final class AliasedPoolMemory implements PoolMemory, AutoCloseable
{
    /** Smallest alias: the memory every pool window shares. */
    static final long MIN_CHUNK_BYTES = 2L << 20;
    static final int MAX_MAPPINGS_PER_POOL = 64;

    private final long fileBytes;
    private final int fd;
    private final List<long[]> regions = new ArrayList<>();
    /** The region every pool is a view of: base address and length. */
    private long[] window;

    /**
     * @param largestPoolBytes the largest pool that will be asked for: sets the alias size so that no pool needs
     *                         more than {@value #MAX_MAPPINGS_PER_POOL} mappings.
     */
    AliasedPoolMemory(final long largestPoolBytes)
    {
        final long chunk = Math.max(MIN_CHUNK_BYTES, ceil(largestPoolBytes / MAX_MAPPINGS_PER_POOL, MIN_CHUNK_BYTES));
        fileBytes = chunk;
        fd = VirtualMemory.memoryFile("homa-sim-pools", fileBytes);
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
     * <p>
     * Every call returns a view of the same window, mapped on the first call (or again, larger, when a call asks
     * for more than it has).
     */
    @Override
    public synchronized UnsafeBuffer allocate(final int bytes)
    {
        if (null == window || window[1] < bytes)
        {
            window = map(ceil(bytes, fileBytes));
        }
        return new UnsafeBuffer(window[0], bytes);
    }

    private long[] map(final long size)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment errno = LibC.newErrnoState(arena);
            final long base = VirtualMemory.map(errno, 0L, size, VirtualMemory.PROT_NONE,
                VirtualMemory.MAP_PRIVATE | VirtualMemory.MAP_ANONYMOUS | VirtualMemory.MAP_NORESERVE, -1, 0L);
            if (VirtualMemory.MAP_FAILED == base)
            {
                throw new IllegalStateException("cannot reserve " + size + " bytes of address space for a pool: " +
                    LibC.describe(LibC.errno(errno)));
            }
            final long[] region = { base, size };
            regions.add(region);
            for (long offset = 0; offset < size; offset += fileBytes)
            {
                final long at = VirtualMemory.map(errno, base + offset, fileBytes, LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_SHARED | VirtualMemory.MAP_FIXED, fd, 0L);
                if (at != base + offset)
                {
                    throw new IllegalStateException("cannot map the pool memory file at " + (base + offset) +
                        " (too many mappings? vm.max_map_count): " + LibC.describe(LibC.errno(errno)));
                }
            }
            return region;
        }
    }

    /**
     * Unmap every pool and close the file: call only once no transport uses them.
     */
    @Override
    public synchronized void close()
    {
        for (final long[] region : regions)
        {
            VirtualMemory.unmap(region[0], region[1]);
        }
        regions.clear();
        window = null;
        LibC.close(fd);
    }

    private static long ceil(final long value, final long unit)
    {
        return (value + unit - 1) / unit * unit;
    }
}
