package dev.homa.core.priority;

import dev.homa.nic.frame.PriorityMapping;
import java.util.Arrays;

/**
 * Computes a receiver's unscheduled cutoffs from the lengths of the messages it recently began to receive (HomaModule
 * util/homa_prio, paper section 3.4; protocol.md section 5).
 * <ol>
 * <li>Unscheduled bytes of a message are all of it up to {@code unscheduledBytes}, else its first
 * {@code unscheduledBytes}.</li>
 * <li>Unscheduled levels = round(levels x unscheduled bytes / all bytes), at least 1 and at most levels - 1 (both
 * kinds of traffic get a level; with a single level it is shared). They are the top levels.</li>
 * <li>Each unscheduled level should carry an equal share of the unscheduled bytes, shorter messages higher: walking
 * the size buckets from small to large, the cutoff of the k-th level from the top is placed at the bucket boundary
 * whose cumulative unscheduled bytes are nearest to k shares (the kernel takes the first boundary at or above; the
 * nearest halves the worst error). A bucket takes at most one boundary and the last bucket none: after a bucket
 * that holds more than a share, what is left is spread over the levels left (as homa_prio), so no two levels share
 * a cutoff while every size above them falls to one level. Then a balance pass moves one boundary at a time to
 * where the worse of its two levels is closest to a share, until no move helps (at most 16 passes): with sizes that
 * come in lumps of several per cent of the bytes, the nearest boundaries can leave two neighbouring levels off in
 * opposite directions. A
 * recomputation takes 0.3-1.4 us on the paper workloads ({@code CutoffCalculatorBenchmark}).</li>
 * <li>The lowest unscheduled level and every scheduled level get {@code maxMessageLength}; levels at or above
 * {@code numPriorities} (when fewer than eight are in use) get 0 so they are never chosen.</li>
 * </ol>
 * Statistics live in log-linear size buckets (32 per power of two, exact below 32 bytes: at most 3% wide), so memory
 * is fixed by {@code maxMessageLength}. Recency comes from two generations of {@code windowMessages / 2} messages
 * each: the estimate covers the last {@code windowMessages / 2} to {@code windowMessages} messages. No allocation
 * after construction; no clock: the engine calls {@link #recompute(Cutoffs)} on its own schedule (the kernel's
 * homa_prio reruns every second).
 */
public final class CutoffCalculator
{
    /**
     * Default number of recent messages the statistics cover (at most).
     */
    public static final int WINDOW_MESSAGES_DEFAULT = 100_000;

    /**
     * Default number of messages needed before cutoffs are computed (homa_prio's threshold).
     */
    public static final int MINIMUM_MESSAGES_DEFAULT = 10_000;

    private static final int SUB_BUCKET_BITS = 5;
    private static final int MAX_BALANCE_PASSES = 16;
    private static final int SUB_BUCKETS = 1 << SUB_BUCKET_BITS;

    private final int numPriorities;
    private final int unscheduledBytes;
    private final int maxMessageLength;
    private final int bucketCount;
    private final long[] currentBytes;
    private final long[] currentUnscheduled;
    private final long[] previousBytes;
    private final long[] previousUnscheduled;
    private final int[] computed = new int[PriorityMapping.LEVELS];
    private final int[] boundary = new int[PriorityMapping.LEVELS];
    private final int[] nonEmpty;
    private final long[] prefix;

    private int generationMessages = WINDOW_MESSAGES_DEFAULT / 2;
    private int minimumMessages = MINIMUM_MESSAGES_DEFAULT;
    private int forcedUnscheduledLevels;
    private long currentMessages;
    private long previousMessages;
    private long messagesRecorded;
    private long rejectedLengths;
    private long recomputations;
    private long installs;
    private int unscheduledLevels;

