package dev.homa.nic.time;

/**
 * Something that happens at a point in virtual time.
 */
@FunctionalInterface
public interface TimedEvent
{
    /**
     * @param nowNs the virtual time at which the event fires (its deadline).
     */
    void onTimedEvent(long nowNs);
}
