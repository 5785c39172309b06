package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Integer socket options, set once while a socket is prepared.
 */
final class SocketOptions
{
    private SocketOptions()
    {
    }

    /**
     * @return true if the kernel took the option; errno in {@code errno} if not.
     */
    static boolean trySetInt(
        final Arena arena, final MemorySegment errno, final int socket, final int level, final int option,
        final int value)
    {
        final MemorySegment intValue = arena.allocate(4, 4);
        intValue.set(JAVA_INT, 0, value);
        return 0 == LibC.setsockopt(errno, socket, level, option, intValue, 4);
    }

    /**
     * @throws RawEthernetException naming the option if the kernel refuses it.
     */
    static void setInt(
        final Arena arena, final MemorySegment errno, final int socket, final int level, final int option,
        final int value, final String name)
    {
        if (!trySetInt(arena, errno, socket, level, option, value))
        {
            throw new RawEthernetException("setsockopt(" + name + ", " + value + ") failed: " +
                LibC.describe(LibC.errno(errno)));
        }
    }
}
