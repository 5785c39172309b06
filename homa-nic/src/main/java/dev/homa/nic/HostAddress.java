package dev.homa.nic;

/**
 * A network address packed into a {@code long}, so that peers, routes and packet sources are primitive values on
 * the hot path: map keys without boxing, fields without allocation.
 * <pre>
 *   63      56 55    48 47           32 31                            0
 *  +----------+--------+---------------+-------------------------------+
 *  |  family  |   0    |  port (UDP)   |  IPv4 address / IPv6 index    |
 *  +----------+--------+---------------+-------------------------------+
 * </pre>
 * The port is only meaningful to drivers that multiplex hosts on a transport port (UDP); raw Ethernet and the
 * in-memory fabric leave it 0. IPv6 addresses do not fit and are reserved to be interned by a driver-owned table
 * whose index goes in the low word ({@link #FAMILY_IPV6}).
 */
public final class HostAddress
{
    /** No address. */
    public static final long NONE = 0L;
    /** Family tag for an IPv4 address held in the low 32 bits. */
    public static final int FAMILY_IPV4 = 4;
    /** Family tag for an IPv6 address interned in a driver table; the low 32 bits are the table index. */
    public static final int FAMILY_IPV6 = 6;

    private static final int FAMILY_SHIFT = 56;
    private static final int PORT_SHIFT = 32;

    private HostAddress()
    {
    }

    /**
     * @param ipv4 address in network order as an int (first octet in the top byte).
     * @return the packed address with port 0.
     */
    public static long ipv4(final int ipv4)
    {
        return ((long)FAMILY_IPV4 << FAMILY_SHIFT) | (ipv4 & 0xFFFF_FFFFL);
    }

    /**
     * @param ipv4 address in network order as an int.
     * @param port transport port, 0..65535.
     * @return the packed address.
     */
    public static long ipv4(final int ipv4, final int port)
    {
        if (port < 0 || port > 0xFFFF)
        {
            throw new IllegalArgumentException("port out of range 0..65535: " + port);
        }
        return ipv4(ipv4) | ((long)port << PORT_SHIFT);
    }

    /**
     * Parse a dotted quad, optionally followed by {@code :port}. Not for the hot path.
     *
     * @param text such as {@code 198.18.0.1} or {@code 198.18.0.1:4000}.
     * @return the packed address.
     */
    public static long parseIpv4(final String text)
    {
        final int colon = text.indexOf(':');
        final String host = colon < 0 ? text : text.substring(0, colon);
        final int port = colon < 0 ? 0 : Integer.parseInt(text.substring(colon + 1));
        final String[] parts = host.split("\\.", -1);
        if (4 != parts.length)
        {
            throw new IllegalArgumentException("not an IPv4 address: " + text);
        }
        int value = 0;
        for (final String part : parts)
        {
            final int octet = Integer.parseInt(part);
            if (octet < 0 || octet > 255)
            {
                throw new IllegalArgumentException("octet out of range in " + text);
            }
            value = (value << 8) | octet;
        }
        return ipv4(value, port);
    }

    /**
     * @param address packed address.
     * @return its family tag, 0 for {@link #NONE}.
     */
    public static int family(final long address)
    {
        return (int)(address >>> FAMILY_SHIFT) & 0xFF;
    }

    /**
     * @param address packed address.
     * @return true if it holds an IPv4 address.
     */
    public static boolean isIpv4(final long address)
    {
        return FAMILY_IPV4 == family(address);
    }

    /**
     * @param address packed IPv4 address.
     * @return the IPv4 address in network order as an int.
     */
    public static int ipv4Of(final long address)
    {
        return (int)address;
    }

    /**
     * @param address packed address.
     * @return the transport port, 0 if none.
     */
    public static int portOf(final long address)
    {
        return (int)(address >>> PORT_SHIFT) & 0xFFFF;
    }

    /**
     * @param address packed address.
     * @return the same host with the port cleared: the key for per-host state such as a Homa peer.
     */
    public static long hostOf(final long address)
    {
        return address & ~(0xFFFFL << PORT_SHIFT);
    }

    /**
     * @param address packed address.
     * @param port    new port.
     * @return the same host with another port.
     */
    public static long withPort(final long address, final int port)
    {
        return hostOf(address) | ((long)(port & 0xFFFF) << PORT_SHIFT);
    }

    /**
     * @param address packed address.
     * @return printable form such as {@code 198.18.0.1:4000}; allocates, so not for the hot path.
     */
    public static String toString(final long address)
    {
        return appendTo(new StringBuilder(24), address).toString();
    }

    /**
     * @param builder to append to.
     * @param address packed address.
     * @return the builder.
     */
    public static StringBuilder appendTo(final StringBuilder builder, final long address)
    {
        switch (family(address))
        {
            case FAMILY_IPV4 ->
            {
                final int ip = ipv4Of(address);
                builder.append((ip >>> 24) & 0xFF).append('.').append((ip >>> 16) & 0xFF).append('.')
                    .append((ip >>> 8) & 0xFF).append('.').append(ip & 0xFF);
            }
            case FAMILY_IPV6 -> builder.append("ipv6#").append(ipv4Of(address));
            default -> builder.append("none");
        }
        final int port = portOf(address);
        if (0 != port)
        {
            builder.append(':').append(port);
        }
        return builder;
    }
}
