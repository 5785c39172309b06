package dev.homa.nic;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Opens a driver from a URI, so an application switches between drivers by configuration alone. Each scheme has a
 * {@link NicDriverFactory}, found with {@link ServiceLoader} or registered by the application; homa-nic provides:
 * <ul>
 *     <li>{@code loopback://FABRIC/198.18.0.2} - host 198.18.0.2 of an in-memory fabric registered with
 *     {@code FabricRegistry.register};</li>
 *     <li>{@code udp://HOST:PORT?options} - see {@code UdpDriverContext.fromUri};</li>
 *     <li>{@code raw://IFNAME?options} - see {@code RawEthernetDriver.fromUri}.</li>
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

    private static final Map<String, NicDriverFactory> FACTORIES = new TreeMap<>();

    static
    {
        final ClassLoader loader = NicDrivers.class.getClassLoader();
        for (final NicDriverFactory factory : ServiceLoader.load(NicDriverFactory.class, loader))
        {
            FACTORIES.putIfAbsent(factory.scheme(), factory);
        }
    }

    private NicDrivers()
    {
    }

    /**
     * Make a scheme available to {@link #open}.
     *
     * @param factory opens the scheme's drivers.
     * @throws IllegalStateException if the scheme has a factory already.
     */
    public static void register(final NicDriverFactory factory)
    {
        synchronized (FACTORIES)
        {
            final NicDriverFactory existing = FACTORIES.putIfAbsent(factory.scheme(), factory);
            if (null != existing && existing != factory)
            {
                throw new IllegalStateException("driver scheme '" + factory.scheme() + "' is taken by " + existing);
            }
        }
    }

    /**
     * @param uri the driver URI.
     * @return an open driver.
     * @throws IllegalArgumentException if the URI is malformed or names an unknown scheme.
     */
    public static NicDriver open(final String uri)
    {
        final DriverUri parsed = DriverUri.parse(uri);
        final NicDriverFactory factory;
        final String known;
        synchronized (FACTORIES)
        {
            factory = FACTORIES.get(parsed.scheme());
            known = String.join("://, ", FACTORIES.keySet()) + "://";
        }
        if (null == factory)
        {
            throw new IllegalArgumentException(
                "unknown driver scheme '" + parsed.scheme() + "' in '" + uri + "': use " + known);
        }
        return factory.open(parsed);
    }
}
