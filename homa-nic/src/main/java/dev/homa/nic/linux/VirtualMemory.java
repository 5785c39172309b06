package dev.homa.nic.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The address space by raw address: a file that lives in memory ({@code memfd_create(2)}) and mappings placed where
 * the caller chooses ({@code mmap(2)} with {@code MAP_FIXED} inside a reservation), so that one file can be seen
 * through many windows. Addresses are {@code long}s, since the windows are handed out as Agrona buffers.
 */
public final class VirtualMemory
{
    // <sys/mman.h>, beside the protections and sharing flags in LibC
    public static final int PROT_NONE = 0;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    /** What mmap returns on failure. */
    public static final long MAP_FAILED = -1;

    private static final MethodHandle MEMFD_CREATE = LibC.downcall("memfd_create",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), LibC.ERRNO);
    private static final MethodHandle FTRUNCATE = LibC.downcall("ftruncate",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), LibC.ERRNO);
    private static final MethodHandle MMAP = LibC.downcall("mmap",
        FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), LibC.ERRNO);
    private static final MethodHandle MUNMAP = LibC.downcall("munmap",
        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));

    private VirtualMemory()
    {
    }

    /**
     * A file in memory of a given length; close it with {@link LibC#close(int)}.
     *
     * @param name  shown in /proc/PID/fd, for whoever looks.
     * @param bytes its length.
     * @return the file descriptor.
     * @throws IllegalStateException with the kernel's errno if either call fails.
     */
    public static int memoryFile(final String name, final long bytes)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment errno = LibC.newErrnoState(arena);
            final int fd = (int)MEMFD_CREATE.invokeExact(errno, arena.allocateFrom(name), 0);
            if (fd < 0)
            {
                throw new IllegalStateException("memfd_create failed: " + LibC.describe(LibC.errno(errno)));
            }
            if (0 != (int)FTRUNCATE.invokeExact(errno, fd, bytes))
            {
                final int error = LibC.errno(errno);
                LibC.close(fd);
                throw new IllegalStateException("ftruncate of a memory file to " + bytes + " bytes failed: " +
                    LibC.describe(error));
            }
            return fd;
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
     * mmap(2) by raw address.
     *
     * @param errno   errno capture state.
     * @param address where (with {@link #MAP_FIXED}) or near where to map, 0 for anywhere.
     * @param length  bytes.
     * @param prot    {@code PROT_*}.
     * @param flags   {@code MAP_*}.
     * @param fd      the file, -1 for anonymous memory.
     * @param offset  offset in the file.
     * @return the address mapped, or {@link #MAP_FAILED} with errno in {@code errno}.
     */
    public static long map(
        final MemorySegment errno, final long address, final long length, final int prot, final int flags,
        final int fd, final long offset)
    {
        try
        {
            return (long)MMAP.invokeExact(errno, address, length, prot, flags, fd, offset);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * munmap(2) by raw address.
     *
     * @return 0, or -1 if the range was not page-aligned.
     */
    public static int unmap(final long address, final long length)
    {
        try
        {
            return (int)MUNMAP.invokeExact(address, length);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
