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
}
