package dev.homa.nic.frame;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.function.IntConsumer;

/**
 * Bytes allocated by the current thread, read through {@code com.sun.management.ThreadMXBean} by method handle:
 * the module under test does not read {@code java.management} at compile time, and a method handle returning a
 * primitive {@code long} does not allocate, so the meter does not disturb what it measures.
 */
public final class AllocationMeter
{
    /** Most batches measured: enough for C2 to compile the action on a loaded machine. */
    public static final int MAX_BATCHES = 50;

    private final Object threadBean;
    private final MethodHandle allocatedBytes;

    /**
     * Look the bean up; fails if the JVM does not offer per-thread allocation counting.
     */
    public AllocationMeter()
    {
        try
        {
            final Class<?> factory = Class.forName("java.lang.management.ManagementFactory");
            threadBean = factory.getMethod("getThreadMXBean").invoke(null);
            final Class<?> beanType = Class.forName("com.sun.management.ThreadMXBean");
            allocatedBytes = MethodHandles.publicLookup()
                .findVirtual(beanType, "getCurrentThreadAllocatedBytes", MethodType.methodType(long.class))
                .asType(MethodType.methodType(long.class, Object.class));
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new IllegalStateException("per-thread allocation counting unavailable", ex);
        }
    }

    /**
     * @return bytes allocated by the calling thread so far.
     */
    public long allocatedBytes()
    {
        try
        {
            return (long)allocatedBytes.invokeExact(threadBean);
        }
        catch (final Throwable ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * Run the action enough to get it compiled, then measure batches of runs until one allocates nothing, at most
     * {@link #MAX_BATCHES}. The smallest batch figure is returned: the JVM itself may allocate once in a while on
     * the measuring thread (a compilation finishing, a class initialised), and code not yet compiled by C2 may
     * allocate what escape analysis later removes (a downcall's context); on a loaded machine C2 can take many
     * batches to get there. None of that is the action's doing, but an action that allocates does so in every
     * batch. Tests tagged {@code allocation} run a second time with C1 alone (the build's
     * {@code allocation-without-c2} execution), where nothing is removed: there their paths must allocate nothing
     * by construction.
     *
     * @param iterations runs per batch.
     * @param action     the work, given the iteration number.
     * @return bytes allocated by the least-allocating measured batch, 0 as soon as one allocated nothing.
     */
    public long measure(final int iterations, final IntConsumer action)
    {
        for (int i = 0; i < iterations; i++)
        {
            action.accept(i);
        }
        long least = Long.MAX_VALUE;
        for (int batch = 0; batch < MAX_BATCHES && least > 0; batch++)
        {
            final long start = allocatedBytes();
            for (int i = 0; i < iterations; i++)
            {
                action.accept(i);
            }
            final long end = allocatedBytes();
            System.out.println("allocation batch " + batch + ": " + (end - start) + " bytes");
            least = Math.min(least, end - start);
        }
        return least;
    }
}
