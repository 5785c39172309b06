package dev.homa.core.grant;

/**
 * Callback through which the {@link GrantScheduler} emits GRANT packets. The engine encodes and sends them.
 */
@FunctionalInterface
public interface GrantSender
{
    /**
     * Send a GRANT for a message.
     *
     * @param message     the message being granted.
     * @param grantOffset the sender may transmit all bytes below this offset (never lower than a previous grant).
     * @param priority    network priority level the sender should use for the scheduled bytes.
     */
    void sendGrant(Grantable message, int grantOffset, int priority);
}
