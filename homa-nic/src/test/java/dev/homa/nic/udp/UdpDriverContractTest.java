package dev.homa.nic.udp;

import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDriverContractTest;
import org.junit.jupiter.api.Nested;

/**
 * The driver contract on both UDP datapaths, over loopback with Ethernet's MTU.
 */
class UdpDriverContractTest
{
    private static NicDriver[] open(final String datapath)
    {
        final String options = "?mtu=1500&datapath=" + datapath;
        final NicDriver a = UdpDriver.fromUri("udp://127.0.0.1:0" + options);
        try
        {
            return new NicDriver[] { a, UdpDriver.fromUri("udp://127.0.0.1:0" + options) };
        }
        catch (final RuntimeException ex)
        {
            a.close();
            throw ex;
        }
    }

    @Nested
    class NativeDatapath extends NicDriverContractTest
    {
        @Override
        protected NicDriver[] openPair()
        {
            return open("native");
        }
    }

    @Nested
    class NettyDatapath extends NicDriverContractTest
    {
        @Override
        protected NicDriver[] openPair()
        {
            return open("netty");
        }
    }
}
