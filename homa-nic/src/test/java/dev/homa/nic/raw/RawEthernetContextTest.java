package dev.homa.nic.raw;

import java.util.concurrent.TimeUnit;

import dev.homa.nic.HostAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RawEthernetContextTest
{
    @Test
    void defaultsTakeTheLinkFromTheInterface()
    {
        final RawEthernetDriverContext context = RawEthernetDriverContext.fromUri("raw://eth0").conclude();
        assertEquals("eth0", context.interfaceName());
        assertEquals(0, context.linkBitsPerSecond(), "0: the interface's speed, or no pacing on a software device");
        assertEquals(RawEthernetDriverContext.RxRing.V2, context.rxRing);
        assertEquals(0, context.localAddress);
        assertEquals(-1, context.fanoutGroup);
        assertEquals(0, context.vlanId);
        assertTrue(context.qdiscBypass);
        assertTrue(context.suppressIcmp);
        assertNull(context.networkNamespace);
    }

    @Test
    void parsesEveryOption()
    {
        final RawEthernetDriverContext context = RawEthernetDriverContext.fromUri(
            "raw://veth-a?ip=198.18.0.7&rate=25g&pool=4096&txbatch=64&blockSize=1m&blocks=8&blockTimeoutMs=2" +
            "&maxPacket=1000&fanout=77&fanoutMode=cpu&vlan=12&qdiscBypass=false&icmpGuard=false" +
            "&neighbourRefreshMs=250&ring=v3&netns=hostb").conclude();
        assertEquals("veth-a", context.interfaceName());
        assertEquals(HostAddress.parseIpv4("198.18.0.7"), context.localAddress);
        assertEquals(25_000_000_000L, context.linkBitsPerSecond());
        assertEquals(4096, context.poolPackets);
        assertEquals(64, context.txBatch);
        assertEquals(1 << 20, context.rxBlockSize);
        assertEquals(8, context.rxBlockCount);
        assertEquals(2, context.rxBlockTimeoutMs);
        assertEquals(1000, context.maxPacketLength);
        assertEquals(77, context.fanoutGroup);
        assertEquals(RawEthernetDriverContext.FanoutMode.CPU.value, context.fanoutMode);
        assertEquals(12, context.vlanId);
        assertEquals(false, context.qdiscBypass);
        assertEquals(false, context.suppressIcmp);
        assertEquals(250_000_000L, context.neighbourRefreshNs);
        assertEquals(RawEthernetDriverContext.RxRing.V3, context.rxRing);
        assertEquals("hostb", context.networkNamespace);
    }

    @Test
    void rejectsBadUrisAndValuesPrecisely()
    {
        assertThrows(IllegalArgumentException.class, () -> RawEthernetDriverContext.fromUri("udp://eth0"));
        assertThrows(IllegalArgumentException.class, () -> RawEthernetDriverContext.fromUri("raw://eth0?bogus=1"));
        assertThrows(IllegalArgumentException.class, () -> RawEthernetDriverContext.fromUri("raw://eth0?pool"));
        final IllegalArgumentException longName = assertThrows(IllegalArgumentException.class,
            () -> RawEthernetDriverContext.fromUri("raw://averyveryverylongname").conclude());
        assertTrue(longName.getMessage().contains("1..15"), longName.getMessage());
        final IllegalArgumentException block = assertThrows(IllegalArgumentException.class,
            () -> RawEthernetDriverContext.fromUri("raw://eth0?blockSize=5000").conclude());
        assertTrue(block.getMessage().contains("rxBlockSize"), block.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> RawEthernetDriverContext.fromUri("raw://eth0?txbatch=2000").conclude());
        assertThrows(IllegalArgumentException.class,
            () -> RawEthernetDriverContext.fromUri("raw://eth0?vlan=4095").conclude());
        assertThrows(IllegalArgumentException.class,
            () -> RawEthernetDriverContext.fromUri("raw://eth0?fanout=70000").conclude());
    }

    @Test
    void parsesRatesAndSizes()
    {
        assertEquals(100_000_000L, RawEthernetDriverContext.fromUri("raw://eth0?rate=100m").linkBitsPerSecond());
        assertEquals(2_500_000_000L, RawEthernetDriverContext.fromUri("raw://eth0?rate=2.5g").linkBitsPerSecond());
        assertEquals(1234L, RawEthernetDriverContext.fromUri("raw://eth0?rate=1234").linkBitsPerSecond());
        assertEquals(256 * 1024, RawEthernetDriverContext.fromUri("raw://eth0?blockSize=256k").rxBlockSize);
        assertEquals(4096, RawEthernetDriverContext.fromUri("raw://eth0?blockSize=4096").rxBlockSize);
    }
}
