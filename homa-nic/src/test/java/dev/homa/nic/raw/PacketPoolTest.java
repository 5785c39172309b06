package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import dev.homa.nic.Packet;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.linux.PacketPool;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class PacketPoolTest
{
    @Test
    void slotsAreAlignedWithHeadroomForTheFrameHeader()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final PacketPool pool = new PacketPool(arena, 8, 1480, RawEthernetDriver.FRAME_HEADROOM);
            final int headers = FrameTransmitter.VNET_HDR_LENGTH + FrameLayout.TAGGED_HEADER_LENGTH;
            assertTrue(RawEthernetDriver.FRAME_HEADROOM >= headers,
                "virtio header and frame header fit in front of the Homa bytes");
            final Set<Long> addresses = new HashSet<>();
            for (int i = 0; i < 8; i++)
            {
                final Packet packet = pool.acquire();
                assertNotNull(packet);
                assertEquals(1480, packet.capacity());
                assertEquals(0, packet.length());
                assertEquals(-1, packet.priority());
                final long address = packet.buffer().addressOffset();
                assertEquals(0, address & 63, "Homa bytes 64-byte aligned");
                assertEquals(pool.regionAddress() + pool.packetOffset(pool.slotOf(packet)), address);
                addresses.add(address);
            }
            assertEquals(8, addresses.size());
            assertNull(pool.acquire(), "exhausted");
            assertEquals(0, pool.available());
        }
    }

    @Test
    void releaseRecyclesAndCatchesMisuse()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final PacketPool pool = new PacketPool(arena, 2, 256, RawEthernetDriver.FRAME_HEADROOM);
            final Packet first = pool.acquire();
            first.length(100).priority(5).source(42);
            assertTrue(first.appendPayload(0x1000, 64));
            pool.release(first);
            final Packet again = pool.acquire();
            assertSame(first, again);
            assertEquals(0, again.length(), "reset on acquire");
            assertEquals(0, again.payloadSegments(), "no gathered payload left from the last use");
            assertEquals(0, again.wireLength());
            assertEquals(-1, again.priority());
            assertEquals(0, again.source());

            pool.release(again);
            assertThrows(IllegalStateException.class, () -> pool.release(again), "double release");

            final Packet foreign = new Packet(new UnsafeBuffer(new byte[256]), 0);
            assertThrows(IllegalArgumentException.class, () -> pool.release(foreign));
            final Packet outOfRange = new Packet(new UnsafeBuffer(new byte[256]), 99);
            assertThrows(IllegalArgumentException.class, () -> pool.slotOf(outOfRange));
        }
    }
}
