package dev.homa.core;

import dev.homa.nic.memory.OnDemandMemory;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Supplies the memory of a transport's receive and send pools ({@link HomaTransport.Context#poolMemory(PoolMemory)}).
 * The default, {@link #ON_DEMAND}, is mapped memory whose pages the kernel backs when they are first touched;
 * {@link #DIRECT} is the JVM's direct memory, every page touched at launch. An application may place the pools
 * elsewhere: in huge pages, in one NUMA node's memory, or, in a simulation that never reads payload bytes, on a few
 * physical pages shared by every host of the simulated cluster.
 */
@FunctionalInterface
public interface PoolMemory
{
    /**
     * Private anonymous memory ({@link OnDemandMemory}): zero until written, each page backed when first touched, so
     * that a transport launches without faulting in its pools and keeps resident only the pages its traffic has
     * used (the pools hand out their most recently freed pages first). The first message to use a page pays its
     * fault.
     */
    PoolMemory ON_DEMAND = (bytes) -> new UnsafeBuffer(OnDemandMemory.map(bytes));

    /**
     * Zeroed direct memory from {@link java.nio.ByteBuffer#allocateDirect(int)}, aligned to a cache line: every page
     * is faulted in at launch (a quarter of a second for 64 MiB where page faults are slow) and stays resident, so
     * no message pays a fault.
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
