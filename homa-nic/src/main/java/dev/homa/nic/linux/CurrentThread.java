package dev.homa.nic.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * How the kernel schedules the calling thread, and only it: the CPU it may run on ({@code sched_setaffinity(2)} with
 * pid 0) and how late its timed sleeps may end ({@code prctl(PR_SET_TIMERSLACK)}, a per-thread value).
 */
public final class CurrentThread
{
    // <linux/prctl.h>
    private static final int PR_SET_TIMERSLACK = 29;
    private static final int MAX_CPU = Long.SIZE - 1;

    private static final MethodHandle SCHED_SETAFFINITY = LibC.downcall("sched_setaffinity",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), LibC.ERRNO);
    private static final MethodHandle PRCTL = LibC.downcall("prctl",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), LibC.ERRNO, Linker.Option.firstVariadicArg(1));

    private CurrentThread()
    {
    }

    /**
     * Let the calling thread run on one CPU only.
     *
     * @param cpu CPU number, 0..63 (a one-word CPU mask).
     * @throws IllegalArgumentException if the CPU is out of that range.
     * @throws IllegalStateException    with the kernel's errno if it refuses (no such CPU, or not allowed).
     */
    public static void pinTo(final int cpu)
    {
        if (cpu < 0 || cpu > MAX_CPU)
        {
            throw new IllegalArgumentException("CPU out of range 0.." + MAX_CPU + ": " + cpu);
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment errno = LibC.newErrnoState(arena);
            final MemorySegment mask = arena.allocate(JAVA_LONG);
            mask.set(JAVA_LONG, 0, 1L << cpu);
            if (0 != (int)SCHED_SETAFFINITY.invokeExact(errno, 0, JAVA_LONG.byteSize(), mask))
            {
                throw new IllegalStateException("sched_setaffinity(CPU " + cpu + ") failed: " +
                    LibC.describe(LibC.errno(errno)));
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
     * Make the calling thread's timed sleeps (epoll, futex) end on time: Linux lets those of a normal thread end up
     * to 50 us late by default, so that it can wake several together; this sets the slack to 1 ns.
     *
     * @throws IllegalStateException with the kernel's errno if it refuses.
     */
    public static void minimiseTimerSlack()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment errno = LibC.newErrnoState(arena);
            if (0 != (int)PRCTL.invokeExact(errno, PR_SET_TIMERSLACK, 1L))
            {
                throw new IllegalStateException("prctl(PR_SET_TIMERSLACK) failed: " +
                    LibC.describe(LibC.errno(errno)));
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
}
