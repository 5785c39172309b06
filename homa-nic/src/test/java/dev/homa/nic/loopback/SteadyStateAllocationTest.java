package dev.homa.nic.loopback;

import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Once pools and the scheduler's heap have grown to their working size, moving packets allocates nothing. Measured
 * with the JVM's per-thread allocation counter; a JIT or counter quirk may add a few hundred bytes, never a per-packet
 * amount, so the bound is far below one byte per packet.
 */
@Timeout(30)
class SteadyStateAllocationTest
{
    private static final Object THREAD_MX_BEAN;
    private static final Method CURRENT_THREAD_ALLOCATED_BYTES;

    static
    {
        // By reflection: this module does not read java.management, and should not for a test.
        try
        {
            THREAD_MX_BEAN = Class.forName("java.lang.management.ManagementFactory")
                .getMethod("getThreadMXBean").invoke(null);
            CURRENT_THREAD_ALLOCATED_BYTES = Class.forName("com.sun.management.ThreadMXBean")
                .getMethod("getCurrentThreadAllocatedBytes");
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private static long allocatedBytes()
    {
        try
        {
            return (long)CURRENT_THREAD_ALLOCATED_BYTES.invoke(THREAD_MX_BEAN);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    @Test
    @Tag("allocation")
    void timedFabricWithFaultsMovesPacketsWithoutAllocating()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(3).packetPoolSize(256)
            .portBufferBytes(30_000)
            .faultInjector(new RandomFaultInjector(7).lossRate(0.01).duplicateRate(0.01).reorderRate(0.01)
                .corruptRate(0.01))
            .build();
        final FabricDriver[] drivers = {fabric.driverAt(0), fabric.driverAt(1), fabric.driverAt(2)};
        final PacketSink[] releasers = {drivers[0]::release, drivers[1]::release, drivers[2]::release};
        final int rounds = 20_000;
        run(fabric, drivers, releasers, rounds);
        final long before = allocatedBytes();
        run(fabric, drivers, releasers, rounds);
        final long allocated = allocatedBytes() - before;
        System.out.println("timed fabric: " + allocated + " bytes allocated over " + rounds * 3 + " packets");
        assertTrue(allocated < 4096, "allocated " + allocated + " bytes");
    }

    @Test
    @Tag("allocation")
    void instantFabricMovesPacketsWithoutAllocating()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(3).packetPoolSize(256).build();
        final FabricDriver[] drivers = {fabric.driverAt(0), fabric.driverAt(1), fabric.driverAt(2)};
        final PacketSink[] releasers = {drivers[0]::release, drivers[1]::release, drivers[2]::release};
        run(fabric, drivers, releasers, 20_000);
        final long before = allocatedBytes();
        run(fabric, drivers, releasers, 20_000);
        final long allocated = allocatedBytes() - before;
        System.out.println("instant fabric: " + allocated + " bytes allocated over 60000 packets");
        assertTrue(allocated < 4096, "allocated " + allocated + " bytes");
        assertEquals(0, fabric.drops());
    }

    private static void run(
        final Fabric fabric, final FabricDriver[] drivers, final PacketSink[] releasers, final int rounds)
    {
        for (int round = 0; round < rounds; round++)
        {
            for (int h = 0; h < drivers.length; h++)
            {
                final Packet packet = drivers[h].acquire();
                packet.length(100 + (round & 1023));
                packet.buffer().putInt(0, round);
                drivers[h].send(packet, drivers[(h + 1 + (round & 1)) % drivers.length].localAddress(), round & 7);
                drivers[h].flush();
                drivers[h].release(packet);
            }
            fabric.scheduler().runUntil(fabric.clock().nanoTime() + 1000);
            for (int h = 0; h < drivers.length; h++)
            {
                drivers[h].poll(releasers[h], Integer.MAX_VALUE);
            }
        }
    }
}
