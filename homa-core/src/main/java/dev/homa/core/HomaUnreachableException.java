package dev.homa.core;

/**
 * An RPC failed because its peer said nothing listens there: no socket on the port (kernel ENOTCONN, from ICMP port
 * unreachable), no Homa on the host (EPROTONOSUPPORT, protocol unreachable) or no way to the host (EHOSTUNREACH).
 * Reported at once, without waiting for the timeout.
 */
public final class HomaUnreachableException extends HomaException
{
    private static final long serialVersionUID = 1L;

    private final long rpcId;

    /**
     * @param rpcId   the RPC that failed.
     * @param message which host and port, and why.
     */
    public HomaUnreachableException(final long rpcId, final String message)
    {
        super(message);
        this.rpcId = rpcId;
    }

    /**
     * @param rpcId              as {@link #HomaUnreachableException(long, String)}.
     * @param message            as {@link #HomaUnreachableException(long, String)}.
     * @param writableStackTrace false on the protocol thread, which reports this error in a message.
     */
    HomaUnreachableException(final long rpcId, final String message, final boolean writableStackTrace)
    {
        super(message, writableStackTrace);
        this.rpcId = rpcId;
    }

    /**
     * @return the RPC that failed.
     */
    public long rpcId()
    {
        return rpcId;
    }
}
