package dev.homa.core.priority;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.nic.frame.PriorityMapping;
import java.util.Arrays;

/**
 * A set of unscheduled priority cutoffs and its version (HomaModule {@code unsched_cutoffs} and
 * {@code cutoff_version}; protocol.md section 5). Entry {@code i} is the largest message length that uses level
 * {@code i}; a sender picks, from the top level down, the first level whose cutoff is at least the message length.
 * <p>
 * A receiver keeps one set for itself (computed by {@link CutoffCalculator} or configured statically) and a sender
 * keeps one per peer, starting from {@link #unknownPeer()} and updated from CUTOFFS packets. Version 0 means "no
 * cutoffs received yet"; real versions are 1 to 65535 and wrap past 0.
 */
public final class Cutoffs
{
    /**
     * Largest version: it travels in a 16-bit field.
     */
    public static final int MAX_VERSION = 0xFFFF;

    private final int[] cutoffs = new int[PriorityMapping.LEVELS];
    private int version;

    /**
     * Create a set with every cutoff 0 and version 0 (as a zeroed kernel structure); fill it with
     * {@link #set(int[], int)} or {@link #copyFrom(Cutoffs)}.
     */
    public Cutoffs()
    {
    }

    /**
     * Kernel defaults: level 7 up to 200 bytes, 6 up to 2,800, 5 up to 15,000, 4 up to 1,000,000 (so levels 0-3 are
     * never used for unscheduled data; they also hold 1,000,000), version 1.
     *
     * @return a new set.
     */
    public static Cutoffs kernelDefaults()
    {
        return kernelDefaults(DataHeaderFlyweight.MAX_MESSAGE_LENGTH);
    }

    /**
     * The kernel defaults for a host that takes messages longer than the kernel's: level 4 and below hold
     * {@code maxMessageLength} instead of 1,000,000, so a longer message's unscheduled bytes still go at level 4
     * rather than falling through to level 0.
     *
     * @param maxMessageLength the host's largest message; below 1,000,000 the kernel's value is kept.
     * @return a new set.
     */
    public static Cutoffs kernelDefaults(final int maxMessageLength)
    {
        final int max = Math.max(DataHeaderFlyweight.MAX_MESSAGE_LENGTH, maxMessageLength);
        return new Cutoffs().set(new int[]{ max, max, max, max, max, 15_000, 2_800, 200 }, 1);
    }

    /**
     * What a sender uses for a peer it has not heard cutoffs from: level 7 takes nothing, level 6 everything, version
     * 0 (which differs from any receiver's version, so the receiver replies with CUTOFFS).
     *
     * @return a new set.
     */
    public static Cutoffs unknownPeer()
    {
        return new Cutoffs().set(new int[]{ 0, 0, 0, 0, 0, 0, Integer.MAX_VALUE, 0 }, 0);
    }

    /**
     * The cutoff of one level.
     *
     * @param level 0 to {@link PriorityMapping#LEVELS} - 1.
     * @return largest message length that uses this level.
     */
    public int cutoff(final int level)
    {
        return cutoffs[level];
    }

    /**
     * {@return version of this set, 0 for none}
     */
    public int version()
    {
        return version;
    }

    /**
     * Unscheduled priority for a message (kernel homa_unsched_priority): the highest level whose cutoff is at least
     * the whole message length, or 0 if none is.
     *
     * @param messageLength whole message length in bytes.
     * @return the level.
     */
    public int unscheduledPriorityFor(final int messageLength)
    {
        for (int level = PriorityMapping.LEVELS - 1; level > 0; level--)
        {
            if (cutoffs[level] >= messageLength)
            {
                return level;
            }
        }
        return 0;
    }

    /**
     * Install new cutoffs (from a CUTOFFS packet or a computation).
     *
     * @param cutoffs {@link PriorityMapping#LEVELS} values, index = level; copied.
     * @param version 0 to {@link #MAX_VERSION}.
     * @return this for a fluent API.
     * @throws IllegalArgumentException if the array length, a value or the version is out of range.
     */
    public Cutoffs set(final int[] cutoffs, final int version)
    {
        if (cutoffs.length != PriorityMapping.LEVELS)
        {
            throw new IllegalArgumentException("need " + PriorityMapping.LEVELS + " cutoffs: " + cutoffs.length);
        }
        if (version < 0 || version > MAX_VERSION)
        {
            throw new IllegalArgumentException("version must be in [0, " + MAX_VERSION + "]: " + version);
        }
        for (int i = 0; i < PriorityMapping.LEVELS; i++)
        {
            if (cutoffs[i] < 0)
            {
                throw new IllegalArgumentException("cutoff " + i + " must be >= 0: " + cutoffs[i]);
            }
        }

        System.arraycopy(cutoffs, 0, this.cutoffs, 0, PriorityMapping.LEVELS);
        this.version = version;
        return this;
    }

    /**
     * Change one cutoff without touching the version (used while decoding a CUTOFFS packet).
     *
     * @param level  0 to {@link PriorityMapping#LEVELS} - 1.
     * @param cutoff largest message length for the level, at least 0.
     * @return this for a fluent API.
     * @throws IllegalArgumentException if the cutoff is negative.
     */
    public Cutoffs cutoff(final int level, final int cutoff)
    {
        if (cutoff < 0)
        {
            throw new IllegalArgumentException("cutoff " + level + " must be >= 0: " + cutoff);
        }
        cutoffs[level] = cutoff;
        return this;
    }

    /**
     * Change the version alone (used while decoding a CUTOFFS packet).
     *
     * @param version 0 to {@link #MAX_VERSION}.
     * @return this for a fluent API.
     * @throws IllegalArgumentException if out of range.
     */
    public Cutoffs version(final int version)
    {
        if (version < 0 || version > MAX_VERSION)
        {
            throw new IllegalArgumentException("version must be in [0, " + MAX_VERSION + "]: " + version);
        }
        this.version = version;
        return this;
    }

    /**
     * Copy another set's cutoffs and version.
     *
     * @param other source.
     * @return this for a fluent API.
     */
    public Cutoffs copyFrom(final Cutoffs other)
    {
        System.arraycopy(other.cutoffs, 0, cutoffs, 0, PriorityMapping.LEVELS);
        version = other.version;
        return this;
    }

    /**
     * Whether this set holds the given cutoffs.
     *
     * @param cutoffs {@link PriorityMapping#LEVELS} values.
     * @return true if this set holds exactly these cutoffs (the version is not compared).
     */
    public boolean sameCutoffs(final int[] cutoffs)
    {
        return Arrays.equals(this.cutoffs, cutoffs);
    }

    /**
     * The version after {@code version}: 16 bits, skipping 0 (which means "none").
     *
     * @param version current version.
     * @return next version, 1 to {@link #MAX_VERSION}.
     */
    public static int nextVersion(final int version)
    {
        final int next = (version + 1) & MAX_VERSION;
        return 0 == next ? 1 : next;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String toString()
    {
        return "Cutoffs{version=" + version + ", cutoffs=" + Arrays.toString(cutoffs) + '}';
    }
}
