package dev.homa.bench.rtt;

/**
 * The round-trip paths the driver benchmark measures, each with the floor it is judged against.
 */
public enum RttPath
{
    /**
     * Floor: a bare AF_PACKET socket echoing the raw driver's frames (Ethernet + 802.1Q + IPv4 146 + Homa bytes),
     * receiving from a TPACKET_V2 ring.
     */
    AF_PACKET("af-packet", "AF_PACKET frame echo, TPACKET_V2 ring (floor)", null),
    /** The same with {@code recv(2)} instead of a ring: one system call more per frame, for comparison. */
    AF_PACKET_RECV("af-packet-recv", "AF_PACKET frame echo, recv(2) (second floor)", null),
    /** Floor: a kernel UDP socket (java.nio DatagramChannel, non-blocking, busy-polled) echoing the same payload. */
    KERNEL_UDP("kernel-udp", "kernel UDP socket echo (floor)", null),
    /** The raw Ethernet driver used as a bare frame echo: driver cost without the protocol. */
    RAW_ECHO("raw-echo", "RawEthernetDriver echo, no Homa", AF_PACKET),
    /** The UDP driver used as a bare datagram echo: driver cost without the protocol. */
    UDP_ECHO("udp-echo", "UdpDriver echo, no Homa", KERNEL_UDP),
    /** Homa RPCs over the raw Ethernet driver. */
    HOMA_RAW("homa-raw", "Homa RPC over raw:// driver", AF_PACKET),
    /** Homa RPCs over the UDP driver. */
    HOMA_UDP("homa-udp", "Homa RPC over udp:// driver", KERNEL_UDP),
    /**
     * The UDP driver echo configured for one peer and latency ({@code connect=1&rxtos=false&unconnectedEvery=64}): a
     * connected socket, the floor's kind, no TOS control message per received datagram, and the socket for other
     * peers read on every 64th poll.
     */
    UDP_ECHO_CONNECTED("udp-echo-connected", "UdpDriver echo, connect=1&rxtos=false&unconnectedEvery=64, no Homa",
        KERNEL_UDP),
    /** Homa RPCs over the UDP driver configured as {@link #UDP_ECHO_CONNECTED}. */
    HOMA_UDP_CONNECTED("homa-udp-connected", "Homa RPC over udp://...?connect=1&rxtos=false&unconnectedEvery=64",
        KERNEL_UDP);

    private final String id;
    private final String description;
    private final RttPath floor;

    RttPath(final String id, final String description, final RttPath floor)
    {
        this.id = id;
        this.description = description;
        this.floor = floor;
    }

    /**
     * {@return short name used on the command line and in tables}
     */
    public String id()
    {
        return id;
    }

    /**
     * {@return one-line description}
     */
    public String description()
    {
        return description;
    }

    /**
     * {@return the floor this path is compared with, or null if it is a floor}
     */
    public RttPath floor()
    {
        return floor;
    }

    /**
     * Find a path by its short name.
     *
     * @param id a {@link #id()}.
     * @return the path.
     * @throws IllegalArgumentException naming the known ids.
     */
    public static RttPath of(final String id)
    {
        for (final RttPath path : values())
        {
            if (path.id.equals(id))
            {
                return path;
            }
        }
        final StringBuilder known = new StringBuilder();
        for (final RttPath path : values())
        {
            known.append(known.isEmpty() ? "" : ", ").append(path.id);
        }
        throw new IllegalArgumentException("unknown path '" + id + "'; known: " + known);
    }
}
