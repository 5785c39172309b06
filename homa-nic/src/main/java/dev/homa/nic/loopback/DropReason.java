package dev.homa.nic.loopback;

/**
 * Why the fabric lost a frame: each reason has a counter ({@link Fabric#drops(int)}) and is the {@code detail} of a
 * {@link FabricTraceListener#DROPPED} event.
 */
public final class DropReason
{
    /** The fault injector lost it. */
    public static final int LOSS = 0;
    /** The destination's switch egress port buffer was full (tail drop). */
    public static final int PORT_FULL = 1;
    /** The destination host's packet pool had no free slot. */
    public static final int RX_POOL_EMPTY = 2;
    /** No fabric host has the destination address. */
    public static final int NO_ROUTE = 3;
    /** The source or destination host is down or closed. */
    public static final int HOST_DOWN = 4;
    /** The fabric's frame memory for packets in flight was exhausted. */
    public static final int FRAME_POOL_EMPTY = 5;
    /** Number of reasons. */
    public static final int COUNT = 6;

    private DropReason()
    {
    }

    /**
     * Name a reason code.
     *
     * @param reason a reason code.
     * @return its name.
     */
    public static String name(final int reason)
    {
        return switch (reason)
        {
            case LOSS -> "LOSS";
            case PORT_FULL -> "PORT_FULL";
            case RX_POOL_EMPTY -> "RX_POOL_EMPTY";
            case NO_ROUTE -> "NO_ROUTE";
            case HOST_DOWN -> "HOST_DOWN";
            case FRAME_POOL_EMPTY -> "FRAME_POOL_EMPTY";
            default -> "REASON(" + reason + ")";
        };
    }
}
