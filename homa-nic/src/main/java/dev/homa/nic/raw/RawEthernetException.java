package dev.homa.nic.raw;

/**
 * The raw Ethernet driver could not start or lost its interface: the message says which system call failed, with
 * what error, and for a permission problem which capability is missing.
 */
public final class RawEthernetException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed and why.
     */
    public RawEthernetException(final String message)
    {
        super(message);
    }
}
