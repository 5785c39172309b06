package dev.homa.test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The system calls of {@link NetnsPair}, bound through the FFM API: {@code setns(2)} and the ethtool ioctl. Loaded
 * lazily, so that a JVM without native access can still probe. The test support depends on no Homa module, so it
 * binds these few calls itself rather than through the drivers' binding set.
 */
final class NetnsCalls
{
    private static final int CLONE_NEWNET = 0x4000_0000;
    private static final int O_RDONLY_CLOEXEC = 0x8_0000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final MethodHandle OPEN = LINKER.downcallHandle(
        LINKER.defaultLookup().findOrThrow("open"),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), ERRNO);
    private static final MethodHandle SETNS = LINKER.downcallHandle(
        LINKER.defaultLookup().findOrThrow("setns"),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), ERRNO);
    private static final MethodHandle CLOSE = LINKER.downcallHandle(
        LINKER.defaultLookup().findOrThrow("close"),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private static final MethodHandle SOCKET = LINKER.downcallHandle(
        LINKER.defaultLookup().findOrThrow("socket"),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT), ERRNO);
    private static final MethodHandle IOCTL = LINKER.downcallHandle(
        LINKER.defaultLookup().findOrThrow("ioctl"),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
            ValueLayout.ADDRESS), ERRNO, Linker.Option.firstVariadicArg(2));
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM_CLOEXEC = 2 | 0x8_0000;
    private static final long SIOCETHTOOL = 0x8946;
    private static final int ETHTOOL_STXCSUM = 0x17;
    private static final int IFREQ_SIZE = 40;
    private static final int IFR_DATA_OFFSET = 16;

    private NetnsCalls()
    {
    }

    static void transmitChecksumOffload(final String ifName, final boolean enabled)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            final int fd = (int)SOCKET.invokeExact(state, AF_INET, SOCK_DGRAM_CLOEXEC, 0);
            if (fd < 0)
            {
                throw new IllegalStateException("socket failed, errno " + errno(state));
            }
            try
            {
                // struct ethtool_value { u32 cmd; u32 data; }, named by ifreq.ifr_data.
                final MemorySegment value = arena.allocate(8, 8);
                value.set(ValueLayout.JAVA_INT, 0, ETHTOOL_STXCSUM);
                value.set(ValueLayout.JAVA_INT, 4, enabled ? 1 : 0);
                final MemorySegment ifreq = arena.allocate(IFREQ_SIZE, 8);
                ifreq.setString(0, ifName);
                ifreq.set(ValueLayout.ADDRESS, IFR_DATA_OFFSET, value);
                final int rc = (int)IOCTL.invokeExact(state, fd, SIOCETHTOOL, ifreq);
                if (0 != rc)
                {
                    throw new IllegalStateException("ETHTOOL_STXCSUM on " + ifName + " failed, errno " +
                        errno(state));
                }
            }
            finally
            {
                final int ignore = (int)CLOSE.invokeExact(fd);
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

    static void check()
    {
        // Class initialisation above does the work: it fails without native access.
    }

    static void enter(final String ns)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            final MemorySegment path = arena.allocateFrom("/var/run/netns/" + ns);
            final int fd = (int)OPEN.invokeExact(state, path, O_RDONLY_CLOEXEC);
            if (fd < 0)
            {
                throw new IllegalStateException("open /var/run/netns/" + ns + " failed, errno " + errno(state));
            }
            try
            {
                final int rc = (int)SETNS.invokeExact(state, fd, CLONE_NEWNET);
                if (0 != rc)
                {
                    throw new IllegalStateException("setns(" + ns + ") failed, errno " + errno(state));
                }
            }
            finally
            {
                final int ignore = (int)CLOSE.invokeExact(fd);
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

    private static int errno(final MemorySegment state)
    {
        return state.get(ValueLayout.JAVA_INT, Linker.Option.captureStateLayout().byteOffset(
            MemoryLayout.PathElement.groupElement("errno")));
    }
}
