package dev.homa.core;

/**
 * The RPC was aborted by the application ({@link HomaSocket#abort(long)}) or because its socket closed.
 */
public final class HomaAbortedException extends HomaException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message which RPC and why.
     */
    public HomaAbortedException(final String message)
    {
        super(message);
    }

    /**
     * @param message            as {@link #HomaAbortedException(String)}.
     * @param writableStackTrace false on the protocol thread, which reports this error in a message.
     */
    HomaAbortedException(final String message, final boolean writableStackTrace)
    {
        super(message, writableStackTrace);
    }
}
