/**
 * Homa NIC layer: the driver SPI that keeps the protocol independent of how packets move, the
 * frame formats a packet wears on the wire, and the drivers themselves.
 */
module dev.homa.nic
{
    requires transitive org.agrona;
    requires org.slf4j;
    requires io.netty.buffer;
    requires io.netty.common;
    requires io.netty.transport;
    requires io.netty.transport.unix.common;
    requires io.netty.transport.classes.epoll;

    exports dev.homa.nic;
    exports dev.homa.nic.time;

    exports dev.homa.nic.frame;

    exports dev.homa.nic.capture;

    exports dev.homa.nic.loopback;

    exports dev.homa.nic.memory;

    exports dev.homa.nic.raw;

    exports dev.homa.nic.udp;

    uses dev.homa.nic.NicDriverFactory;
    provides dev.homa.nic.NicDriverFactory with
        dev.homa.nic.loopback.FabricDriverFactory,
        dev.homa.nic.raw.RawEthernetDriverFactory,
        dev.homa.nic.udp.UdpDriverFactory;
}
