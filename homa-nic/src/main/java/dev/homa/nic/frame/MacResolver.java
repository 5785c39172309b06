package dev.homa.nic.frame;

import dev.homa.nic.HostAddress;

/**
 * Finds the MAC address of a host, for a driver or a capture that writes Ethernet headers. A raw Ethernet driver
 * implements it from its neighbour table; media without a link layer use {@link #SYNTHETIC}.
 */
@FunctionalInterface
public interface MacResolver
{
    /**
     * Locally administered MACs derived from the IPv4 address ({@code 02:00:a:b:c:d}), deterministic and unique
     * per IPv4 host.
     */
    MacResolver SYNTHETIC = (address) -> EthernetFlyweight.syntheticMac(HostAddress.ipv4Of(address));

    /**
     * @param hostAddress a {@link HostAddress}; the port, if any, is irrelevant.
     * @return the MAC in the low 48 bits. Must not allocate: it is called per packet.
     */
    long macOf(long hostAddress);
}
