package dev.homa.nic;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricRegistry;
import dev.homa.nic.udp.UdpDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class NicDriversTest
{
    @Test
    void loopbackUriNamesAHostOfARegisteredFabric()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build())
        {
            FabricRegistry.register("nic-drivers-test", fabric);
            try
            {
                final NicDriver driver = NicDrivers.open("loopback://nic-drivers-test/198.18.0.2");
                assertSame(fabric.driver(HostAddress.parseIpv4("198.18.0.2")), driver);
                assertThrows(IllegalStateException.class, () -> FabricRegistry.register("nic-drivers-test",
                    Fabric.builder().hosts(1).build()));
            }
            finally
            {
                FabricRegistry.unregister("nic-drivers-test", fabric);
            }
        }
    }

    @Test
    void udpUriOpensTheUdpDriver()
    {
        try (NicDriver driver = NicDrivers.open("udp://127.0.0.1:0"))
        {
            assertInstanceOf(UdpDriver.class, driver);
            assertEquals("127.0.0.1", HostAddress.toString(HostAddress.hostOf(driver.localAddress())));
        }
    }

    @Test
    void badUrisGetPreciseErrors()
    {
        final IllegalArgumentException unknown =
            assertThrows(IllegalArgumentException.class, () -> NicDrivers.open("tcp://127.0.0.1:1"));
        assertTrue(unknown.getMessage().contains("unknown driver scheme 'tcp'"), unknown.getMessage());
        final IllegalArgumentException missing =
            assertThrows(IllegalArgumentException.class, () -> NicDrivers.open("loopback://nowhere/198.18.0.1"));
        assertTrue(missing.getMessage().contains("no in-memory fabric registered as 'nowhere'"), missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NicDrivers.open("loopback://x"));
        assertThrows(IllegalArgumentException.class, () -> NicDrivers.open("::not a uri"));
    }
}
