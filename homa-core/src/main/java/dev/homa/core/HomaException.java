package dev.homa.core;

/**
 * Root of the errors Homa reports to the application: API misuse, exhausted limits and failed RPCs.
 */
public class HomaException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what went wrong, precisely.
     */
    public HomaException(final String message)
    {
        super(message);
    }

    /**
     * An error the protocol thread reports: it reaches the application in a message, where the protocol thread's
     * stack says nothing, so none is captured (filling one in costs microseconds on the thread every RPC shares).
     *
     * @param message            what went wrong, precisely.
     * @param writableStackTrace false on the protocol thread.
     */
    HomaException(final String message, final boolean writableStackTrace)
    {
        super(message, null, false, writableStackTrace);
    }

    /**
     * @param message what went wrong, precisely.
     * @param cause   underlying failure.
     */
    public HomaException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
