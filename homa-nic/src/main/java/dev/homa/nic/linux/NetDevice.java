package dev.homa.nic.linux;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;

/**
 * What a driver needs to know of the network device its packets leave by: its MTU, its link speed and whether it is
 * a software device (loopback, veth, bridge ...) with no wire behind it. Drivers take their defaults from it, as the
 * kernel's Homa takes its packet size from the route's MTU ({@code dst_mtu}) and its operators take {@code link_mbps}
 * from the NIC's speed.
 * <p>
 * The MTU comes from {@link NetworkInterface}, which asks the kernel in the calling thread's network namespace. Speed
 * and the software flag come from sysfs ({@code /sys/class/net/NAME/speed}, {@code /sys/devices/virtual/net/NAME}),
 * which shows the namespace sysfs was mounted in ({@code ip netns exec} mounts the target's): a device sysfs does not
 * show has an unknown speed and counts as hardware, the safer guess for pacing.
 *
 * @param name     interface name, or null when no device could be found.
 * @param mtu      IP MTU in bytes, 0 if unknown.
 * @param speedBitsPerSecond link speed as a NIC reports it, 0 if unknown or a software device (see {@link #reported}).
 * @param software true for a device with no wire of its own: a send completes inside the kernel's send call.
 */
public record NetDevice(String name, int mtu, long speedBitsPerSecond, boolean software)
{
    /** Nothing known: callers fall back to their own defaults. */
    public static final NetDevice UNKNOWN = new NetDevice(null, 0, 0, false);
    /** Link rate of a device that reports no speed (a software device never does): the kernel's {@code link_mbps}. */
    public static final long DEFAULT_LINK_BITS_PER_SECOND = 25_000_000_000L;

    private static final Path SYS_CLASS_NET = Path.of("/sys/class/net");
    private static final Path SYS_VIRTUAL_NET = Path.of("/sys/devices/virtual/net");

    /**
     * The device that holds an IPv4 address; for the wildcard address 0.0.0.0 the device with the smallest MTU among
     * those that are up, loopback counted only if nothing else is up, since a socket bound to the wildcard may talk
     * through any of them.
     *
     * @param ipv4 address as a big-endian int (as {@code HostAddress.ipv4Of} gives it).
     * @return the device, or {@link #UNKNOWN}.
     */
    public static NetDevice forIpv4(final int ipv4)
    {
        try
        {
            if (0 == ipv4)
            {
                return smallestUp();
            }
            final byte[] bytes = { (byte)(ipv4 >>> 24), (byte)(ipv4 >>> 16), (byte)(ipv4 >>> 8), (byte)ipv4 };
            final NetworkInterface device = NetworkInterface.getByInetAddress(InetAddress.getByAddress(bytes));
            return null == device ? UNKNOWN : of(device);
        }
        catch (final IOException ex)
        {
            return UNKNOWN;
        }
    }

    /**
     * @param name interface name, e.g. {@code eth0}.
     * @return the device, or {@link #UNKNOWN} if there is none of that name.
     */
    public static NetDevice named(final String name)
    {
        try
        {
            final NetworkInterface device = NetworkInterface.getByName(name);
            return null == device ? UNKNOWN : of(device);
        }
        catch (final SocketException ex)
        {
            return UNKNOWN;
        }
    }

    private static NetDevice smallestUp() throws SocketException
    {
        NetworkInterface best = null;
        NetworkInterface loopback = null;
        final Enumeration<NetworkInterface> all = NetworkInterface.getNetworkInterfaces();
        while (null != all && all.hasMoreElements())
        {
            final NetworkInterface device = all.nextElement();
            if (!device.isUp() || !hasIpv4(device))
            {
                continue;
            }
            if (device.isLoopback())
            {
                loopback = device;
            }
            else if (null == best || device.getMTU() < best.getMTU())
            {
                best = device;
            }
        }
        final NetworkInterface chosen = null != best ? best : loopback;
        return null == chosen ? UNKNOWN : of(chosen);
    }

    private static boolean hasIpv4(final NetworkInterface device)
    {
        final Enumeration<InetAddress> addresses = device.getInetAddresses();
        while (addresses.hasMoreElements())
        {
            if (addresses.nextElement() instanceof Inet4Address)
            {
                return true;
            }
        }
        return false;
    }

    private static NetDevice of(final NetworkInterface device) throws SocketException
    {
        final String name = device.getName();
        final boolean software = device.isLoopback() || Files.isDirectory(SYS_VIRTUAL_NET.resolve(name));
        return reported(name, device.getMTU(), speedOf(name), software);
    }

    /**
     * A device as the kernel reports it. A software device's speed is not a rate anything moves at: veth reports a
     * fixed 10,000 Mb/s however fast the path is, and the path's real rate is the CPU's. Taken as a link rate it would
     * size the protocol's windows (unscheduled bytes, incoming budget, grant window) for a 10 Gb/s wire the path
     * outruns several times over, and grants would hold a bulk transfer to a fraction of what the path carries. So a
     * software device has no known speed, and its {@link #linkBitsPerSecond()} is the kernel's {@code link_mbps}
     * default.
     *
     * @param name     interface name.
     * @param mtu      IP MTU in bytes, 0 or less if unknown.
     * @param speedBitsPerSecond the speed the device reports, 0 if none.
     * @param software true for a device with no wire of its own.
     * @return the device.
     */
    static NetDevice reported(final String name, final int mtu, final long speedBitsPerSecond, final boolean software)
    {
        return new NetDevice(name, Math.max(0, mtu), software ? 0 : speedBitsPerSecond, software);
    }

    /**
     * @return the rate to size windows and pace for: the reported speed, or {@link #DEFAULT_LINK_BITS_PER_SECOND}.
     */
    public long linkBitsPerSecond()
    {
        return 0 != speedBitsPerSecond ? speedBitsPerSecond : DEFAULT_LINK_BITS_PER_SECOND;
    }

    private static long speedOf(final String name)
    {
        try
        {
            // Mb/s; -1 or an error (EINVAL from loopback) when the device has no speed to report.
            final long mbps = Long.parseLong(Files.readString(SYS_CLASS_NET.resolve(name).resolve("speed")).trim());
            return mbps > 0 ? mbps * 1_000_000L : 0;
        }
        catch (final IOException | NumberFormatException | SecurityException ex)
        {
            return 0;
        }
    }
}
