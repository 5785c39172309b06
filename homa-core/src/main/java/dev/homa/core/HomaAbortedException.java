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
}