    /**
     * Create a calculator with the default window and minimum.
     *
     * @param numPriorities    priority levels in use, 1 to {@link PriorityMapping#LEVELS}.
     * @param unscheduledBytes bytes a sender sends unscheduled, at least 1.
     * @param maxMessageLength largest legal message, at least 1.
     * @throws IllegalArgumentException if a value is out of range.
     */
    public CutoffCalculator(final int numPriorities, final int unscheduledBytes, final int maxMessageLength)
    {
        if (numPriorities < 1 || numPriorities > PriorityMapping.LEVELS)
        {
            throw new IllegalArgumentException(
                "numPriorities must be in [1, " + PriorityMapping.LEVELS + "]: " + numPriorities);
        }
        if (unscheduledBytes < 1)
        {
            throw new IllegalArgumentException("unscheduledBytes must be >= 1: " + unscheduledBytes);
        }
        if (maxMessageLength < 1)
        {
            throw new IllegalArgumentException("maxMessageLength must be >= 1: " + maxMessageLength);
        }

        this.numPriorities = numPriorities;
        this.unscheduledBytes = unscheduledBytes;
        this.maxMessageLength = maxMessageLength;
        bucketCount = bucketIndex(maxMessageLength) + 1;
        currentBytes = new long[bucketCount];
        currentUnscheduled = new long[bucketCount];
        previousBytes = new long[bucketCount];
        previousUnscheduled = new long[bucketCount];
        nonEmpty = new int[bucketCount];
        prefix = new long[bucketCount + 1];
        unscheduledLevels = defaultUnscheduledLevels(numPriorities);
    }

    /**
     * Set how many recent messages the statistics cover.
     *
     * @param windowMessages most recent messages the statistics cover, at least 2 (split in two generations).
     * @return this for a fluent API.
     * @throws IllegalArgumentException if below 2.
     */
    public CutoffCalculator windowMessages(final int windowMessages)
    {
        if (windowMessages < 2)
        {
            throw new IllegalArgumentException("windowMessages must be >= 2: " + windowMessages);
        }
        generationMessages = windowMessages / 2;
        return this;
    }

    /**
     * {@return most recent messages the statistics cover}
     */
    public int windowMessages()
    {
        return generationMessages * 2;
    }

    /**
     * Set how many messages the window needs before cutoffs are computed.
     *
     * @param minimumMessages messages in the window before {@link #recompute(Cutoffs)} changes anything, at least 1.
     * @return this for a fluent API.
     * @throws IllegalArgumentException if below 1.
     */
    public CutoffCalculator minimumMessages(final int minimumMessages)
    {
        if (minimumMessages < 1)
        {
            throw new IllegalArgumentException("minimumMessages must be >= 1: " + minimumMessages);
        }
        this.minimumMessages = minimumMessages;
        return this;
    }

    /**
     * {@return messages needed in the window before cutoffs are computed}
     */
    public int minimumMessages()
    {
        return minimumMessages;
    }

    /**
     * Let an operator fix the number of unscheduled levels instead of deriving it from the traffic.
     *
     * @param levels 0 (derive from traffic) or 1 to numPriorities - 1 (1 when a single level is in use).
     * @return this for a fluent API.
     * @throws IllegalArgumentException if out of range.
     */
    public CutoffCalculator forcedUnscheduledLevels(final int levels)
    {
        final int max = Math.max(1, numPriorities - 1);
        if (levels < 0 || levels > max)
        {
            throw new IllegalArgumentException("forcedUnscheduledLevels must be 0 or in [1, " + max + "]: " + levels);
        }
        forcedUnscheduledLevels = levels;
        return this;
    }

    /**
     * Record a message whose reception started (its first packet arrived). Lengths below 1 are counted in
     * {@link #rejectedLengths()} and ignored; lengths above the maximum count as the maximum.
     *
     * @param length whole message length in bytes.
     */
    public void onMessageStarted(final int length)
    {
        if (length < 1)
        {
            rejectedLengths++;
            return;
        }

        if (currentMessages >= generationMessages)
        {
            rotate();
        }

        final int clipped = Math.min(length, maxMessageLength);
        final int bucket = bucketIndex(clipped);
        currentBytes[bucket] += clipped;
        currentUnscheduled[bucket] += Math.min(clipped, unscheduledBytes);
        currentMessages++;
        messagesRecorded++;
    }

