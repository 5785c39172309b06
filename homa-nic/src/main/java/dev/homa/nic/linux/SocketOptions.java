package dev.homa.nic.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Integer socket options, set while a socket is prepared (each value is allocated in the caller's arena).
 */
public final class SocketOptions
{
    private SocketOptions()
    {
    }

    /**
     * @param arena  owns the option's value.
     * @param errno  errno capture state.
     * @param socket the socket.
     * @param level  {@code SOL_*}.
     * @param option the option.
     * @param value  its value.
     * @return true if the kernel took it; its errno in {@code errno} if not.
     */
    public static boolean trySetInt(
        final Arena arena, final MemorySegment errno, final int socket, final int level, final int option,
        final int value)
    {
        final MemorySegment intValue = arena.allocate(4, 4);
        intValue.set(JAVA_INT, 0, value);
        return 0 == LibC.setsockopt(errno, socket, level, option, intValue, 4);
    }

    /**
     * Size a socket buffer past {@code net.core.rmem_max} / {@code wmem_max} where the process may
     * ({@code CAP_NET_ADMIN} lets the {@code ...FORCE} option through), else up to that cap with the plain option,
     * which the kernel applies silently.
     *
     * @param arena  owns the option's value.
     * @param errno  errno capture state.
     * @param socket the socket.
     * @param forced {@code SO_RCVBUFFORCE} or {@code SO_SNDBUFFORCE}.
     * @param plain  {@code SO_RCVBUF} or {@code SO_SNDBUF}.
     * @param bytes  the size wanted.
     * @return true if either option was taken; the plain one's errno in {@code errno} if not.
     */
    public static boolean trySetBuffer(
        final Arena arena, final MemorySegment errno, final int socket, final int forced, final int plain,
        final int bytes)
    {
        return trySetInt(arena, errno, socket, LibC.SOL_SOCKET, forced, bytes) ||
            trySetInt(arena, errno, socket, LibC.SOL_SOCKET, plain, bytes);
    }
}
