package dev.homa.nic.raw;

import dev.homa.nic.DriverUri;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDriverFactory;
import dev.homa.nic.NicDrivers;

/**
 * {@code raw://IFNAME?options}: see {@link RawEthernetDriver#fromUri(String)}.
 */
public final class RawEthernetDriverFactory implements NicDriverFactory
{
    @Override
    public String scheme()
    {
        return NicDrivers.RAW;
    }

    @Override
    public NicDriver open(final DriverUri uri)
    {
        return RawEthernetDriver.open(RawEthernetDriverContext.fromUri(uri));
    }
}
