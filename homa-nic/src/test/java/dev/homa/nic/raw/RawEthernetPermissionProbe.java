package dev.homa.nic.raw;

/**
 * Child-process entry point for the permission test: opens the raw driver on the interface named by the first
 * argument and reports the outcome on standard output ("OPENED" or "REFUSED: message"), exit code 0 or 3.
 */
public final class RawEthernetPermissionProbe
{
    private RawEthernetPermissionProbe()
    {
    }

    /**
     * @param args interface name.
     */
    public static void main(final String[] args)
    {
        try (RawEthernetDriver driver = RawEthernetDriver.fromUri("raw://" + args[0] + "?pool=16"))
        {
            System.out.println("OPENED " + driver.interfaceIndex());
        }
        catch (final RawEthernetException ex)
        {
            System.out.println("REFUSED: " + ex.getMessage());
            System.exit(3);
        }
    }
}
