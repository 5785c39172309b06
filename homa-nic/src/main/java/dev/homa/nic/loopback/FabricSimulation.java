package dev.homa.nic.loopback;

import dev.homa.nic.time.VirtualTimeScheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Drives agents and a fabric together in virtual time: at each instant, run every {@link Steppable} until none does
 * any work (firing fabric events due at that instant in between), then jump the clock to the earliest of the next
 * fabric event and the agents' deadlines; repeat until the stop condition holds or the time limit is reached.
 * <p>
 * Deterministic: agents run in the order added, events in the scheduler's order. A livelock guard fails the run
 * with {@link IllegalStateException} when agents keep reporting work at one instant for more than
 * {@link #maxRoundsPerInstant(int)} rounds, or keep naming a deadline that has passed without doing anything.
 */
public final class FabricSimulation
{
    /** Default limit of busy rounds at one virtual instant before the run is declared a livelock. */
    public static final int DEFAULT_MAX_ROUNDS_PER_INSTANT = 100_000;

    private final VirtualTimeScheduler scheduler;
    private final List<Steppable> agents = new ArrayList<>();
    private Steppable[] agentArray = new Steppable[0];
    private int maxRoundsPerInstant = DEFAULT_MAX_ROUNDS_PER_INSTANT;
    private long rounds;
    private long steps;

    /**
     * @param fabric whose scheduler to drive.
     */
    public FabricSimulation(final Fabric fabric)
    {
        this(fabric.scheduler());
    }

    /**
     * @param scheduler the virtual time to drive.
     */
    public FabricSimulation(final VirtualTimeScheduler scheduler)
    {
        this.scheduler = scheduler;
    }

    /**
     * @param agent to run each round, after those added before.
     * @return this.
     */
    public FabricSimulation add(final Steppable agent)
    {
        agents.add(agent);
        agentArray = agents.toArray(new Steppable[0]);
        return this;
    }

    /**
     * @param rounds busy rounds allowed at one instant.
     * @return this.
     */
    public FabricSimulation maxRoundsPerInstant(final int rounds)
    {
        if (rounds < 1)
        {
            throw new IllegalArgumentException("maxRoundsPerInstant must be >= 1: " + rounds);
        }
        maxRoundsPerInstant = rounds;
        return this;
    }

    /**
     * @return the scheduler driven.
     */
    public VirtualTimeScheduler scheduler()
    {
        return scheduler;
    }

    /**
     * @return current virtual time.
     */
    public long nowNs()
    {
        return scheduler.nowNs();
    }

    /**
     * @return agent rounds run so far (one round = every agent's doWork once).
     */
    public long rounds()
    {
        return rounds;
    }

    /**
     * @return clock advances so far.
     */
    public long steps()
    {
        return steps;
    }

    /**
     * Run until {@code stop} holds, checked after every round at an instant.
     *
     * @param stop        condition to end the run.
     * @param timeLimitNs absolute virtual time not to pass.
     * @return true if the condition held; false if the time limit came first (the clock is then at the limit) or
     * nothing was left to happen (no event, no deadline).
     */
    public boolean runUntil(final BooleanSupplier stop, final long timeLimitNs)
    {
        int staleDeadlines = 0;
        while (true)
        {
            final long nowNs = scheduler.nowNs();
            int roundsHere = 0;
            int work;
            do
            {
                if (stop.getAsBoolean())
                {
                    return true;
                }
                work = scheduler.runDue();
                for (final Steppable agent : agentArray)
                {
                    work += agent.doWork();
                }
                rounds++;
                if (++roundsHere > maxRoundsPerInstant)
                {
                    throw new IllegalStateException("livelock: agents still busy after " + maxRoundsPerInstant +
                        " rounds at t=" + nowNs + " ns");
                }
            }
            while (0 != work);

            if (stop.getAsBoolean())
            {
                return true;
            }
            long nextNs = scheduler.nextDeadlineNs();
            for (final Steppable agent : agentArray)
            {
                nextNs = Math.min(nextNs, agent.nextDeadlineNs());
            }
            if (Long.MAX_VALUE == nextNs)
            {
                return false;
            }
            if (nextNs > timeLimitNs)
            {
                scheduler.runUntil(timeLimitNs);
                return false;
            }
            if (nextNs <= nowNs)
            {
                // An agent names a deadline that is due, yet did nothing in the last round: give it a few more
                // rounds (it may act on its deadline only on the next call), then call it what it is.
                if (++staleDeadlines > maxRoundsPerInstant)
                {
                    throw new IllegalStateException("livelock: an agent's deadline " + nextNs +
                        " ns is due at t=" + nowNs + " ns but it does no work");
                }
                continue;
            }
            staleDeadlines = 0;
            steps++;
            scheduler.runUntil(nextNs);
        }
    }

    /**
     * Run for a stretch of virtual time (or until nothing is left to happen).
     *
     * @param durationNs how long.
     */
    public void runFor(final long durationNs)
    {
        final long limitNs = scheduler.nowNs() + durationNs;
        runUntil(() -> false, limitNs);
        if (scheduler.nowNs() < limitNs)
        {
            scheduler.runUntil(limitNs);
        }
    }
}
