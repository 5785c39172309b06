package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.linux.LibC;
import org.agrona.concurrent.UnsafeBuffer;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * What the {@code SIOCGIF*} ioctls say about one named interface in the calling thread's network namespace: its
 * index, MAC, MTU and IPv4 addresses. One {@code struct ifreq}, reused for every question.
 */
final class InterfaceRequest
{
    private static final int IFR_DATA_OFFSET = 16;
    private static final int IFR_HWADDR_DATA_OFFSET = 18;
    private static final int IFR_ADDR_IPV4_OFFSET = 20;

    private final MemorySegment errno;
    private final String interfaceName;
    // struct ethtool_drvinfo: cmd, then driver[32] among the rest of its 196 bytes; the largest ethtool structure
    // used here.
    private static final int ETHTOOL_GDRVINFO = 0x3;
    // struct ethtool_value: cmd, data.
    private static final int ETHTOOL_GTSO = 0x1E;
    private static final int DRVINFO_LENGTH = 196;
    private static final int DRVINFO_DRIVER_OFFSET = 4;
    private static final int DRVINFO_DRIVER_LENGTH = 32;

    private final MemorySegment ifreq;
    private final MemorySegment ethtool;

    InterfaceRequest(final Arena arena, final MemorySegment errno, final String interfaceName)
    {
        this.errno = errno;
        this.interfaceName = interfaceName;
        this.ifreq = arena.allocate(LibC.IFREQ_SIZE, 8);
        this.ethtool = arena.allocate(DRVINFO_LENGTH, 8);
    }

    /**
     * @param socket any socket of the namespace.
     * @return the interface index.
     */
    int index(final int socket)
    {
        return intOf(socket, LibC.SIOCGIFINDEX, "SIOCGIFINDEX");
    }

    /**
     * @param socket any socket of the namespace.
     * @return the MTU.
     */
    int mtu(final int socket)
    {
        return intOf(socket, LibC.SIOCGIFMTU, "SIOCGIFMTU");
    }

    /**
     * @param socket any socket of the namespace.
     * @return the MAC address (48 bits).
     */
    long mac(final int socket)
    {
        call(socket, LibC.SIOCGIFHWADDR, "SIOCGIFHWADDR");
        return EthernetFlyweight.macOf(new UnsafeBuffer(ifreq.address(), LibC.IFREQ_SIZE), IFR_HWADDR_DATA_OFFSET);
    }

    /**
     * @return the interface's IPv4 address, network order.
     * @throws RawEthernetException if it has none.
     */
    int ipv4()
    {
        final int udp = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (udp < 0)
        {
            throw new RawEthernetException("socket(AF_INET) failed: " + LibC.describe(LibC.errno(errno)));
        }
        try
        {
            putName();
            if (0 != LibC.ioctl(errno, udp, LibC.SIOCGIFADDR, ifreq))
            {
                throw new RawEthernetException(interfaceName + " has no IPv4 address (SIOCGIFADDR: " +
                    LibC.describe(LibC.errno(errno)) + "); assign one or pass ?ip=");
            }
            return ipv4Field();
        }
        finally
        {
            LibC.close(udp);
        }
    }

    /**
     * @param socket any socket in the interface's network namespace.
     * @return the name of the interface's kernel driver ({@code ETHTOOL_GDRVINFO}), e.g. {@code veth}, or an empty
     *         string if the device does not say.
     */
    String driverName(final int socket)
    {
        putName();
        ethtool.fill((byte)0);
        ethtool.set(JAVA_INT, 0, ETHTOOL_GDRVINFO);
        ifreq.set(ADDRESS, IFR_DATA_OFFSET, ethtool);
        if (0 != LibC.ioctl(errno, socket, LibC.SIOCETHTOOL, ifreq))
        {
            return "";
        }
        final byte[] name = new byte[DRVINFO_DRIVER_LENGTH];
        MemorySegment.copy(ethtool, JAVA_BYTE, DRVINFO_DRIVER_OFFSET, name, 0, name.length);
        int length = 0;
        while (length < name.length && 0 != name[length])
        {
            length++;
        }
        return new String(name, 0, length, StandardCharsets.US_ASCII);
    }

    /**
     * @param socket any socket in the interface's network namespace.
     * @return true if the device segments TCP itself ({@code ETHTOOL_GTSO}); false if it does not or does not say.
     */
    boolean segmentsTcp(final int socket)
    {
        putName();
        ethtool.fill((byte)0);
        ethtool.set(JAVA_INT, 0, ETHTOOL_GTSO);
        ifreq.set(ADDRESS, IFR_DATA_OFFSET, ethtool);
        return 0 == LibC.ioctl(errno, socket, LibC.SIOCETHTOOL, ifreq) && 0 != ethtool.get(JAVA_INT, 4);
    }

    /**
     * @return the interface's IPv4 broadcast address, or 0 if it has none or the kernel does not say.
     */
    int broadcastIpv4()
    {
        final int udp = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (udp < 0)
        {
            return 0;
        }
        try
        {
            putName();
            return 0 != LibC.ioctl(errno, udp, LibC.SIOCGIFBRDADDR, ifreq) ? 0 : ipv4Field();
        }
        finally
        {
            LibC.close(udp);
        }
    }

    private int ipv4Field()
    {
        return new UnsafeBuffer(ifreq.address(), LibC.IFREQ_SIZE).getInt(IFR_ADDR_IPV4_OFFSET, BIG_ENDIAN);
    }

    private int intOf(final int socket, final long request, final String name)
    {
        call(socket, request, name);
        return ifreq.get(JAVA_INT, IFR_DATA_OFFSET);
    }

    private void call(final int socket, final long request, final String name)
    {
        putName();
        if (0 != LibC.ioctl(errno, socket, request, ifreq))
        {
            final int error = LibC.errno(errno);
            if (LibC.ENODEV == error)
            {
                throw new RawEthernetException("no network interface named " + interfaceName +
                    " in this network namespace (" + name + ": " + LibC.describe(error) + ")");
            }
            throw new RawEthernetException(name + " on " + interfaceName + " failed: " + LibC.describe(error));
        }
    }

    private void putName()
    {
        ifreq.fill((byte)0);
        final byte[] name = interfaceName.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(name, 0, ifreq, JAVA_BYTE, 0, name.length);
    }
}