    /**
     * Compute cutoffs from the window and install them in {@code target} if they differ from what it holds, with the
     * next version ({@link Cutoffs#nextVersion(int)}). Does nothing before {@link #minimumMessages()} messages.
     * Also updates {@link #unscheduledLevels()} and {@link #maxScheduledPriority()}.
     *
     * @param target the receiver's cutoffs.
     * @return true if {@code target} changed (a new version to advertise).
     */
    public boolean recompute(final Cutoffs target)
    {
        final long messages = currentMessages + previousMessages;
        if (messages < minimumMessages)
        {
            return false;
        }

        long totalBytes = 0;
        long totalUnscheduled = 0;
        for (int b = 0; b < bucketCount; b++)
        {
            totalBytes += currentBytes[b] + previousBytes[b];
            totalUnscheduled += currentUnscheduled[b] + previousUnscheduled[b];
        }
        recomputations++;

        final int levels;
        if (1 == numPriorities)
        {
            levels = 1;
        }
        else if (0 != forcedUnscheduledLevels)
        {
            levels = forcedUnscheduledLevels;
        }
        else
        {
            final long rounded = Math.round((double)numPriorities * totalUnscheduled / totalBytes);
            levels = (int)Math.max(1, Math.min(numPriorities - 1, rounded));
        }
        unscheduledLevels = levels;

        final int top = numPriorities - 1;
        for (int level = 0; level < PriorityMapping.LEVELS; level++)
        {
            computed[level] = level < numPriorities ? maxMessageLength : 0;
        }

        final double share = (double)totalUnscheduled / levels;
        int count = 0;
        for (int b = 0; b < bucketCount; b++)
        {
            final long bytes = currentUnscheduled[b] + previousUnscheduled[b];
            if (0 != bytes)
            {
                nonEmpty[count] = b;
                prefix[count + 1] = prefix[count] + bytes;
                count++;
            }
        }

        // First pass: each boundary at the non-empty bucket whose cumulative bytes are nearest to the goal, one
        // boundary per bucket. A bucket holding several shares takes one level; the next goal spreads what is left
        // over the levels left (as homa_prio), so no two levels share a cutoff and leave the sizes above to one.
        final int boundaries = levels - 1;
        int placed = 0;
        int lastAssigned = -1;
        double goal = share;
        for (int i = 0; i < count && placed < boundaries; i++)
        {
            if (prefix[i + 1] >= goal)
            {
                final boolean usePrevious = i - 1 > lastAssigned && goal - prefix[i] < prefix[i + 1] - goal;
                final int index = usePrevious ? i - 1 : i;
                if (count - 1 == index)
                {
                    break;
                }
                boundary[placed++] = index;
                lastAssigned = index;
                goal = prefix[index + 1] + (double)(totalUnscheduled - prefix[index + 1]) / (levels - placed);
                i = index;
            }
        }
        if (placed == boundaries && boundariesSplitEveryLevel(count, boundaries))
        {
            balance(count, boundaries, share);
        }
        for (int k = 0; k < placed; k++)
        {
            computed[top - k] = Math.min(bucketUpperBound(nonEmpty[boundary[k]]), maxMessageLength);
        }

        if (target.sameCutoffs(computed))
        {
            return false;
        }
        target.set(computed, Cutoffs.nextVersion(target.version()));
        installs++;
        return true;
    }

    /**
     * {@return unscheduled levels from the last computation (before any: half the levels, as the kernel's defaults)}
     */
    public int unscheduledLevels()
    {
        return unscheduledLevels;
    }

    /**
     * {@return highest level for scheduled data: levels - unscheduled levels - 1 (0 when a single level is shared)}
     */
    public int maxScheduledPriority()
    {
        return Math.max(0, numPriorities - unscheduledLevels - 1);
    }

    /**
     * {@return messages in the current window}
     */
    public long windowMessageCount()
    {
        return currentMessages + previousMessages;
    }

    /**
     * {@return messages recorded since construction}
     */
    public long messagesRecorded()
    {
        return messagesRecorded;
    }

