package dev.homa.nic.memory;

import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.VirtualMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Private anonymous memory ({@code mmap(MAP_PRIVATE | MAP_ANONYMOUS)}): zero until written, and each page backed by
 * the kernel only when it is first touched. A pool of 64 MiB taken from {@link ByteBuffer#allocateDirect(int)}
 * is zeroed by the JVM, which faults in all of its 16,384 pages before the first message (a quarter of a second on a
 * virtual machine whose page faults are slow), and keeps them resident whether messages ever use them or not; mapped
 * memory costs neither, and a pool that hands out its most recently freed pages first touches only as many as its
 * peak traffic needs. The mapping is released when the returned buffer becomes unreachable.
 */
public final class OnDemandMemory
{
    private OnDemandMemory()
    {
    }

    /**
     * Map memory.
     *
     * @param bytes how much; a whole number of pages is mapped.
     * @return a direct buffer over the mapping, page-aligned, all zero; it keeps the mapping alive.
     * @throws IllegalStateException if the kernel refuses the mapping (out of address space or memory).
     */
    public static ByteBuffer map(final int bytes)
    {
        if (bytes <= 0)
        {
            throw new IllegalArgumentException("bytes must be positive: " + bytes);
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment errno = LibC.newErrnoState(arena);
            final long address = VirtualMemory.map(errno, 0, bytes, LibC.PROT_READ | LibC.PROT_WRITE,
                VirtualMemory.MAP_PRIVATE | VirtualMemory.MAP_ANONYMOUS, -1, 0);
            if (VirtualMemory.MAP_FAILED == address)
            {
                throw new IllegalStateException("mmap of " + bytes + " bytes failed: " +
                    LibC.describe(LibC.errno(errno)));
            }
            // The buffer holds the segment, which holds its automatic arena: once neither is reachable the
            // arena's cleanup unmaps the memory.
            final MemorySegment mapped = MemorySegment.ofAddress(address)
                .reinterpret(bytes, Arena.ofAuto(), (segment) -> VirtualMemory.unmap(segment.address(), bytes));
            return mapped.asByteBuffer();
        }
    }
}
