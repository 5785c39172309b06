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
     * @param message what went wrong, precisely.
     * @param cause   underlying failure.
     */
    public HomaException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