    /**
     * {@return lengths below 1 that were ignored}
     */
    public long rejectedLengths()
    {
        return rejectedLengths;
    }

    /**
     * {@return computations run (enough messages were in the window)}
     */
    public long recomputations()
    {
        return recomputations;
    }

    /**
     * {@return computations that installed changed cutoffs}
     */
    public long installs()
    {
        return installs;
    }

    /**
     * The largest length of a length's statistics bucket.
     *
     * @param length message length, 1 to the maximum.
     * @return largest length counted in the same statistics bucket (a possible cutoff value).
     */
    public int bucketUpperBoundFor(final int length)
    {
        return Math.min(bucketUpperBound(bucketIndex(Math.min(Math.max(length, 1), maxMessageLength))),
            maxMessageLength);
    }

    private boolean boundariesSplitEveryLevel(final int count, final int boundaries)
    {
        for (int k = 1; k < boundaries; k++)
        {
            if (boundary[k] <= boundary[k - 1])
            {
                return false;
            }
        }
        return 0 == boundaries || boundary[boundaries - 1] < count - 1;
    }

    /**
     * Second pass: sizes come in lumps (a single message size can carry several per cent of the bytes), so the
     * boundary nearest to k shares can still leave a level well off its share, and two neighbours off in opposite
     * directions. Move one boundary at a time to where the worse of its two levels is closest to a share, until no
     * move helps: the worst level never gets worse. Bounded: each pass is one walk over the non-empty buckets.
     */
    private void balance(final int count, final int boundaries, final double share)
    {
        for (int pass = 0; pass < MAX_BALANCE_PASSES; pass++)
        {
            boolean moved = false;
            for (int k = 0; k < boundaries; k++)
            {
                final int from = 0 == k ? 0 : boundary[k - 1] + 1;
                final int to = k + 1 < boundaries ? boundary[k + 1] : count - 1;
                int best = boundary[k];
                double bestCost = pairCost(from, best, to, share);
                for (int x = from; x < to; x++)
                {
                    final double cost = pairCost(from, x, to, share);
                    if (cost < bestCost)
                    {
                        best = x;
                        bestCost = cost;
                    }
                }
                if (best != boundary[k])
                {
                    boundary[k] = best;
                    moved = true;
                }
            }
            if (!moved)
            {
                return;
            }
        }
    }

    // The worse deviation from a share of the two levels [from, split] and (split, to] of non-empty buckets.
    private double pairCost(final int from, final int split, final int to, final double share)
    {
        final long upper = prefix[split + 1] - prefix[from];
        final long lower = prefix[to + 1] - prefix[split + 1];
        return Math.max(Math.abs(upper - share), Math.abs(lower - share));
    }

    private void rotate()
    {
        System.arraycopy(currentBytes, 0, previousBytes, 0, bucketCount);
        System.arraycopy(currentUnscheduled, 0, previousUnscheduled, 0, bucketCount);
        Arrays.fill(currentBytes, 0);
        Arrays.fill(currentUnscheduled, 0);
        previousMessages = currentMessages;
        currentMessages = 0;
    }

    private static int defaultUnscheduledLevels(final int numPriorities)
    {
        return Math.max(1, numPriorities / 2);
    }

    static int bucketIndex(final int value)
    {
        if (value < SUB_BUCKETS)
        {
            return value;
        }
        final int exponent = 31 - Integer.numberOfLeadingZeros(value);
        final int shift = exponent - SUB_BUCKET_BITS;
        final int mantissa = (value >>> shift) & (SUB_BUCKETS - 1);
        return SUB_BUCKETS + shift * SUB_BUCKETS + mantissa;
    }

    static int bucketUpperBound(final int index)
    {
        if (index < SUB_BUCKETS)
        {
            return index;
        }
        final int shift = (index - SUB_BUCKETS) / SUB_BUCKETS;
        final int mantissa = (index - SUB_BUCKETS) % SUB_BUCKETS;
        final long upper = ((long)(SUB_BUCKETS + mantissa + 1) << shift) - 1;
        return (int)Math.min(Integer.MAX_VALUE, upper);
    }
}
