package dev.homa.bench.load;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The calling thread's timer slack ({@code prctl(PR_SET_TIMERSLACK)}): Linux lets a timed sleep of a normal thread
 * (epoll, futex) end up to 50 us late, which would add that much to every open-loop request whose arrival a client
 * slept for. Each load client thread that sleeps until an arrival sets it to 1 ns, whatever its transport, so the
 * transports are measured from arrivals on time.
 */
final class TimerSlack
{
    private static final int PR_SET_TIMERSLACK = 29;
    private static final MethodHandle PRCTL = Linker.nativeLinker().downcallHandle(
        Linker.nativeLinker().defaultLookup().find("prctl").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
        Linker.Option.firstVariadicArg(1));

    private TimerSlack()
    {
    }

    /**
     * Make the calling thread's timed sleeps end on time.
     *
     * @throws IllegalStateException if the kernel refuses.
     */
    static void minimise()
    {
        final int result;
        try
        {
            result = (int)PRCTL.invokeExact(PR_SET_TIMERSLACK, 1L);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException("prctl(PR_SET_TIMERSLACK) failed", ex);
        }
        if (0 != result)
        {
            throw new IllegalStateException("prctl(PR_SET_TIMERSLACK) returned " + result);
        }
    }
}
