package dev.homa.nic.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A thread's sleep until one of a few descriptors is readable or another thread rings: {@code ppoll(2)} over them
 * and an {@code eventfd(2)} that {@link #wakeup()} writes to. The waiting thread allocates nothing: the poll set, the
 * timeout and the counter buffers are native memory made once, and the calls take raw addresses.
 */
public final class ReadableWait implements AutoCloseable
{
    private static final int POLLIN = 0x1;
    private static final int POLLFD_LENGTH = 8;
    private static final int EFD_CLOEXEC = 0x8_0000;
    private static final int EFD_NONBLOCK = 0x800;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private static final MethodHandle EVENTFD = LibC.downcall("eventfd",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), LibC.ERRNO);
    private static final MethodHandle PPOLL = LibC.downcall("ppoll",
        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle READ = LibC.downcall("read",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle WRITE = LibC.downcall("write",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));

    private final Arena arena = Arena.ofShared();
    private final int eventFd;
    private final int count;
    private final MemorySegment set;
    private final MemorySegment times;
    private final long pollSet;
    private final long timeout;
    private final long drained;
    private final long one;
    private boolean closed;

    private ReadableWait(final int eventFd, final int[] fds)
    {
        this.eventFd = eventFd;
        this.count = fds.length + 1;
        this.set = arena.allocate((long)POLLFD_LENGTH * count, 8);
        for (int i = 0; i < count; i++)
        {
            set.set(JAVA_INT, (long)i * POLLFD_LENGTH, i < fds.length ? fds[i] : eventFd);
            set.set(JAVA_SHORT, (long)i * POLLFD_LENGTH + 4, (short)POLLIN);
        }
        this.pollSet = set.address();
        this.times = arena.allocate(16, 8);
        this.timeout = times.address();
        this.drained = arena.allocate(8, 8).address();
        final MemorySegment counter = arena.allocate(8, 8);
        counter.set(JAVA_LONG, 0, 1L);
        this.one = counter.address();
    }

    /**
     * @param fds the descriptors to wait on (kept open by the caller until {@link #close()}).
     * @return a wait on them and on a new eventfd.
     * @throws IllegalStateException with the kernel's errno if the eventfd cannot be made.
     */
    public static ReadableWait on(final int... fds)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment errno = LibC.newErrnoState(scratch);
            final int fd = eventFd(errno);
            if (fd < 0)
            {
                throw new IllegalStateException("eventfd failed: " + LibC.describe(LibC.errno(errno)));
            }
            return new ReadableWait(fd, fds.clone());
        }
    }

    private static int eventFd(final MemorySegment errno)
    {
        try
        {
            return (int)EVENTFD.invokeExact(errno, 0, EFD_CLOEXEC | EFD_NONBLOCK);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * Sleep until a descriptor is readable, {@link #wakeup()} rings, or the time is up; a ring that came before the
     * call ends it at once. On the one waiting thread.
     *
     * @param maxWaitNs longest sleep.
     * @return how many descriptors (the wake-up's included) are ready; 0 if the time ran out or a signal came.
     */
    public int await(final long maxWaitNs)
    {
        final long waitNs = Math.max(0, maxWaitNs);
        times.set(JAVA_LONG, 0, waitNs / NANOS_PER_SECOND);
        times.set(JAVA_LONG, 8, waitNs % NANOS_PER_SECOND);
        try
        {
            final int ready = (int)PPOLL.invokeExact(pollSet, (long)count, timeout, 0L);
            if (ready > 0 && 0 != (set.get(JAVA_SHORT, (long)(count - 1) * POLLFD_LENGTH + 6) & POLLIN))
            {
                final long ignore = (long)READ.invokeExact(eventFd, drained, 8L);
            }
            return Math.max(0, ready);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * End a sleep in {@link #await}, or make the next one return at once. Safe from any thread; nothing after
     * {@link #close()}.
     */
    public synchronized void wakeup()
    {
        if (!closed)
        {
            try
            {
                final long ignore = (long)WRITE.invokeExact(eventFd, one, 8L);
            }
            catch (final Throwable ex)
            {
                throw new IllegalStateException(ex);
            }
        }
    }

    /**
     * Close the eventfd (not the descriptors waited on).
     */
    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            LibC.close(eventFd);
            arena.close();
        }
    }
}
