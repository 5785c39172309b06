package dev.homa.nic.linux;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One-byte locks on a file, exclusive or shared, held by an open file description ({@code fcntl(2)}
 * {@code F_OFD_SETLK}): two descriptors opened separately conflict even within one process, and the kernel drops a
 * description's locks when its last descriptor closes, so a process that dies holds nothing. One instance per
 * descriptor; not thread-safe.
 */
public final class FileLocks implements AutoCloseable
{
    // <fcntl.h>
    public static final int O_RDWR = 2;
    private static final int F_OFD_GETLK = 36;
    private static final int F_OFD_SETLK = 37;
    private static final int F_OFD_SETLKW = 38;
    private static final short F_RDLCK = 0;
    private static final short F_WRLCK = 1;
    private static final short F_UNLCK = 2;
    private static final short SEEK_SET = 0;
    // struct flock on x86-64: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid.
    private static final int FLOCK_LENGTH = 32;
    private static final int L_START_OFFSET = 8;
    private static final int L_LEN_OFFSET = 16;
    private static final int L_PID_OFFSET = 24;

    private static final MethodHandle FCNTL = LibC.downcall("fcntl",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), LibC.ERRNO, Linker.Option.firstVariadicArg(2));

    private final Arena arena = Arena.ofShared();
    private final MemorySegment errno = LibC.newErrnoState(arena);
    private final MemorySegment flock = arena.allocate(FLOCK_LENGTH, 8);
    private final int fd;

    private FileLocks(final int fd)
    {
        this.fd = fd;
    }

    /**
     * Open a file (which must exist) for locking.
     *
     * @param path the file.
     * @return its locks; {@link #close()} drops every one held.
     * @throws IllegalStateException with the kernel's errno if the file cannot be opened.
     */
    public static FileLocks open(final String path)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment openErrno = LibC.newErrnoState(scratch);
            final int fd = LibC.open(openErrno, scratch.allocateFrom(path), O_RDWR | LibC.O_CLOEXEC);
            if (fd < 0)
            {
                throw new IllegalStateException("open " + path + " failed: " + LibC.describe(LibC.errno(openErrno)));
            }
            return new FileLocks(fd);
        }
    }

    /**
     * Take the lock on one byte unless another open file description holds it.
     *
     * @param offset the byte.
     * @return true if this description holds it now (also if it already did).
     * @throws IllegalStateException on an error other than the lock being held elsewhere.
     */
    public boolean tryLock(final long offset)
    {
        final int result = call(F_OFD_SETLK, F_WRLCK, offset);
        if (0 == result)
        {
            return true;
        }
        final int error = LibC.errno(errno);
        if (LibC.EAGAIN == error || LibC.EACCES == error)
        {
            return false;
        }
        throw new IllegalStateException("fcntl(F_OFD_SETLK) failed: " + LibC.describe(error));
    }

    /**
     * Take a shared lock on one byte, waiting while another open file description holds it exclusively. Shared locks
     * of several descriptions coexist; an exclusive one ({@link #tryLock}) is granted only when no other description
     * holds any, and a description's own shared lock becomes exclusive that way.
     *
     * @param offset the byte.
     * @throws IllegalStateException with the kernel's errno if the lock cannot be taken.
     */
    public void lockShared(final long offset)
    {
        int result;
        while (0 != (result = call(F_OFD_SETLKW, F_RDLCK, offset)) && LibC.EINTR == LibC.errno(errno))
        {
            // A signal ended the wait: wait again.
        }
        if (0 != result)
        {
            throw new IllegalStateException("fcntl(F_OFD_SETLKW) failed: " + LibC.describe(LibC.errno(errno)));
        }
    }

    /**
     * {@return the inode of the file this description has open, which stays the same after the file is unlinked or
     * another file takes its name}
     *
     * @throws IOException if it cannot be read.
     */
    public long inode() throws IOException
    {
        return (long)Files.getAttribute(Path.of("/proc/self/fd/" + fd), "unix:ino");
    }

    /**
     * Drop this description's lock on one byte, if it holds one.
     *
     * @param offset the byte.
     */
    public void unlock(final long offset)
    {
        call(F_OFD_SETLK, F_UNLCK, offset);
    }

    /**
     * @param offset the byte.
     * @return true if another open file description holds the lock on it.
     */
    public boolean lockedElsewhere(final long offset)
    {
        if (0 != call(F_OFD_GETLK, F_WRLCK, offset))
        {
            throw new IllegalStateException("fcntl(F_OFD_GETLK) failed: " + LibC.describe(LibC.errno(errno)));
        }
        return F_UNLCK != flock.get(JAVA_SHORT, 0);
    }

    private int call(final int command, final short type, final long offset)
    {
        flock.set(JAVA_SHORT, 0, type);
        flock.set(JAVA_SHORT, 2, SEEK_SET);
        flock.set(JAVA_LONG, L_START_OFFSET, offset);
        flock.set(JAVA_LONG, L_LEN_OFFSET, 1L);
        flock.set(JAVA_INT, L_PID_OFFSET, 0);
        try
        {
            return (int)FCNTL.invokeExact(errno, fd, command, flock);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * Close the descriptor: every lock it held is dropped.
     */
    @Override
    public void close()
    {
        LibC.close(fd);
        arena.close();
    }
}
