package dev.homa.nic.linux;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class NetDeviceTest
{
    @Test
    void aSoftwareDevicesReportedSpeedIsNoLinkRate()
    {
        // veth reports 10,000 Mb/s whatever the path moves: taken as a rate it would size windows for a slow wire.
        final NetDevice veth = NetDevice.reported("veth0", 1500, 10_000_000_000L, true);
        assertEquals(0, veth.speedBitsPerSecond());
        assertEquals(NetDevice.DEFAULT_LINK_BITS_PER_SECOND, veth.linkBitsPerSecond());
        assertTrue(veth.software());
        assertEquals(1500, veth.mtu());
    }

    @Test
    void aNicsReportedSpeedIsItsLinkRate()
    {
        assertEquals(100_000_000_000L, NetDevice.reported("eth0", 9000, 100_000_000_000L, false).linkBitsPerSecond());
        assertEquals(0, NetDevice.reported("eth0", -1, 0, false).mtu(), "an unknown MTU is 0");
    }

    @Test
    void loopbackIsASoftwareDeviceWithoutSpeed()
    {
        final NetDevice lo = NetDevice.forIpv4(0x7F000001);
        assertTrue(lo.software(), lo.toString());
        assertEquals(0, lo.speedBitsPerSecond());
    }
}
