package dev.homa.core;

import dev.homa.nic.NicDriver;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The pacer's cap on the driver's queued bytes, left unset, follows the device: a NIC's backlog of the kernel's
 * 5 us at its link rate (at least two packets); a device without a transmit queue, which delivers inside the send
 * call, several full GSO batches per flush, so that one system call carries them.
 */
@Timeout(10)
final class PacerSettingsTest
{
    @Test
    void aNicQueuesFiveMicrosecondsOfItsLinkAndAtLeastTwoPackets()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            assertEquals(125_000, cap(device(fabric.driverAt(0), true, 200_000_000_000L, 1500)));
            assertEquals(2 * (1500 + fabric.driverAt(0).wireOverheadBytes()),
                cap(device(fabric.driverAt(0), true, 1_000_000_000L, 1500)));
        }
    }

    @Test
    void aDeviceWithoutTransmitQueueTakesSeveralBatchesPerFlush()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            assertEquals(PacerSettings.UNQUEUED_FLUSH_BYTES,
                cap(device(fabric.driverAt(0), false, 25_000_000_000L, 1500)));
            assertEquals(4 * 64 * 1024, PacerSettings.UNQUEUED_FLUSH_BYTES);
        }
    }

    @Test
    void aSetCapIsKept()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            final HomaTransport.Context ctx = new HomaTransport.Context()
                .driver(device(fabric.driverAt(0), false, 25_000_000_000L, 1500))
                .maxNicQueueBytes(70_000);
            ctx.concludePacer(ctx.driver());
            assertEquals(70_000, ctx.maxNicQueueBytes());
        }
    }

    private static int cap(final NicDriver driver)
    {
        final HomaTransport.Context ctx = new HomaTransport.Context().driver(driver);
        ctx.concludePacer(driver);
        return ctx.maxNicQueueBytes();
    }

    private static NicDriver device(
        final NicDriver delegate, final boolean transmitQueue, final long linkBitsPerSecond, final int maxPacketLength)
    {
        return new PathDriver(delegate).transmitQueue(transmitQueue).linkBitsPerSecond(linkBitsPerSecond)
            .maxPacketLength(maxPacketLength);
    }
}
