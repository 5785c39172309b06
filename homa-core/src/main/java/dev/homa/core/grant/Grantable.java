package dev.homa.core.grant;

/**
 * An incoming message as the {@link GrantScheduler} sees it. Implemented by the engine's inbound message so the
 * scheduler needs no copy of it: the scheduler keeps its own per-message fields in {@link #grantState()}.
 * <p>
 * All values must be stable between calls into the scheduler: the engine updates {@link #bytesReceived()} and then
 * tells the scheduler through {@link GrantScheduler#onDataReceived(Grantable)}.
 */
public interface Grantable
{
    /**
     * {@return key of the sending host (e.g. a {@code HostAddress}); messages of one peer compete for one slot}
     */
    long peer();

    /**
     * {@return total length of the message in bytes, at least 1}
     */
    int messageLength();

    /**
     * {@return distinct payload bytes received so far, between 0 and {@link #messageLength()}}
     */
    int bytesReceived();

    /**
     * {@return monotonic arrival sequence number: smaller is older. Breaks SRPT ties and picks the FIFO grant}
     */
    long birthOrder();

    /**
     * {@return the scheduler's state for this message, created once by the engine and reset when the message starts}
     */
    GrantState grantState();
}
