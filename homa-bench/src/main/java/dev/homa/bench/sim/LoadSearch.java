package dev.homa.bench.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleFunction;
import java.util.function.Function;

/**
 * The highest load a transport sustains on a workload: the largest offered load (to a resolution) whose delivered
 * load is within {@link #DELIVERED_SHARE} of it, found by bisection between a load that is sustained and one that
 * is not. Each probe is a full run at that load with its own warm-up and window.
 */
final class LoadSearch
{
    /** Delivered over offered load at or above which a load counts as sustained. */
    static final double DELIVERED_SHARE = 0.99;

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
     * @return the outcome.
     */
    static Outcome search(
        final DoubleFunction<RunSpec> specAtLoad,
        final Function<RunSpec, RunResult> runner,
        final double lowest,
        final double resolution)
    {
        final List<RunResult> runs = new ArrayList<>();
        final RunSpec first = specAtLoad.apply(lowest);
        final RunResult atLowest = runner.apply(first);
        runs.add(atLowest);
        if (!sustained(atLowest))
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
            if (sustained(result))
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

    /**
     * @param result a run.
     * @return true if it delivered its offered load within {@link #DELIVERED_SHARE}.
     */
    static boolean sustained(final RunResult result)
    {
        return result.deliveredShare() >= DELIVERED_SHARE;
    }
}
