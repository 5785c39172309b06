package dev.homa.nic;

/**
 * Opens the drivers of one URI scheme. {@link NicDrivers} finds the factories on the class path or module path
 * with {@link java.util.ServiceLoader}, or takes one from {@link NicDrivers#register(NicDriverFactory)}.
 */
public interface NicDriverFactory
{
    /**
     * @return the scheme this factory opens, lower case, such as {@code udp}.
     */
    String scheme();

    /**
     * @param uri a URI of this factory's scheme.
     * @return an open driver.
     * @throws IllegalArgumentException if the URI is malformed or names an unknown option.
     */
    NicDriver open(DriverUri uri);
}
