package dev.homa.core;

/**
 * {@link HomaTransport.Context#conclude()} found an invalid or inconsistent setting; the message names it.
 */
public final class HomaConfigurationException extends HomaException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message the setting, its value and the rule it breaks.
     */
    public HomaConfigurationException(final String message)
    {
        super(message);
    }

    /**
     * @param message which setting is wrong and what it must be.
     * @param cause   the underlying failure.
     */
    public HomaConfigurationException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
