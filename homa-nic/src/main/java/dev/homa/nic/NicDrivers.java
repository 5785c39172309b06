package dev.homa.nic;

import dev.homa.nic.loopback.FabricRegistry;
import dev.homa.nic.raw.RawEthernetDriver;
import dev.homa.nic.udp.UdpDriver;

import java.net.URI;

/**
 * Opens a driver from a URI, so an application switches between the in-memory fabric, UDP and raw Ethernet by
 * configuration alone:
 * <ul>
 *     <li>{@code loopback://FABRIC/198.18.0.2} - host 198.18.0.2 of an in-memory fabric registered with
 *     {@link FabricRegistry#register(String, dev.homa.nic.loopback.Fabric)};</li>
 *     <li>{@code udp://HOST:PORT?options} - see {@link dev.homa.nic.udp.UdpDriverContext#fromUri(String)};</li>
 *     <li>{@code raw://IFNAME?options} - see {@link RawEthernetDriver#fromUri(String)}.</li>
 * </ul>
 */
public final class NicDrivers
{
    /** Scheme of the in-memory fabric. */
    public static final String LOOPBACK = "loopback";
    /** Scheme of the UDP driver. */
    public static final String UDP = "udp";
    /** Scheme of the raw Ethernet driver. */
    public static final String RAW = "raw";

    private NicDrivers()
    {
    }

    /**
     * @param uri the driver URI.
     * @return an open driver.
     * @throws IllegalArgumentException if the URI is malformed or names an unknown scheme.
     */
    public static NicDriver open(final String uri)
    {
        final URI parsed;
        try
        {
            parsed = URI.create(uri);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException("malformed driver URI '" + uri + "': " + ex.getMessage(), ex);
        }
        final String scheme = null == parsed.getScheme() ? "" : parsed.getScheme();
        return switch (scheme)
        {
            case LOOPBACK -> openLoopback(parsed, uri);
            case UDP -> UdpDriver.fromUri(uri);
            case RAW -> RawEthernetDriver.fromUri(uri);
            default -> throw new IllegalArgumentException(
                "unknown driver scheme '" + scheme + "' in '" + uri + "': use loopback://, udp:// or raw://");
        };
    }

    private static NicDriver openLoopback(final URI parsed, final String uri)
    {
        final String path = parsed.getPath();
        if (null == parsed.getAuthority() || null == path || path.length() < 2)
        {
            throw new IllegalArgumentException("expected loopback://FABRIC/HOST_IPV4, got '" + uri + "'");
        }
        return FabricRegistry.lookup(parsed.getAuthority()).driver(HostAddress.parseIpv4(path.substring(1)));
    }
}
