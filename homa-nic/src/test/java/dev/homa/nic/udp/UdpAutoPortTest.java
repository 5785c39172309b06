package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A driver on port 0 takes a port no other socket holds. The kernel picks an automatic port for a socket with
 * {@code SO_REUSEPORT} among the free ones and those held by other reuseport sockets of the same user, so a driver
 * that bound its reuseport group to port 0 could land in another driver's group, in another process as well, and
 * each would then receive part of the other's traffic. Shown in a namespace whose range for automatic ports holds a
 * single port: once one driver has it, the next one fails with a clear error instead of sharing it.
 */
class UdpAutoPortTest
{
    private static final int ONLY_PORT = 40_000;

    @Test
    @Timeout(60)
    void aDriverOnPortZeroNeverJoinsAnotherDriversPort() throws Exception
    {
        assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        try (NetnsPair pair = NetnsPair.create("hudpap", 13))
        {
            pair.exec(pair.nsA(), "sysctl", "-q", "-w",
                "net.ipv4.ip_local_port_range=" + ONLY_PORT + " " + ONLY_PORT);
            final long anyPort = HostAddress.parseIpv4(pair.ipA() + ":0");
            final UdpDriver first = pair.callIn(pair.nsA(), () -> new UdpDriver(new UdpDriverContext()
                .bindAddress(anyPort)));
            try (first)
            {
                assertEquals(ONLY_PORT, HostAddress.portOf(first.localAddress()));
                final IllegalStateException error = assertThrows(IllegalStateException.class, () ->
                    pair.callIn(pair.nsA(), () -> new UdpDriver(new UdpDriverContext().bindAddress(anyPort))).close());
                assertTrue(error.getMessage().contains("no free UDP port"), error.getMessage());
            }
        }
    }
}
