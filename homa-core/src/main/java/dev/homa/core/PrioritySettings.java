package dev.homa.core;

import dev.homa.core.priority.CutoffCalculator;
import dev.homa.core.priority.Cutoffs;
import dev.homa.nic.frame.PriorityMapping;

/**
 * The priority settings of a transport's {@link HomaTransport.Context} (the kernel's {@code homa_prio}): static or
 * online unscheduled cutoffs, how often and from how many messages they are computed; each with its system
 * property, default and the rules {@link HomaTransport.Context#conclude()} checks.
 *
 * @param <C> the concrete context, which every setter returns.
 */
abstract class PrioritySettings<C extends PrioritySettings<C>> extends PacerSettings<C>
{
    /** System property of {@link #staticCutoffs(int[])}. */
    public static final String STATIC_CUTOFFS_PROP_NAME = "homa.static.cutoffs";

    /** System property of {@link #cutoffIntervalNs(long)}. */
    public static final String CUTOFF_INTERVAL_PROP_NAME = "homa.cutoff.interval";
    /** Default of {@link #cutoffIntervalNs(long)}. */
    public static final long CUTOFF_INTERVAL_DEFAULT_NS = 1_000_000_000L;

    /** System property of {@link #cutoffMinimumMessages(int)}. */
    public static final String CUTOFF_MINIMUM_MESSAGES_PROP_NAME = "homa.cutoff.minimum.messages";
    /** Default of {@link #cutoffMinimumMessages(int)}. */
    public static final int CUTOFF_MINIMUM_MESSAGES_DEFAULT = 10_000;

    /** System property of {@link #cutoffWindowMessages(int)}. */
    public static final String CUTOFF_WINDOW_MESSAGES_PROP_NAME = "homa.cutoff.window.messages";
    /** Default of {@link #cutoffWindowMessages(int)}. */
    public static final int CUTOFF_WINDOW_MESSAGES_DEFAULT = 100_000;

    /** System property of {@link #unscheduledLevels(int)}. */
    public static final String UNSCHEDULED_LEVELS_PROP_NAME = "homa.unscheduled.levels";
    /** Default of {@link #unscheduledLevels(int)}. */
    public static final int UNSCHEDULED_LEVELS_DEFAULT = 0;

    private int[] staticCutoffs = Configuration.intArray(STATIC_CUTOFFS_PROP_NAME, null);
    private long cutoffIntervalNs = Configuration.durationNs(CUTOFF_INTERVAL_PROP_NAME, CUTOFF_INTERVAL_DEFAULT_NS);
    private int cutoffMinimumMessages =
        Configuration.intValue(CUTOFF_MINIMUM_MESSAGES_PROP_NAME, CUTOFF_MINIMUM_MESSAGES_DEFAULT);
    private int cutoffWindowMessages =
        Configuration.intValue(CUTOFF_WINDOW_MESSAGES_PROP_NAME, CUTOFF_WINDOW_MESSAGES_DEFAULT);
    private int unscheduledLevels = Configuration.intValue(UNSCHEDULED_LEVELS_PROP_NAME, UNSCHEDULED_LEVELS_DEFAULT);

    PrioritySettings()
    {
    }

    /**
     * Check the priority settings: the cutoffs and the calculator are built here as the engine builds them, so
     * their own rules are the ones a value meets, and one that passes here cannot fail at launch.
     */
    final void concludePriorities()
    {
        check(cutoffIntervalNs > 0, "cutoffIntervalNs", cutoffIntervalNs, "> 0");
        if (null != staticCutoffs)
        {
            checkWith("staticCutoffs", () -> new Cutoffs().set(staticCutoffs, 1));
            for (int i = 2; i < PriorityMapping.LEVELS; i++)
            {
                check(staticCutoffs[i] <= staticCutoffs[i - 1], "staticCutoffs[" + i + "]", staticCutoffs[i],
                    "<= staticCutoffs[" + (i - 1) + "] (cutoffs never increase with the level)");
            }
        }
        final CutoffCalculator calculator =
            new CutoffCalculator(PriorityMapping.LEVELS, unscheduledBytes(), maxMessageLength());
        checkWith("cutoffMinimumMessages", () -> calculator.minimumMessages(cutoffMinimumMessages));
        checkWith("cutoffWindowMessages", () -> calculator.windowMessages(cutoffWindowMessages));
        checkWith("unscheduledLevels", () -> calculator.forcedUnscheduledLevels(unscheduledLevels));
    }

    /**
     * @param staticCutoffs eight unscheduled cutoffs (entry i = largest length at level i) to use instead of
     *                      computing them online; null (default) = online.
     * @return this.
     */
    public C staticCutoffs(final int[] staticCutoffs)
    {
        checkMutable();
        this.staticCutoffs = null == staticCutoffs ? null : staticCutoffs.clone();
        return self();
    }

    /**
     * @return static cutoffs or null.
     */
    public int[] staticCutoffs()
    {
        return null == staticCutoffs ? null : staticCutoffs.clone();
    }

    /**
     * @param cutoffIntervalNs how often online cutoffs are recomputed (default 1 s, as homa_prio).
     * @return this.
     */
    public C cutoffIntervalNs(final long cutoffIntervalNs)
    {
        checkMutable();
        this.cutoffIntervalNs = cutoffIntervalNs;
        return self();
    }

    /**
     * @return cutoff recompute interval.
     */
    public long cutoffIntervalNs()
    {
        return cutoffIntervalNs;
    }

    /**
     * @param cutoffMinimumMessages messages received before online cutoffs are first computed (default 10,000,
     *                              as homa_prio).
     * @return this.
     */
    public C cutoffMinimumMessages(final int cutoffMinimumMessages)
    {
        checkMutable();
        this.cutoffMinimumMessages = cutoffMinimumMessages;
        return self();
    }

    /**
     * @return messages needed before cutoffs are computed.
     */
    public int cutoffMinimumMessages()
    {
        return cutoffMinimumMessages;
    }

    /**
     * @param cutoffWindowMessages recent messages the cutoff statistics cover (default 100,000).
     * @return this.
     */
    public C cutoffWindowMessages(final int cutoffWindowMessages)
    {
        checkMutable();
        this.cutoffWindowMessages = cutoffWindowMessages;
        return self();
    }

    /**
     * @return cutoff statistics window.
     */
    public int cutoffWindowMessages()
    {
        return cutoffWindowMessages;
    }

    /**
     * @param unscheduledLevels force this many unscheduled levels (1..7); 0 (default) = from the unscheduled
     *                          fraction of bytes (paper section 3.4).
     * @return this.
     */
    public C unscheduledLevels(final int unscheduledLevels)
    {
        checkMutable();
        this.unscheduledLevels = unscheduledLevels;
        return self();
    }

    /**
     * @return forced unscheduled levels, 0 = computed.
     */
    public int unscheduledLevels()
    {
        return unscheduledLevels;
    }
}
