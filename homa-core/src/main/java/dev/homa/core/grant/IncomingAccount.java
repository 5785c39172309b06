package dev.homa.core.grant;

/**
 * The incoming bytes (granted or unscheduled, not yet received) of all the messages one sending peer has with this
 * host, kept by the {@link GrantScheduler} for its per-peer cap ({@link GrantConfig#maxIncomingBytesPerPeer(int)}).
 * The engine holds one per peer and hands it to each of the peer's messages with
 * {@link GrantState#account(IncomingAccount)}, so the sum needs no lookup.
 */
public final class IncomingAccount
{
    long bytes;

    /**
     * @return the peer's incoming bytes over all its tracked messages.
     */
    public long bytes()
    {
        return bytes;
    }
}
