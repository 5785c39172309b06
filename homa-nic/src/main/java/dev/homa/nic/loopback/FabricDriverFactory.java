package dev.homa.nic.loopback;

import dev.homa.nic.DriverUri;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDriverFactory;
import dev.homa.nic.NicDrivers;

/**
 * {@code loopback://FABRIC/198.18.0.2}: host 198.18.0.2 of the in-memory fabric registered as FABRIC with
 * {@link FabricRegistry#register(String, Fabric)}.
 */
public final class FabricDriverFactory implements NicDriverFactory
{
    @Override
    public String scheme()
    {
        return NicDrivers.LOOPBACK;
    }

    @Override
    public NicDriver open(final DriverUri uri)
    {
        uri.requireScheme(NicDrivers.LOOPBACK);
        final String path = uri.path();
        if (null == uri.authority() || path.length() < 2)
        {
            throw new IllegalArgumentException("expected loopback://FABRIC/HOST_IPV4, got '" + uri + "'");
        }
        uri.requireAllRead();
        return FabricRegistry.lookup(uri.authority()).driver(HostAddress.parseIpv4(path.substring(1)));
    }
}
