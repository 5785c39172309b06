package dev.homa.core;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Supplies the memory of a transport's receive and send pools ({@link HomaTransport.Context#poolMemory(PoolMemory)}).
 * The default, {@link #DIRECT}, is zeroed direct memory of the JVM. An application may place the pools elsewhere:
 * in huge pages, in one NUMA node's memory, or, in a simulation that never reads payload bytes, on a few physical
 * pages shared by every host of the simulated cluster.
 */
@FunctionalInterface
public interface PoolMemory
{
    /**
     * Zeroed direct memory from {@link java.nio.ByteBuffer#allocateDirect(int)}, aligned to a cache line.
     */
    PoolMemory DIRECT = (bytes) -> new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes, 64));

    /**
     * Called once per pool when the transport launches, on the launching thread.
     *
     * @param bytes capacity wanted: a whole number of pool pages.
     * @return native memory of at least that capacity, aligned to 64 bytes, valid and used by nothing else until
     * the process ends (the pool's bytes are sent from and received into it).
     */
    UnsafeBuffer allocate(int bytes);
}
