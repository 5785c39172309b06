package dev.homa.nic.frame;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

@Timeout(10)
class EthernetFlyweightTest
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[64]);
    private final EthernetFlyweight ethernet = new EthernetFlyweight();

    @Test
    void roundTripsEveryFieldAtAnOffset()
    {
        ethernet.wrap(buffer, 3)
            .destinationMac(0x0A0B_0C0D_0E0FL)
            .sourceMac(0xF1F2_F3F4_F5F6L)
            .etherType(EthernetFlyweight.ETHER_TYPE_IPV4);

        final EthernetFlyweight reader = new EthernetFlyweight().wrap(buffer, 3);
        assertEquals(0x0A0B_0C0D_0E0FL, reader.destinationMac());
        assertEquals(0xF1F2_F3F4_F5F6L, reader.sourceMac());
        assertEquals(0x0800, reader.etherType());
        assertEquals(0x0800, EthernetFlyweight.etherTypeOf(buffer, 3));
    }

    @Test
    void writesNetworkOrderBytes()
    {
        ethernet.wrap(buffer, 0)
            .destinationMac(0x0102_0304_0506L)
            .sourceMac(0x0708_090A_0B0CL)
            .etherType(0x8100);

        final byte[] bytes = new byte[EthernetFlyweight.HEADER_LENGTH];
        buffer.getBytes(0, bytes);
        assertArrayEquals(new byte[]{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, (byte)0x81, 0 }, bytes);
    }

    @Test
    void ignoresBitsAboveTheMac()
    {
        ethernet.wrap(buffer, 0).destinationMac(0xFFFF_0102_0304_0506L).sourceMac(-1L);

        assertEquals(0x0102_0304_0506L, ethernet.destinationMac());
        assertEquals(EthernetFlyweight.BROADCAST_MAC, ethernet.sourceMac());
        assertEquals(0, buffer.getByte(12), "the EtherType must not be touched by a MAC write");
    }

    @Test
    void parsesAndPrintsMacs()
    {
        assertEquals(0x0200_C612_0001L, EthernetFlyweight.parseMac("02:00:c6:12:00:01"));
        assertEquals(0xAABB_CCDD_EEFFL, EthernetFlyweight.parseMac("AA-BB-CC-DD-EE-FF"));
        assertEquals("02:00:c6:12:00:01", EthernetFlyweight.macToString(0x0200_C612_0001L));
        assertThrows(IllegalArgumentException.class, () -> EthernetFlyweight.parseMac("02:00:c6:12:00"));
        assertThrows(IllegalArgumentException.class, () -> EthernetFlyweight.parseMac("02:00:c6:12:00:1"));
    }

    @Test
    void syntheticMacIsLocallyAdministeredUnicastAndCarriesTheAddress()
    {
        final int ip = (198 << 24) | (18 << 16) | 7;
        final long mac = EthernetFlyweight.syntheticMac(ip);

        assertEquals("02:00:c6:12:00:07", EthernetFlyweight.macToString(mac));
        final int firstOctet = (int)(mac >>> 40);
        assertEquals(0x02, firstOctet & 0x02, "locally administered bit");
        assertEquals(0x00, firstOctet & 0x01, "unicast");
    }
}
