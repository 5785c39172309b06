package dev.homa.nic.frame;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class VlanTagFlyweightTest
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[32]);
    private final VlanTagFlyweight tag = new VlanTagFlyweight();

    @Test
    void roundTripsEveryField()
    {
        tag.wrap(buffer, 12)
            .tpid(VlanTagFlyweight.TPID_8021Q)
            .pcp(5)
            .dei(true)
            .vid(0xABC)
            .innerEtherType(EthernetFlyweight.ETHER_TYPE_IPV4);

        final VlanTagFlyweight reader = new VlanTagFlyweight().wrap(buffer, 12);
        assertEquals(0x8100, reader.tpid());
        assertEquals(5, reader.pcp());
        assertTrue(reader.dei());
        assertEquals(0xABC, reader.vid());
        assertEquals(0x0800, reader.innerEtherType());
        assertEquals((5 << 13) | 0x1000 | 0xABC, reader.tci());
        assertEquals(reader.tci(), VlanTagFlyweight.tciOf(buffer, 12));
    }

    @Test
    void fieldsOfTheTciAreIndependent()
    {
        tag.wrap(buffer, 0).tci(0).vid(VlanTagFlyweight.MAX_VID).pcp(7).dei(false);
        assertEquals(7, tag.pcp());
        assertEquals(VlanTagFlyweight.MAX_VID, tag.vid());
        assertFalse(tag.dei());

        tag.pcp(0);
        assertEquals(VlanTagFlyweight.MAX_VID, tag.vid());
        assertEquals(0, tag.pcp());
    }

    @Test
    void writesNetworkOrderBytes()
    {
        tag.wrap(buffer, 0).tpid(0x8100).tci(VlanTagFlyweight.tci(3, false, 0)).innerEtherType(0x0800);

        final byte[] bytes = new byte[6];
        buffer.getBytes(0, bytes);
        assertArrayEquals(new byte[]{ (byte)0x81, 0x00, 0x60, 0x00, 0x08, 0x00 }, bytes);
    }

    @Test
    void rejectsOutOfRangeFields()
    {
        assertThrows(IllegalArgumentException.class, () -> VlanTagFlyweight.tci(8, false, 0));
        assertThrows(IllegalArgumentException.class, () -> VlanTagFlyweight.tci(-1, false, 0));
        assertThrows(IllegalArgumentException.class, () -> VlanTagFlyweight.tci(0, false, 4096));
        assertEquals(7, VlanTagFlyweight.pcpOf(0xFFFF));
    }
}
