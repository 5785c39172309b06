package dev.homa.test;

import java.io.IOException;

/**
 * Whether this process may build network namespaces: Linux, root (CAP_SYS_ADMIN and CAP_NET_ADMIN), an {@code ip}
 * binary and a kernel that lets us add a namespace. Probed once per JVM. What runs code inside a namespace (the
 * {@link NamespaceEntry}) is wiring, not environment: a class path without one fails the test rather than skip it.
 */
final class NetnsAvailability
{
    private static final long PID = ProcessHandle.current().pid();
    private static volatile String skipReason;
    private static volatile boolean probed;

    private NetnsAvailability()
    {
    }

    /**
     * @return null if namespaces can be built, else a sentence saying why not.
     */
    static String skipReason()
    {
        if (!probed)
        {
            synchronized (NetnsAvailability.class)
            {
                if (!probed)
                {
                    skipReason = probe();
                    probed = true;
                }
            }
        }
        return skipReason;
    }

    private static String probe()
    {
        if (!"Linux".equals(System.getProperty("os.name")))
        {
            return "network namespaces need Linux, this is " + System.getProperty("os.name");
        }
        try
        {
            final long capEff = Capabilities.effective();
            final long capNetAdmin = 1L << Capabilities.CAP_NET_ADMIN;
            final long capSysAdmin = 1L << Capabilities.CAP_SYS_ADMIN;
            if ((capEff & (capNetAdmin | capSysAdmin)) != (capNetAdmin | capSysAdmin))
            {
                return "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN); effective capabilities are 0x" +
                    Long.toHexString(capEff);
            }
        }
        catch (final IOException ex)
        {
            return "cannot read /proc/self/status: " + ex;
        }
        try
        {
            NetnsPair.run("ip", "-V");
        }
        catch (final RuntimeException ex)
        {
            return "the iproute2 'ip' command is not available: " + ex.getMessage();
        }
        final String probe = "hprobe" + PID;
        try
        {
            NetnsPair.run("ip", "netns", "add", probe);
        }
        catch (final RuntimeException ex)
        {
            return "ip netns add is not permitted here: " + ex.getMessage();
        }
        finally
        {
            NetnsPair.tryRun("ip", "netns", "del", probe);
        }
        return null;
    }
}
