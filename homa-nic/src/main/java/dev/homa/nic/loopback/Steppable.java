package dev.homa.nic.loopback;

/**
 * Anything a {@link FabricSimulation} drives: an agent's duty cycle plus the next time it wants to run.
 */
public interface Steppable
{
    /**
     * Do one bounded slice of work at the current virtual time.
     *
     * @return how much was done; 0 means idle.
     */
    int doWork();

    /**
     * @return the earliest virtual time at which this needs {@link #doWork()} again even if no packet arrives
     * (a timer), or {@link Long#MAX_VALUE} if none.
     */
    default long nextDeadlineNs()
    {
        return Long.MAX_VALUE;
    }
}
