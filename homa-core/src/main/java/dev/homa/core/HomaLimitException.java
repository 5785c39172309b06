package dev.homa.core;

/**
 * A configured limit was reached: message length, RPCs in flight per socket, send or receive pool, peers, server
 * RPCs, or the command buffer. The message names the limit, its value and the property that configures it.
 */
public final class HomaLimitException extends HomaException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message the limit and its value.
     */
    public HomaLimitException(final String message)
    {
        super(message);
    }

    /**
     * @param message            as {@link #HomaLimitException(String)}.
     * @param writableStackTrace false on the protocol thread, which reports this error in a message.
     */
    HomaLimitException(final String message, final boolean writableStackTrace)
    {
        super(message, writableStackTrace);
    }
}
