package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two hosts in their own network namespaces joined by a veth pair (198.18.x.1 and .2): the datagrams cross a real
 * Ethernet device with its GSO/GRO handling, not the loopback shortcut. Skipped where namespaces cannot be built.
 */
class UdpVethTest
{
    @ParameterizedTest(name = "{0} gso={1} gro={2}")
    @CsvSource({ "NATIVE,true,true", "NATIVE,false,false", "NETTY,true,true" })
    @Timeout(90)
    void exchangesPacketsAtAllPrioritiesAcrossVeth(
        final UdpDriverContext.Datapath datapath, final boolean gso, final boolean gro) throws Exception
    {
        assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        final Random random = new Random(UdpDriverTest.seed());
        try (NetnsPair pair = NetnsPair.create("hudpv"))
        {
            final UdpDriver a = pair.callIn(pair.nsA(), () -> new UdpDriver(new UdpDriverContext()
                .bindAddress(HostAddress.parseIpv4(pair.ipA() + ":4000")).datapath(datapath).gso(gso).gro(gro)));
            final UdpDriver b = pair.callIn(pair.nsB(), () -> new UdpDriver(new UdpDriverContext()
                .bindAddress(HostAddress.parseIpv4(pair.ipB() + ":4000")).datapath(datapath).gso(gso).gro(gro)));
            try (a; b)
            {
                assertEquals(HostAddress.parseIpv4(pair.ipA() + ":4000"), a.localAddress());
                int sequence = 0;
                for (int round = 0; round < 10; round++)
                {
                    sequence = UdpDriverTest.sendBatch(random, a, b, sequence);
                    sequence = UdpDriverTest.sendBatch(random, b, a, sequence);
                }
                assertEquals(0, a.counters().ioErrors() + b.counters().ioErrors(), "no send or receive errors");
                if (gso)
                {
                    assertTrue(a.counters().gsoSends() > 0, "GSO runs sent over veth");
                }
                System.out.printf("veth %s gso=%b gro=%b: sent %d, GSO sends %d, GRO super-datagrams %d%n",
                    datapath, gso, gro, a.counters().packetsSent() + b.counters().packetsSent(),
                    a.counters().gsoSends() + b.counters().gsoSends(),
                    a.counters().groSuperDatagrams() + b.counters().groSuperDatagrams());
            }
        }
    }

    /**
     * A configured MTU above the device's makes a GSO send fail with EMSGSIZE (a segment would not fit the link): the
     * driver counts the error, switches GSO off and keeps going with plain (IP-fragmented) datagrams.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({ "NATIVE" })
    @Timeout(90)
    void gsoSwitchesOffWhenTheDeviceRefusesItAndTrafficContinues(final UdpDriverContext.Datapath datapath)
        throws Exception
    {
        assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        final Random random = new Random(UdpDriverTest.seed());
        try (NetnsPair pair = NetnsPair.create("hudpg", 5))
        {
            final UdpDriver a = pair.callIn(pair.nsA(), () -> new UdpDriver(new UdpDriverContext()
                .bindAddress(HostAddress.parseIpv4(pair.ipA() + ":4000")).datapath(datapath).mtu(3000)));
            final UdpDriver b = pair.callIn(pair.nsB(), () -> new UdpDriver(new UdpDriverContext()
                .bindAddress(HostAddress.parseIpv4(pair.ipB() + ":4000")).datapath(datapath).mtu(3000)));
            try (a; b)
            {
                assertTrue(a.gsoEnabled());
                final dev.homa.nic.Packet[] run = new dev.homa.nic.Packet[4];
                for (int i = 0; i < run.length; i++)
                {
                    run[i] = a.acquire().length(a.maxPacketLength());
                    assertTrue(a.send(run[i], b.localAddress(), 3));
                }
                a.flush();
                for (final dev.homa.nic.Packet packet : run)
                {
                    a.release(packet);
                }
                assertTrue(a.counters().ioErrors() >= 1, "the 2972-byte segments do not fit the 1500-byte veth");
                assertEquals(90, a.counters().lastErrno(), "EMSGSIZE");
                assertTrue(!a.gsoEnabled(), "GSO switched off after errno " + a.counters().lastErrno());

                int sequence = 0;
                for (int round = 0; round < 5; round++)
                {
                    sequence = UdpDriverTest.sendBatch(random, a, b, sequence);
                }
                assertEquals(0, a.counters().gsoSends() - 1, "no GSO after the refusal");
            }
        }
    }
}
