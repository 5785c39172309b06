package dev.homa.bench.load;

import dev.homa.bench.driver.VethNamespaces;

/**
 * Where a run's server and clients live: both on loopback, or the server in one network namespace and the clients
 * in another, joined by a veth pair (198.18.x.0/24, removed when the run ends).
 */
final class Hosts implements AutoCloseable
{
    final String path;
    final String serverNamespace;
    final String clientNamespace;
    final String serverIp;
    final String clientIp;
    final String serverInterface;
    final String clientInterface;
    private final VethNamespaces veth;

    private Hosts(final String path, final VethNamespaces veth)
    {
        this.path = path;
        this.veth = veth;
        if (null == veth)
        {
            serverNamespace = null;
            clientNamespace = null;
            serverIp = "127.0.0.1";
            clientIp = "127.0.0.1";
            serverInterface = "lo";
            clientInterface = "lo";
        }
        else
        {
            serverNamespace = veth.nsB();
            clientNamespace = veth.nsA();
            serverIp = veth.ipB();
            clientIp = veth.ipA();
            serverInterface = VethNamespaces.IF_B;
            clientInterface = VethNamespaces.IF_A;
        }
    }

    /**
     * @param path   {@code loopback} or {@code veth}.
     * @param subnet third octet of 198.18.x.0/24 for veth.
     * @return the hosts, ready.
     */
    static Hosts create(final String path, final int subnet)
    {
        return switch (path)
        {
            case "loopback" -> new Hosts(path, null);
            case "veth" ->
            {
                final String reason = VethNamespaces.skipReasonIfUnavailable();
                if (null != reason)
                {
                    throw new IllegalStateException("veth hosts cannot be built here: " + reason);
                }
                yield new Hosts(path, VethNamespaces.create("hbload", subnet));
            }
            default -> throw new IllegalArgumentException("path must be loopback or veth: " + path);
        };
    }

    boolean isVeth()
    {
        return null != veth;
    }

    @Override
    public void close()
    {
        if (null != veth)
        {
            veth.close();
        }
    }
}
