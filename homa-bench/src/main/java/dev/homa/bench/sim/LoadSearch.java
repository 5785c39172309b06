package dev.homa.bench.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleFunction;
import java.util.function.Function;

/**
 * The highest load a transport sustains on a workload: the largest offered load (to a resolution) that a
 * {@link Criterion} accepts, found by bisection between a load that is sustained and one that is not. Each probe is a
 * full run at that load with its own warm-up and window.
 */
final class LoadSearch
{
    /** Share at or above which a load counts as sustained, under either criterion. */
    static final double DELIVERED_SHARE = 0.99;

    /**
     * What "sustained" means.
     */
    enum Criterion
    {
        /**
         * The window's RPCs are delivered within {@link #DELIVERED_SHARE} of their bytes by the end of the drain.
         * Decides when the drain outlasts the slowest message a stable network delays; with SRPT and heavy-tailed
         * sizes (W4, W5) a stable network can starve its longest messages beyond any practical drain.
         */
        DELIVERED,

        /**
         * The network keeps up with the traffic in the window's second half: the bytes received in it are at least
         * {@link #DELIVERED_SHARE} of the bytes sent in it, so the backlog (sent and not yet received, whenever sent)
         * grew by less than 1% of the traffic. The first half lets the backlog reach its level; a network that falls
         * behind grows it at the rate of the excess for good, one that keeps up does not, however long it delays a
         * few messages. Needs a window of many transmission times of the longest message, or a long message sent
         * late in it outweighs 1%.
         */
        BACKLOG;

        /**
         * @param result a run.
         * @return true if it sustained its load.
         */
        boolean sustained(final RunResult result)
        {
            return (DELIVERED == this ? result.deliveredShare() : result.lateReceivedShare()) >= DELIVERED_SHARE;
        }

        /**
         * @param name delivered or backlog.
         * @return the criterion.
         */
        static Criterion parse(final String name)
        {
            return switch (name.trim().toLowerCase(java.util.Locale.ROOT))
            {
                case "delivered" -> DELIVERED;
                case "backlog" -> BACKLOG;
                default -> throw new IllegalArgumentException("--max-load-criterion is delivered or backlog: " + name);
            };
        }
    }

    /**
     * One search's outcome.
     *
     * @param workload the workload's name.
     * @param variant  the transport.
     * @param maxLoad  the highest load sustained (0 if not even the lowest probe was).
     * @param probes   runs made.
     * @param runs     every probe's result, in the order made.
     */
    record Outcome(String workload, Variant variant, double maxLoad, int probes, List<RunResult> runs)
    {
    }

    private LoadSearch()
    {
    }

    /**
     * @param specAtLoad the run to make at a given load.
     * @param runner     makes a run.
     * @param lowest     the lowest load probed; assumed and checked to be sustained.
     * @param resolution stop when the bracket is this narrow.
     * @param criterion  what a sustained load is.
     * @return the outcome.
     */
    static Outcome search(
        final DoubleFunction<RunSpec> specAtLoad,
        final Function<RunSpec, RunResult> runner,
        final double lowest,
        final double resolution,
        final Criterion criterion)
    {
        final List<RunResult> runs = new ArrayList<>();
        final RunSpec first = specAtLoad.apply(lowest);
        final RunResult atLowest = runner.apply(first);
        runs.add(atLowest);
        if (!criterion.sustained(atLowest))
        {
            return new Outcome(first.workload().name(), first.variant(), 0, runs.size(), runs);
        }
        double good = lowest;
        double bad = 1.0;
        while (bad - good > resolution + 1e-9)
        {
            final double mid = Math.round((good + bad) / 2 / resolution) * resolution;
            final double load = mid <= good || mid >= bad ? (good + bad) / 2 : mid;
            final RunResult result = runner.apply(specAtLoad.apply(load));
            runs.add(result);
            if (criterion.sustained(result))
            {
                good = load;
            }
            else
            {
                bad = load;
            }
        }
        return new Outcome(first.workload().name(), first.variant(), good, runs.size(), runs);
    }

}
