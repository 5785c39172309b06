package dev.homa.nic.loopback;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Decides what goes wrong with one frame on one directed link, after Aeron's {@code LossGenerator}: the fabric asks
 * once per frame, in a fixed order (drop, corrupt, duplicate, reorder), so that a seeded implementation replays the
 * same faults run after run. Every method has a "nothing happens" default: a test overrides only what it needs
 * (for example {@link #shouldDrop} to lose exactly the third DATA packet).
 * <p>
 * Called on the fabric's thread; implementations need no locks. {@code source} and {@code destination} are the
 * {@link dev.homa.nic.HostAddress}es of the link's ends; the buffer's index 0 is the first Homa byte.
 *
 * @see RandomFaultInjector
 */
public interface FaultInjector
{
    /** Injects nothing. */
    FaultInjector NONE = new FaultInjector()
    {
    };

    /**
     * @param source      sending host.
     * @param destination receiving host.
     * @param buffer      the Homa bytes.
     * @param length      number of Homa bytes.
     * @return true to lose the frame.
     */
    default boolean shouldDrop(final long source, final long destination, final DirectBuffer buffer, final int length)
    {
        return false;
    }

    /**
     * Corrupt the frame in place (the sender's copy is never touched).
     *
     * @param source      sending host.
     * @param destination receiving host.
     * @param buffer      the frame's own copy of the Homa bytes, writable.
     * @param length      number of Homa bytes.
     * @return true if bytes were changed.
     */
    default boolean corrupt(
        final long source, final long destination, final MutableDirectBuffer buffer, final int length)
    {
        return false;
    }

    /**
     * @param source      sending host.
     * @param destination receiving host.
     * @param buffer      the Homa bytes.
     * @param length      number of Homa bytes.
     * @return true to deliver the frame twice.
     */
    default boolean shouldDuplicate(
        final long source, final long destination, final DirectBuffer buffer, final int length)
    {
        return false;
    }

    /**
     * @param source      sending host.
     * @param destination receiving host.
     * @param buffer      the Homa bytes.
     * @param length      number of Homa bytes.
     * @return 0 to keep the frame in order, else nanoseconds to hold it back at the switch's ingress (timed mode)
     * so that later frames overtake it; in instant mode any positive value holds it back until the destination's
     * receive queue has drained.
     */
    default long reorderDelayNs(
        final long source, final long destination, final DirectBuffer buffer, final int length)
    {
        return 0;
    }
}
