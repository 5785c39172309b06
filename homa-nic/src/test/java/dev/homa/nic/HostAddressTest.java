package dev.homa.nic;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class HostAddressTest
{
    @Test
    void packsAndUnpacksIpv4AndPort()
    {
        final long address = HostAddress.parseIpv4("198.18.0.7:4000");
        assertTrue(HostAddress.isIpv4(address));
        assertEquals(0xC6120007, HostAddress.ipv4Of(address));
        assertEquals(4000, HostAddress.portOf(address));
        assertEquals("198.18.0.7:4000", HostAddress.toString(address));
    }

    @Test
    void hostOfDropsThePortSoPeersAreKeyedPerHost()
    {
        final long a = HostAddress.parseIpv4("198.18.0.7:4000");
        final long b = HostAddress.parseIpv4("198.18.0.7:4001");
        assertNotEquals(a, b);
        assertEquals(HostAddress.hostOf(a), HostAddress.hostOf(b));
        assertEquals(b, HostAddress.withPort(a, 4001));
        assertEquals("198.18.0.7", HostAddress.toString(HostAddress.hostOf(a)));
    }

    @Test
    void highOctetsSurviveWithoutSignExtension()
    {
        final long address = HostAddress.ipv4(0xFFFFFFFF, 65535);
        assertEquals("255.255.255.255:65535", HostAddress.toString(address));
        assertEquals(HostAddress.FAMILY_IPV4, HostAddress.family(address));
    }

    @Test
    void rejectsMalformedText()
    {
        assertThrows(IllegalArgumentException.class, () -> HostAddress.parseIpv4("198.18.0"));
        assertThrows(IllegalArgumentException.class, () -> HostAddress.parseIpv4("198.18.0.256"));
        assertThrows(IllegalArgumentException.class, () -> HostAddress.ipv4(1, 70000));
        assertEquals("none", HostAddress.toString(HostAddress.NONE));
    }
}
