package dev.homa.bench.driver;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few Linux system calls the benchmark floors need, through the FFM API: sockets, {@code send}/{@code recv}
 * without blocking, socket options, an interface ioctl and {@code setns(2)}. Every call captures {@code errno} into a
 * caller-owned segment (see {@link #newErrnoState(Arena)}) so that the data path allocates nothing.
 * <p>
 * Deliberately separate from homa-nic's private bindings: the floor must not share code with the driver it judges.
 */
public final class LinuxNet
{
    /** IPv4 address family. */
    public static final int AF_INET = 2;
    /** Packet socket address family. */
    public static final int AF_PACKET = 17;
    /** Raw socket type. */
    public static final int SOCK_RAW = 3;
    /** Close on exec. */
    public static final int SOCK_CLOEXEC = 0x8_0000;
    /** All Ethernet protocols, host order. */
    public static final int ETH_P_ALL = 0x0003;
    /** Socket level. */
    public static final int SOL_SOCKET = 1;
    /** Packet socket level. */
    public static final int SOL_PACKET = 263;
    /** Receive buffer size. */
    public static final int SO_RCVBUF = 8;
    /** Attach a classic BPF filter. */
    public static final int SO_ATTACH_FILTER = 26;
    /** Send straight to the device. */
    public static final int PACKET_QDISC_BYPASS = 20;
    /** Do not loop our own transmissions back to the tap. */
    public static final int PACKET_IGNORE_OUTGOING = 23;
    /** Non-blocking for one call. */
    public static final int MSG_DONTWAIT = 0x40;
    /** Try again. */
    public static final int EAGAIN = 11;
    /** Interface index by name. */
    public static final long SIOCGIFINDEX = 0x8933;
    /** Size of struct ifreq. */
    public static final int IFREQ_SIZE = 40;
    /** Network namespace type for setns. */
    public static final int CLONE_NEWNET = 0x4000_0000;
    /** O_RDONLY | O_CLOEXEC. */
    public static final int O_RDONLY_CLOEXEC = 0x8_0000;
    /** Ring layout version option. */
    public static final int PACKET_VERSION = 10;
    /** Receive ring option. */
    public static final int PACKET_RX_RING = 5;
    /** Frame-per-slot ring layout. */
    public static final int TPACKET_V2 = 1;
    /** PROT_READ | PROT_WRITE. */
    public static final int PROT_READ_WRITE = 3;
    /** MAP_SHARED | MAP_POPULATE. */
    public static final int MAP_SHARED_POPULATE = 0x1 | 0x8000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final long ERRNO_OFFSET = Linker.Option.captureStateLayout().byteOffset(
        MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle SOCKET = errnoHandle("socket",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = errnoHandle("bind",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = errnoHandle("setsockopt",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle IOCTL = errnoHandle("ioctl",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle SEND = errnoHandle("send",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle RECV = errnoHandle("recv",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle OPEN = errnoHandle("open",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETNS = errnoHandle("setns",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle MMAP = errnoHandle("mmap",
        FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = errnoHandle("munmap",
        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle SCHED_SETAFFINITY = errnoHandle("sched_setaffinity",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LIBC.findOrThrow("close"),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(LIBC.findOrThrow("strerror"),
        FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private LinuxNet()
    {
    }

    /**
     * @param arena owner of the segment.
     * @return a segment that receives errno after each call.
     */
    public static MemorySegment newErrnoState(final Arena arena)
    {
        return arena.allocate(Linker.Option.captureStateLayout());
    }

    /**
     * @param state segment from {@link #newErrnoState(Arena)}.
     * @return errno of the last call that captured into it.
     */
    public static int errno(final MemorySegment state)
    {
        return state.get(JAVA_INT, ERRNO_OFFSET);
    }

    /**
     * @param error an errno value.
     * @return the C library's text for it, with the number.
     */
    public static String describe(final int error)
    {
        try
        {
            final MemorySegment text = (MemorySegment)STRERROR.invokeExact(error);
            return text.reinterpret(256).getString(0) + " (errno " + error + ")";
        }
        catch (final Throwable ex)
        {
            return "errno " + error;
        }
    }

    /**
     * @return socket(2) result.
     */
    static int socket(final MemorySegment state, final int domain, final int type, final int protocol)
    {
        try
        {
            return (int)SOCKET.invokeExact(state, domain, type, protocol);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static int bind(final MemorySegment state, final int fd, final MemorySegment address, final int length)
    {
        try
        {
            return (int)BIND.invokeExact(state, fd, address, length);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static int setsockopt(
        final MemorySegment state, final int fd, final int level, final int option, final MemorySegment value,
        final int length)
    {
        try
        {
            return (int)SETSOCKOPT.invokeExact(state, fd, level, option, value, length);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static int ioctl(final MemorySegment state, final int fd, final long request, final MemorySegment argument)
    {
        try
        {
            return (int)IOCTL.invokeExact(state, fd, request, argument);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static long send(final MemorySegment state, final int fd, final long address, final long length, final int flags)
    {
        try
        {
            return (long)SEND.invokeExact(state, fd, address, length, flags);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static long recv(final MemorySegment state, final int fd, final long address, final long length, final int flags)
    {
        try
        {
            return (long)RECV.invokeExact(state, fd, address, length, flags);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    /**
     * @return the mapped address, or -1 on failure.
     */
    static long mmap(final MemorySegment state, final long length, final int prot, final int flags, final int fd)
    {
        try
        {
            return (long)MMAP.invokeExact(state, 0L, length, prot, flags, fd, 0L);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static void munmap(final MemorySegment state, final long address, final long length)
    {
        try
        {
            final int ignore = (int)MUNMAP.invokeExact(state, address, length);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    static void close(final int fd)
    {
        if (fd < 0)
        {
            return;
        }
        try
        {
            final int ignore = (int)CLOSE.invokeExact(fd);
        }
        catch (final Throwable ex)
        {
            throw rethrow(ex);
        }
    }

    /**
     * Move the calling thread (only it) into a named network namespace with {@code setns(2)}.
     *
     * @param namespace name under /var/run/netns.
     * @throws IllegalStateException if the namespace cannot be opened or entered.
     */
    public static void enterNamespace(final String namespace)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = newErrnoState(arena);
            final MemorySegment path = arena.allocateFrom("/var/run/netns/" + namespace);
            final int fd = (int)OPEN.invokeExact(state, path, O_RDONLY_CLOEXEC);
            if (fd < 0)
            {
                throw new IllegalStateException("open /var/run/netns/" + namespace + " failed: " +
                    describe(errno(state)));
            }
            try
            {
                if (0 != (int)SETNS.invokeExact(state, fd, CLONE_NEWNET))
                {
                    throw new IllegalStateException("setns(" + namespace + ") failed: " + describe(errno(state)));
                }
            }
            finally
            {
                close(fd);
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
     * Pin the calling thread (only it) to one CPU with {@code sched_setaffinity(2)}.
     *
     * @param cpu CPU number, 0..63.
     * @throws IllegalStateException if the kernel refuses.
     */
    public static void pinCurrentThread(final int cpu)
    {
        if (cpu < 0 || cpu > 63)
        {
            throw new IllegalArgumentException("CPU out of range 0..63: " + cpu);
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = newErrnoState(arena);
            final MemorySegment mask = arena.allocate(JAVA_LONG);
            mask.set(JAVA_LONG, 0, 1L << cpu);
            if (0 != (int)SCHED_SETAFFINITY.invokeExact(state, 0, 8L, mask))
            {
                throw new IllegalStateException("sched_setaffinity(CPU " + cpu + ") failed: " +
                    describe(errno(state)));
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
     * Attach a classic BPF program ({@code {code, jt, jf, k}} rows) to a socket.
     *
     * @param arena   owner of the program memory (the kernel copies it, so any arena will do).
     * @param state   errno segment.
     * @param fd      socket.
     * @param program instructions.
     * @return 0 on success, else errno.
     */
    static int attachFilter(final Arena arena, final MemorySegment state, final int fd, final int[][] program)
    {
        final MemorySegment instructions = arena.allocate(8L * program.length, 8);
        for (int i = 0; i < program.length; i++)
        {
            final int[] insn = program[i];
            instructions.set(ValueLayout.JAVA_SHORT, i * 8L, (short)insn[0]);
            instructions.set(ValueLayout.JAVA_BYTE, i * 8L + 2, (byte)insn[1]);
            instructions.set(ValueLayout.JAVA_BYTE, i * 8L + 3, (byte)insn[2]);
            instructions.set(JAVA_INT, i * 8L + 4, insn[3]);
        }
        final MemorySegment fprog = arena.allocate(16, 8);
        fprog.set(ValueLayout.JAVA_SHORT, 0, (short)program.length);
        fprog.set(ADDRESS, 8, instructions);
        return 0 == setsockopt(state, fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, 16) ? 0 : errno(state);
    }

    private static MethodHandle errnoHandle(final String name, final FunctionDescriptor descriptor)
    {
        return LINKER.downcallHandle(LIBC.findOrThrow(name), descriptor, ERRNO);
    }

    private static RuntimeException rethrow(final Throwable ex)
    {
        if (ex instanceof RuntimeException runtime)
        {
            return runtime;
        }
        if (ex instanceof Error error)
        {
            throw error;
        }
        return new IllegalStateException(ex);
    }
}
