package dev.homa.bench.rtt;

import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;

/**
 * Builds the client and the server of a path. Each side is built on the thread (and so in the namespace) that will
 * run it.
 */
final class RttEndpoints
{
    /**
     * The UDP driver's options for a pair of hosts that want the lowest latency: the peer's own connected socket, no
     * TOS control message per datagram, and the port's unconnected socket (other peers) read every 64th poll instead
     * of every 8th - there are no other peers here, and each read is a system call in the busy loop's period.
     */
    static final String LATENCY_OPTIONS = "connect=1&rxtos=false&unconnectedEvery=64";

    private RttEndpoints()
    {
    }

    static RttClient client(final RttPath path, final RttSetup setup)
    {
        return switch (path)
        {
            case AF_PACKET -> new AfPacketRtt.Client(setup, true);
            case AF_PACKET_RECV -> new AfPacketRtt.Client(setup, false);
            case KERNEL_UDP -> new KernelUdpRtt.Client(setup);
            case RAW_ECHO -> new DriverEchoRtt.Client(clientDriver(path, setup), serverAddress(path, setup), setup);
            case UDP_ECHO, UDP_ECHO_CONNECTED ->
                new DriverEchoRtt.Client(clientDriver(path, setup), serverAddress(path, setup), setup);
            case HOMA_RAW, HOMA_UDP, HOMA_UDP_CONNECTED ->
                HomaRtt.client(clientDriverUri(path, setup), serverAddress(path, setup), setup);
        };
    }

    static RttServer server(final RttPath path, final RttSetup setup)
    {
        return switch (path)
        {
            case AF_PACKET -> new AfPacketRtt.Server(setup, true);
            case AF_PACKET_RECV -> new AfPacketRtt.Server(setup, false);
            case KERNEL_UDP -> new KernelUdpRtt.Server(setup);
            case RAW_ECHO, UDP_ECHO, UDP_ECHO_CONNECTED ->
                new DriverEchoRtt.Server(NicDrivers.open(serverDriverUri(path, setup)));
            case HOMA_RAW, HOMA_UDP, HOMA_UDP_CONNECTED -> HomaRtt.server(serverDriverUri(path, setup), setup);
        };
    }

    static boolean usesRawDriver(final RttPath path)
    {
        return RttPath.RAW_ECHO == path || RttPath.HOMA_RAW == path;
    }

    static String clientDriverUri(final RttPath path, final RttSetup setup)
    {
        return (usesRawDriver(path) ? "raw://" + setup.clientInterface() :
            "udp://" + setup.clientIp() + ":" + setup.clientPort()) + driverOptions(path);
    }

    static String serverDriverUri(final RttPath path, final RttSetup setup)
    {
        return (usesRawDriver(path) ? "raw://" + setup.serverInterface() :
            "udp://" + setup.serverIp() + ":" + setup.serverPort()) + driverOptions(path);
    }

    private static String driverOptions(final RttPath path)
    {
        String options = System.getProperty(usesRawDriver(path) ? "rtt.raw.options" : "rtt.udp.options", "");
        if (RttPath.UDP_ECHO_CONNECTED == path || RttPath.HOMA_UDP_CONNECTED == path)
        {
            options = options.isEmpty() ? LATENCY_OPTIONS : options + "&" + LATENCY_OPTIONS;
        }
        return options.isEmpty() ? "" : "?" + options;
    }

    static long serverAddress(final RttPath path, final RttSetup setup)
    {
        return usesRawDriver(path) ? HostAddress.parseIpv4(setup.serverIp()) :
            HostAddress.parseIpv4(setup.serverIp() + ":" + setup.serverPort());
    }

    private static NicDriver clientDriver(final RttPath path, final RttSetup setup)
    {
        return NicDrivers.open(clientDriverUri(path, setup));
    }
}
