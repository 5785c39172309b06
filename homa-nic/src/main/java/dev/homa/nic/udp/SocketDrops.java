package dev.homa.nic.udp;

import dev.homa.nic.linux.LibC;
import io.netty.channel.epoll.EpollDatagramChannel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Reads the kernel's count of datagrams a socket dropped for a full receive buffer ({@code sk_drops}, the number
 * {@code SO_RXQ_OVFL} would attach to each datagram) with {@code getsockopt(SO_MEMINFO)}, into memory of its own:
 * the engine refreshes the driver's counters every few milliseconds on the protocol thread, and a read allocates
 * nothing, compiled or not. Not thread-safe: one per reading thread, or under a lock.
 */
final class SocketDrops
{
    private static final int SO_MEMINFO = 55;
    private static final int SK_MEMINFO_VARS = 9;
    private static final int SK_MEMINFO_DROPS = 8;

    private final MemorySegment meminfo;
    private final MemorySegment length;

    SocketDrops()
    {
        final Arena arena = Arena.ofAuto();
        meminfo = arena.allocate((long)SK_MEMINFO_VARS * Integer.BYTES, Integer.BYTES);
        length = arena.allocate(JAVA_INT);
    }

    /**
     * @param channel the socket.
     * @return its drop count, 0 if the kernel does not say (the socket closed meanwhile).
     */
    long read(final EpollDatagramChannel channel)
    {
        length.set(JAVA_INT, 0, SK_MEMINFO_VARS * Integer.BYTES);
        if (0 != LibC.getsockoptNoErrno(
            channel.fd().intValue(), LibC.SOL_SOCKET, SO_MEMINFO, meminfo.address(), length.address()))
        {
            return 0;
        }
        return meminfo.get(JAVA_INT, (long)SK_MEMINFO_DROPS * Integer.BYTES) & 0xFFFF_FFFFL;
    }
}
