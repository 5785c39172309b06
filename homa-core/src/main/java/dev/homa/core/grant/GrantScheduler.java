package dev.homa.core.grant;

/**
 * Receiver-side grant scheduler (HomaModule homa_grant semantics): SRPT over incoming messages, overcommitment,
 * dynamic window, total incoming budget, scheduled priorities and FIFO grants.
 */
public final class GrantScheduler
{
    private final GrantConfig config;

    public GrantScheduler(final GrantConfig config)
    {
        this.config = config.validate();
    }

    public void add(final Grantable message)
    {
    }

    public void onDataReceived(final Grantable message)
    {
    }

    public void remove(final Grantable message)
    {
    }

    public int sendGrants(final long nowNs, final GrantSender sender)
    {
        return 0;
    }

    public int activeCount()
    {
        return 0;
    }

    public void maxScheduledPriority(final int maxScheduledPriority)
    {
    }

    public int incomingBytes()
    {
        return 0;
    }
}
