package dev.homa.core;

/**
 * An RPC failed because its peer stayed silent for the configured number of timer ticks (kernel ETIMEDOUT):
 * no DATA, GRANT, BUSY or other packet for it arrived in {@code timeoutTicks} ticks despite RESENDs.
 */
public final class HomaTimeoutException extends HomaException
{
    private static final long serialVersionUID = 1L;

    private final long rpcId;

    /**
     * @param rpcId   the RPC that timed out.
     * @param message what was silent for how long.
     */
    public HomaTimeoutException(final long rpcId, final String message)
    {
        super(message);
        this.rpcId = rpcId;
    }

    /**
     * @param rpcId              as {@link #HomaTimeoutException(long, String)}.
     * @param message            as {@link #HomaTimeoutException(long, String)}.
     * @param writableStackTrace false on the protocol thread, which reports this error in a message.
     */
    HomaTimeoutException(final long rpcId, final String message, final boolean writableStackTrace)
    {
        super(message, writableStackTrace);
        this.rpcId = rpcId;
    }

    /**
     * @return the RPC that timed out.
     */
    public long rpcId()
    {
        return rpcId;
    }
}
