package dev.homa.nic.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The libc calls the Linux drivers make, bound once through the FFM API: the one binding set of the project. Every
 * call that can fail captures {@code errno} into a caller-supplied segment ({@link #newErrnoState(Arena)}), so that
 * it is read without racing other native code on the same thread. Constants are the Linux x86-64/aarch64 values from
 * the uapi headers named beside each group.
 * <p>
 * The data-path calls ({@code sendmmsg}, {@code recvmmsg}, {@code send} and {@code sendto} by raw address) take
 * pointers as {@code long} addresses into preallocated native memory, so that a call creates no
 * {@link MemorySegment} view, and each has a second handle without errno capture ({@code ...NoErrno}). A capturing
 * downcall slices the capture segment on every call, an allocation that only C2's escape analysis removes, and only
 * when it inlines the whole call (it does not always); a call whose arguments are all primitives allocates nothing
 * even before C2 has compiled the caller. Callers therefore make the plain call and repeat a failed one through the
 * capturing handle to learn why: safe for sends, since a failed send took nothing; receivers sample errno that way.
 * The calls a driver makes every few polls ({@code getsockopt} for drop counts, {@code recv} on an ICMP socket) have
 * only the plain handle: their callers treat every failure alike.
 * The message headers these calls take are laid out by {@link MessageVector}.
 */
public final class LibC
{
    // <bits/socket.h>, <linux/if_ether.h>
    public static final int AF_INET = 2;
    public static final int AF_NETLINK = 16;
    public static final int AF_PACKET = 17;
    public static final int IPPROTO_ICMP = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_CLOEXEC = 0x8_0000;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int ETH_P_ALL = 0x0003;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_TRUNC = 0x20;
    /** Read without taking the datagram off the socket. */
    public static final int MSG_PEEK = 0x2;

    // <linux/udp.h>
    public static final int SOL_UDP = 17;
    public static final int UDP_SEGMENT = 103;
    public static final int UDP_GRO = 104;

    // <asm-generic/socket.h>
    public static final int SOL_SOCKET = 1;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_RCVTIMEO = 20;
    public static final int SO_ATTACH_FILTER = 26;
    public static final int SO_SNDBUFFORCE = 32;
    public static final int SO_RCVBUFFORCE = 33;
    /** Where the next {@code MSG_PEEK} read starts: past the datagrams already peeked at, once set. */
    public static final int SO_PEEK_OFF = 42;

    // <linux/if_packet.h>
    public static final int SOL_PACKET = 263;
    public static final int PACKET_RX_RING = 5;
    public static final int PACKET_STATISTICS = 6;
    public static final int PACKET_VERSION = 10;
    public static final int PACKET_FANOUT = 18;
    public static final int PACKET_VNET_HDR = 15;
    public static final int PACKET_QDISC_BYPASS = 20;
    public static final int PACKET_IGNORE_OUTGOING = 23;
    public static final int TPACKET_V2 = 1;
    public static final int TPACKET_V3 = 2;
    public static final int PACKET_OUTGOING = 4;
    public static final int PACKET_HOST = 0;

    // <fcntl.h>, <sched.h>
    public static final int O_RDONLY = 0;
    public static final int O_CLOEXEC = 0x8_0000;
    public static final int CLONE_NEWNET = 0x4000_0000;

    // <sys/mman.h>
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MAP_POPULATE = 0x8000;

    // <linux/sockios.h>
    public static final long SIOCGIFADDR = 0x8915;
    public static final long SIOCGIFBRDADDR = 0x8919;
    public static final long SIOCGIFMTU = 0x8921;
    public static final long SIOCGIFHWADDR = 0x8927;
    public static final long SIOCGIFINDEX = 0x8933;
    public static final long SIOCETHTOOL = 0x8946;
    public static final int IFNAMSIZ = 16;
    public static final int IFREQ_SIZE = 40;

    // <asm-generic/errno-base.h>
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENOPROTOOPT = 92;
    public static final int EMSGSIZE = 90;
    public static final int ENOBUFS = 105;
    public static final int ECONNREFUSED = 111;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    /** Captures {@code errno} into the segment passed as a downcall's first argument. */
    static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final long ERRNO_OFFSET =
        Linker.Option.captureStateLayout().byteOffset(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle SOCKET = bind("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT,
        JAVA_INT));
    private static final MethodHandle BIND = bind("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS,
        JAVA_INT));
    private static final MethodHandle SETSOCKOPT = bind("setsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
        JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    // Read periodically for drop counts: raw addresses and no errno capture, so that a read allocates nothing before
    // C2 has compiled its caller (the callers treat any failure alike).
    private static final MethodHandle GETSOCKOPT_NO_ERRNO = LINKER.downcallHandle(LIBC.findOrThrow("getsockopt"),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MMAP = bind("mmap", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG,
        JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = bind("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    // The message vector is passed as a raw address (a long): the hot path then builds no MemorySegment per call.
    private static final MethodHandle SENDMMSG = bind("sendmmsg", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
        JAVA_LONG, JAVA_INT, JAVA_INT));
    // The same call without errno capture: a downcall whose arguments are all primitives needs no per-call
    // session context, so it allocates nothing even before C2 has compiled the caller. Used on the hot path; only
    // when it fails is the call repeated through SENDMMSG to learn errno reliably.
    private static final MethodHandle SENDMMSG_NO_ERRNO = LINKER.downcallHandle(LIBC.findOrThrow("sendmmsg"),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT));
    // send(2) of one contiguous frame by raw address, without and with errno capture: a one-packet flush (the
    // latency-bound case) skips sendmmsg's message-vector handling.
    private static final MethodHandle SEND_FRAME_NO_ERRNO = LINKER.downcallHandle(LIBC.findOrThrow("send"),
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SEND_FRAME = bind("send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG,
        JAVA_LONG, JAVA_INT));
    // sendto(2) and recvmmsg(2) by raw address, without and with errno capture, as sendmmsg above.
    private static final MethodHandle SENDTO_ADDRESS_NO_ERRNO = LINKER.downcallHandle(LIBC.findOrThrow("sendto"),
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SENDTO_ADDRESS = bind("sendto", FunctionDescriptor.of(JAVA_LONG, JAVA_INT,
        JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle RECVMMSG_NO_ERRNO = LINKER.downcallHandle(LIBC.findOrThrow("recvmmsg"),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle RECVMMSG = bind("recvmmsg", FunctionDescriptor.of(JAVA_INT, JAVA_INT,
        JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle SEND = bind("send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS,
        JAVA_LONG, JAVA_INT));
    private static final MethodHandle RECV_FRAME = bind("recv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG,
        JAVA_LONG, JAVA_INT));
    private static final MethodHandle RECV = bind("recv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS,
        JAVA_LONG, JAVA_INT));
    // recv(2) by raw address without errno capture, for sockets read on every few idle polls.
    private static final MethodHandle RECV_ADDRESS_NO_ERRNO = LINKER.downcallHandle(LIBC.findOrThrow("recv"),
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SENDTO = bind("sendto", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS,
        JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETNS = bind("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LIBC.findOrThrow("close"),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LIBC.findOrThrow("ioctl"),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(LIBC.findOrThrow("strerror"),
        FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private LibC()
    {
    }

    private static MethodHandle bind(final String name, final FunctionDescriptor descriptor)
    {
        return LINKER.downcallHandle(LIBC.findOrThrow(name), descriptor, ERRNO);
    }

    /**
     * For the other bindings of this package, which keep the calls of one concept beside it.
     *
     * @param name       the C library's symbol.
     * @param descriptor its signature.
     * @param options    {@link #ERRNO} to capture errno, and what a variadic function needs.
     * @return the downcall handle.
     */
    static MethodHandle downcall(final String name, final FunctionDescriptor descriptor, final Linker.Option... options)
    {
        return LINKER.downcallHandle(LIBC.findOrThrow(name), descriptor, options);
    }

    /**
     * @param arena owner of the segment.
     * @return a segment for {@code errno} capture, one per calling context.
     */
    public static MemorySegment newErrnoState(final Arena arena)
    {
        return arena.allocate(Linker.Option.captureStateLayout());
    }

    public static int errno(final MemorySegment state)
    {
        return state.get(JAVA_INT, ERRNO_OFFSET);
    }

    public static String strerror(final int errno)
    {
        try
        {
            final MemorySegment text = (MemorySegment)STRERROR.invokeExact(errno);
            return text.reinterpret(256).getString(0);
        }
        catch (final Throwable ex)
        {
            return "errno " + errno;
        }
    }

    public static String describe(final int errno)
    {
        return errnoName(errno) + " (" + strerror(errno) + ")";
    }

    public static String errnoName(final int errno)
    {
        return switch (errno)
        {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case EINTR -> "EINTR";
            case EAGAIN -> "EAGAIN";
            case EACCES -> "EACCES";
            case ENODEV -> "ENODEV";
            case EINVAL -> "EINVAL";
            case ENOPROTOOPT -> "ENOPROTOOPT";
            case EIO -> "EIO";
            case EMSGSIZE -> "EMSGSIZE";
            case ENOBUFS -> "ENOBUFS";
            case ECONNREFUSED -> "ECONNREFUSED";
            default -> "errno " + errno;
        };
    }

    public static int socket(final MemorySegment errno, final int domain, final int type, final int protocol)
    {
        try
        {
            return (int)SOCKET.invokeExact(errno, domain, type, protocol);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static int bind(final MemorySegment errno, final int fd, final MemorySegment address, final int length)
    {
        try
        {
            return (int)BIND.invokeExact(errno, fd, address, length);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static int setsockopt(
        final MemorySegment errno,
        final int fd,
        final int level,
        final int name,
        final MemorySegment value,
        final int length)
    {
        try
        {
            return (int)SETSOCKOPT.invokeExact(errno, fd, level, name, value, length);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * getsockopt without errno, by raw address.
     *
     * @param fd            the socket.
     * @param level         the option's level.
     * @param name          the option.
     * @param valueAddress  where the value goes.
     * @param lengthAddress an {@code int} holding the value's room, set to its length.
     * @return 0, or -1 on failure.
     */
    public static int getsockoptNoErrno(
        final int fd, final int level, final int name, final long valueAddress, final long lengthAddress)
    {
        try
        {
            return (int)GETSOCKOPT_NO_ERRNO.invokeExact(fd, level, name, valueAddress, lengthAddress);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static MemorySegment mmap(
        final MemorySegment errno, final long length, final int prot, final int flags, final int fd)
    {
        try
        {
            return (MemorySegment)MMAP.invokeExact(errno, MemorySegment.NULL, length, prot, flags, fd, 0L);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static int munmap(final MemorySegment errno, final MemorySegment address, final long length)
    {
        try
        {
            return (int)MUNMAP.invokeExact(errno, address, length);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static int sendmmsg(
        final MemorySegment errno, final int fd, final long messagesAddress, final int count, final int flags)
    {
        try
        {
            return (int)SENDMMSG.invokeExact(errno, fd, messagesAddress, count, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * sendmmsg without errno: returns -1 on failure, then repeat the call with
     * {@link #sendmmsg(MemorySegment, int, long, int, int)} (safe: a -1 means not even the first message was taken).
     */
    public static int sendmmsgNoErrno(final int fd, final long messagesAddress, final int count, final int flags)
    {
        try
        {
            return (int)SENDMMSG_NO_ERRNO.invokeExact(fd, messagesAddress, count, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static long sendFrameNoErrno(final int fd, final long address, final long length, final int flags)
    {
        try
        {
            return (long)SEND_FRAME_NO_ERRNO.invokeExact(fd, address, length, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static long sendFrame(
        final MemorySegment errno, final int fd, final long address, final long length, final int flags)
    {
        try
        {
            return (long)SEND_FRAME.invokeExact(errno, fd, address, length, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * sendto without errno, by raw addresses.
     *
     * @return bytes sent, or -1: repeat with {@link #sendto(MemorySegment, int, long, long, int, long, int)}.
     */
    public static long sendtoNoErrno(
        final int fd, final long buffer, final long length, final int flags, final long address,
        final int addressLength)
    {
        try
        {
            return (long)SENDTO_ADDRESS_NO_ERRNO.invokeExact(fd, buffer, length, flags, address, addressLength);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * sendto by raw addresses; {@code address} 0 for a connected socket.
     *
     * @return bytes sent, or -1 with errno in {@code errno}.
     */
    public static long sendto(
        final MemorySegment errno, final int fd, final long buffer, final long length, final int flags,
        final long address, final int addressLength)
    {
        try
        {
            return (long)SENDTO_ADDRESS.invokeExact(errno, fd, buffer, length, flags, address, addressLength);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * recvmmsg without errno and without a timeout.
     *
     * @return messages received, or -1.
     */
    public static int recvmmsgNoErrno(final int fd, final long messagesAddress, final int count, final int flags)
    {
        try
        {
            return (int)RECVMMSG_NO_ERRNO.invokeExact(fd, messagesAddress, count, flags, 0L);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * recvmmsg without a timeout.
     *
     * @return messages received, or -1 with errno in {@code errno}.
     */
    public static int recvmmsg(
        final MemorySegment errno, final int fd, final long messagesAddress, final int count, final int flags)
    {
        try
        {
            return (int)RECVMMSG.invokeExact(errno, fd, messagesAddress, count, flags, 0L);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * recv(2) into raw memory, as {@link #sendFrame} sends from it.
     *
     * @return bytes received, or -1 with errno in {@code errno}.
     */
    public static long recvFrame(
        final MemorySegment errno, final int fd, final long address, final long length, final int flags)
    {
        try
        {
            return (long)RECV_FRAME.invokeExact(errno, fd, address, length, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static long send(
        final MemorySegment errno, final int fd, final MemorySegment buffer, final long length, final int flags)
    {
        try
        {
            return (long)SEND.invokeExact(errno, fd, buffer, length, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static long sendto(
        final MemorySegment errno, final int fd, final MemorySegment buffer, final long length, final int flags,
        final MemorySegment address, final int addressLength)
    {
        try
        {
            return (long)SENDTO.invokeExact(errno, fd, buffer, length, flags, address, addressLength);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static long recv(
        final MemorySegment errno, final int fd, final MemorySegment buffer, final long length, final int flags)
    {
        try
        {
            return (long)RECV.invokeExact(errno, fd, buffer, length, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * recv without errno, by raw address: returns -1 on failure (nothing waiting on a non-blocking socket among
     * the reasons).
     */
    public static long recvNoErrno(final int fd, final long address, final long length, final int flags)
    {
        try
        {
            return (long)RECV_ADDRESS_NO_ERRNO.invokeExact(fd, address, length, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static int ioctl(final MemorySegment errno, final int fd, final long request, final MemorySegment argument)
    {
        try
        {
            return (int)IOCTL.invokeExact(errno, fd, request, argument);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static int open(final MemorySegment errno, final MemorySegment path, final int flags)
    {
        try
        {
            return (int)OPEN.invokeExact(errno, path, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static int setns(final MemorySegment errno, final int fd, final int type)
    {
        try
        {
            return (int)SETNS.invokeExact(errno, fd, type);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static void close(final int fd)
    {
        if (fd >= 0)
        {
            try
            {
                final int ignore = (int)CLOSE.invokeExact(fd);
            }
            catch (final Throwable ex)
            {
                throw new IllegalStateException(ex);
            }
        }
    }

    /**
     * @param value 16-bit value in host order.
     * @return it in network order, as {@code htons} (the hosts we run on are little-endian or big-endian alike).
     */
    public static int htons(final int value)
    {
        return java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.BIG_ENDIAN ?
            value & 0xFFFF : Short.reverseBytes((short)value) & 0xFFFF;
    }
}
