package dev.homa.nic.frame;

/**
 * Maps Homa priority levels (0 lowest .. 7 highest) to what carries them on the wire, and back.
 * <ul>
 *     <li><b>802.1Q PCP</b> (raw Ethernet). IEEE 802.1p does not rank PCP values numerically at the bottom: PCP 1
 *     (background) ranks below PCP 0 (best effort); from 2 upward the order is numeric. So level 0 maps to PCP 1,
 *     level 1 to PCP 0, and level n to PCP n for n &ge; 2, which keeps "higher level, served first" true on a
 *     switch with the default 802.1p traffic-class table (PlatformLab/Homa's DPDK driver does the same). The map is
 *     its own inverse.</li>
 *     <li><b>DSCP class selector</b> (IP, UDP). As the kernel module: level n is DSCP CSn = {@code n << 3}, i.e.
 *     TOS byte {@code n << 5} with the ECN bits zero.</li>
 * </ul>
 * All methods are static, branch-light and allocation-free; they throw on levels outside 0..7 because those are
 * programming errors, while the reverse maps accept any wire value and never throw.
 */
public final class PriorityMapping
{
    /**
     * Homa priority levels (the kernel's HOMA_MAX_PRIORITIES), the number PCP and DSCP class selectors carry: the
     * one definition every module uses.
     */
    public static final int LEVELS = 8;
    /** Highest level. */
    public static final int MAX_LEVEL = LEVELS - 1;

    private static final int TOS_SHIFT = 5;
    private static final int DSCP_CLASS_SHIFT = 3;

    private PriorityMapping()
    {
    }

    /**
     * @param level Homa level 0..7.
     * @return the PCP that carries it: 0 -&gt; 1, 1 -&gt; 0, n -&gt; n otherwise.
     * @throws IllegalArgumentException if level is outside 0..7.
     */
    public static int levelToPcp(final int level)
    {
        checkLevel(level);
        return level < 2 ? level ^ 1 : level;
    }

    /**
     * @param pcp PCP from a received tag; only the low 3 bits are used.
     * @return the Homa level it carries: 1 -&gt; 0, 0 -&gt; 1, n -&gt; n otherwise.
     */
    public static int pcpToLevel(final int pcp)
    {
        final int p = pcp & 0x7;
        return p < 2 ? p ^ 1 : p;
    }

    /**
     * @param level Homa level 0..7.
     * @return the DSCP class selector CSn, {@code level << 3}.
     * @throws IllegalArgumentException if level is outside 0..7.
     */
    public static int levelToDscp(final int level)
    {
        checkLevel(level);
        return level << DSCP_CLASS_SHIFT;
    }

    /**
     * @param dscp a received DSCP (6 bits); only the class (top 3 bits) counts, so AFxy and EF map to their class.
     * @return the Homa level.
     */
    public static int dscpToLevel(final int dscp)
    {
        return (dscp >>> DSCP_CLASS_SHIFT) & 0x7;
    }

    /**
     * @param level Homa level 0..7.
     * @return the IPv4 TOS (or IPv6 traffic class) byte, {@code level << 5}, ECN zero.
     * @throws IllegalArgumentException if level is outside 0..7.
     */
    public static int levelToTos(final int level)
    {
        checkLevel(level);
        return level << TOS_SHIFT;
    }

    /**
     * @param tos a received TOS byte; ECN and the low DSCP bits are ignored.
     * @return the Homa level.
     */
    public static int tosToLevel(final int tos)
    {
        return (tos >>> TOS_SHIFT) & 0x7;
    }

    private static void checkLevel(final int level)
    {
        if (level < 0 || level > MAX_LEVEL)
        {
            throw new IllegalArgumentException("Homa priority level out of range 0..7: " + level);
        }
    }
}
