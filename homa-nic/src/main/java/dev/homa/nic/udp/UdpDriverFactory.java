package dev.homa.nic.udp;

import dev.homa.nic.DriverUri;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDriverFactory;
import dev.homa.nic.NicDrivers;

/**
 * {@code udp://HOST:PORT?options}: see {@link UdpDriverContext#fromUri(DriverUri)}.
 */
public final class UdpDriverFactory implements NicDriverFactory
{
    @Override
    public String scheme()
    {
        return NicDrivers.UDP;
    }

    @Override
    public NicDriver open(final DriverUri uri)
    {
        return new UdpDriver(UdpDriverContext.fromUri(uri));
    }
}
