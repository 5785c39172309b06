package dev.homa.core;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pool memory is backed when it is used, not when a transport launches: resident memory (the process's
 * {@code VmRSS}) grows by the pages written, not by the pools' size.
 */
@Timeout(60)
class PoolMemoryTest
{
    private static final long MIB = 1 << 20;
    private static final int POOL_BYTES = 256 << 20;

    @Test
    void aTransportLaunchesWithoutFaultingInItsPools() throws IOException
    {
        final long before = residentBytes();
        try (HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
            .driverUri("udp://127.0.0.1:0").receivePoolBytes(POOL_BYTES).sendPoolBytes(POOL_BYTES)))
        {
            final long grown = residentBytes() - before;
            assertTrue(grown < POOL_BYTES / 2, "launching with two pools of " + POOL_BYTES / MIB + " MiB took " +
                grown / MIB + " MiB of resident memory");
            assertEquals(POOL_BYTES, transport.context().receivePoolBytes());
        }
    }

    @Test
    void onDemandMemoryIsZeroAndBackedAsItIsTouched() throws IOException
    {
        final UnsafeBuffer memory = PoolMemory.ON_DEMAND.allocate(POOL_BYTES);
        assertEquals(0, memory.addressOffset() & 4095, "page-aligned");
        final long mapped = residentBytes();
        for (int offset = 0; offset < POOL_BYTES; offset += 4096)
        {
            assertEquals(0, memory.getByte(offset + 4095));
            memory.putByte(offset, (byte)1);
        }
        final long written = residentBytes();
        assertTrue(written - mapped > POOL_BYTES / 2, "writing every page backs them: " + (written - mapped) / MIB +
            " MiB");
    }

    private static long residentBytes() throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
        {
            if (line.startsWith("VmRSS:"))
            {
                return Long.parseLong(line.substring(6).replace("kB", "").trim()) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
