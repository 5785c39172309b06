package dev.homa.nic.udp;

import dev.homa.nic.linux.MessageVector;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * {@code sendmmsg} and {@code recvmmsg} through the FFM API. Pointers are passed as {@code long} addresses into
 * preallocated native memory so that a call creates no {@link MemorySegment} views: the data path allocates
 * nothing.
 * <p>
 * Each call has two handles. The fast one takes only primitives. The other captures {@code errno}, which the JDK
 * implements by slicing the capture segment on every call - an allocation unless the JIT's escape analysis removes
 * it, which it does not reliably do. A call that returns -1 is therefore repeated once through the capturing handle
 * to learn why; -1 is the exception on these paths (a full socket buffer, a socket with nothing left to read).
 * <p>
 * The message headers the calls take are laid out by {@link MessageVector}.
 */
final class LinuxUdpCalls
{
    private static final int SOCKADDR_IN_LENGTH = MessageVector.SOCKADDR_IN_LENGTH;
    static final int SOL_UDP = 17;
    static final int UDP_SEGMENT = 103;
    static final int UDP_GRO = 104;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_TRUNC = 0x20;
    /** Read without taking the datagram off the socket. */
    static final int MSG_PEEK = 0x2;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final int ECONNREFUSED = 111;
    static final int EIO = 5;
    static final int EINVAL = 22;
    static final int EMSGSIZE = 90;

    private static final MethodHandle SENDTO;
    private static final MethodHandle SENDMMSG;
    private static final MethodHandle RECVMMSG;
    private static final MethodHandle SENDTO_ERRNO;
    private static final MethodHandle SENDMMSG_ERRNO;
    private static final MethodHandle RECVMMSG_ERRNO;
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    static
    {
        final Linker linker = Linker.nativeLinker();
        final Linker.Option errno = Linker.Option.captureCallState("errno");
        final MemorySegment sendmmsg = linker.defaultLookup().findOrThrow("sendmmsg");
        final MemorySegment recvmmsg = linker.defaultLookup().findOrThrow("recvmmsg");
        final MemorySegment sendto = linker.defaultLookup().findOrThrow("sendto");
        final FunctionDescriptor send = FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT);
        final FunctionDescriptor receive = FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG);
        final FunctionDescriptor sendtoDescriptor = FunctionDescriptor.of(
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
        SENDMMSG = linker.downcallHandle(sendmmsg, send);
        SENDTO = linker.downcallHandle(sendto, sendtoDescriptor);
        RECVMMSG = linker.downcallHandle(recvmmsg, receive);
        SENDMMSG_ERRNO = linker.downcallHandle(sendmmsg, send, errno);
        SENDTO_ERRNO = linker.downcallHandle(sendto, sendtoDescriptor, errno);
        RECVMMSG_ERRNO = linker.downcallHandle(recvmmsg, receive, errno);
    }

    private LinuxUdpCalls()
    {
    }

    /**
     * @return layout of the errno capture segment each caller preallocates.
     */
    static StructLayout captureLayout()
    {
        return CAPTURE_LAYOUT;
    }

    /**
     * @param captureState from {@link #captureLayout()}.
     * @param fd           socket.
     * @param messages     address of the first {@code struct mmsghdr}.
     * @param count        messages.
     * @param flags        MSG_* flags.
     * @return messages sent, or -1 with errno in {@code captureState}.
     */
    static int sendmmsg(
        final MemorySegment captureState, final int fd, final long messages, final int count, final int flags)
    {
        try
        {
            // Without errno first: a capturing downcall slices the capture segment on every call, an allocation
            // that only C2's escape analysis removes, and only when it inlines the whole call (it does not always).
            // A failed sendmmsg took nothing, so the capturing repeat retries the batch and may simply succeed.
            final int sent = (int)SENDMMSG.invokeExact(fd, messages, count, flags);
            return sent >= 0 ? sent : (int)SENDMMSG_ERRNO.invokeExact(captureState, fd, messages, count, flags);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("sendmmsg downcall failed", ex);
        }
    }

    /**
     * One datagram: {@code sendto} skips what {@code sendmmsg} costs for a vector of one (copying and checking the
     * message header), about 0.1-0.2 us per call on this kernel.
     *
     * @param captureState from {@link #captureLayout()}.
     * @param fd           socket.
     * @param buffer       address of the datagram.
     * @param length       its length.
     * @param flags        MSG_* flags.
     * @param address      address of the destination {@code struct sockaddr_in}.
     * @return bytes sent, or -1 with errno in {@code captureState}.
     */
    static long sendto(
        final MemorySegment captureState, final int fd, final long buffer, final long length, final int flags,
        final long address)
    {
        try
        {
            // Without errno first, as sendmmsg; a failed sendto sent nothing.
            final long sent = (long)SENDTO.invokeExact(fd, buffer, length, flags, address, SOCKADDR_IN_LENGTH);
            return sent >= 0 ? sent :
                (long)SENDTO_ERRNO.invokeExact(captureState, fd, buffer, length, flags, address, SOCKADDR_IN_LENGTH);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("sendto downcall failed", ex);
        }
    }

    /**
     * Without errno: on a busy-polled socket a failure is nearly always {@code EAGAIN} (empty), and neither a
     * second call to learn it (an empty poll would cost two system calls) nor a capturing call (an allocation
     * unless C2 inlines it whole) suits every poll; callers sample errno with {@link #recvmmsg(MemorySegment, int,
     * long, int, int)} now and then.
     *
     * @param fd       socket.
     * @param messages address of the first {@code struct mmsghdr}.
     * @param count    messages.
     * @param flags    MSG_* flags.
     * @return messages received, or -1.
     */
    static int recvmmsg(final int fd, final long messages, final int count, final int flags)
    {
        try
        {
            return (int)RECVMMSG.invokeExact(fd, messages, count, flags, 0L);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("recvmmsg downcall failed", ex);
        }
    }

    /**
     * @param captureState from {@link #captureLayout()}.
     * @param fd           socket.
     * @param messages     address of the first {@code struct mmsghdr}.
     * @param count        messages.
     * @param flags        MSG_* flags.
     * @return messages received, or -1 with errno in {@code captureState}.
     */
    static int recvmmsg(
        final MemorySegment captureState, final int fd, final long messages, final int count, final int flags)
    {
        try
        {
            return (int)RECVMMSG_ERRNO.invokeExact(captureState, fd, messages, count, flags, 0L);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("recvmmsg downcall failed", ex);
        }
    }

    /**
     * @param captureState after a failed call.
     * @return its errno.
     */
    static int errno(final MemorySegment captureState)
    {
        return (int)ERRNO.get(captureState, 0L);
    }
}
