package dev.homa.nic.udp;

import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.SocketOptions;
import io.netty.channel.unix.Socket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A UDP socket's receive and send buffers. The kernel caps {@code SO_RCVBUF} and {@code SO_SNDBUF} at
 * {@code net.core.rmem_max} and {@code wmem_max} (212,992 bytes on a stock Linux) without a word, and the receive
 * buffer is the only queue a userspace transport has in front of it: datagrams that overflow it are dropped, and a
 * Homa receiver then asks for them again. So each size is asked for with {@code SO_RCVBUFFORCE} /
 * {@code SO_SNDBUFFORCE} first, which a process with {@code CAP_NET_ADMIN} may set past the cap, then with the
 * plain option, and the size the kernel gave is read back (the kernel doubles the value set, for its own overhead).
 */
final class SocketBuffers
{
    private SocketBuffers()
    {
    }

    /**
     * Set both buffers.
     *
     * @param socket       the socket.
     * @param receiveBytes receive buffer wanted.
     * @param sendBytes    send buffer wanted.
     * @return the receive buffer the kernel reports afterwards (its accounting: twice what it took).
     * @throws IOException if even the plain options fail.
     */
    static int apply(final Socket socket, final int receiveBytes, final int sendBytes) throws IOException
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment errno = LibC.newErrnoState(arena);
            set(arena, errno, socket.intValue(), LibC.SO_RCVBUFFORCE, LibC.SO_RCVBUF, receiveBytes);
            set(arena, errno, socket.intValue(), LibC.SO_SNDBUFFORCE, LibC.SO_SNDBUF, sendBytes);
        }
        return socket.getIntOpt(LibC.SOL_SOCKET, LibC.SO_RCVBUF);
    }

    private static void set(
        final Arena arena, final MemorySegment errno, final int fd, final int forced, final int plain, final int bytes)
        throws IOException
    {
        if (!SocketOptions.trySetBuffer(arena, errno, fd, forced, plain, bytes))
        {
            throw new IOException("setsockopt of a " + bytes + "-byte socket buffer failed: " +
                LibC.describe(LibC.errno(errno)));
        }
    }
}
