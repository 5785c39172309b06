package dev.homa.nic.loopback;

/**
 * The time frames occupy one transmitter (a host NIC or a switch egress port), kept in integer picoseconds.
 * <p>
 * A frame of {@code b} wire bytes takes {@code b * 8 * 10^12 / bitsPerSecond} ps. Where the rate divides
 * {@code 8 * 10^12} (1, 10, 25, 40, 100, 400 Gb/s all do) that is an integer and exact; otherwise the remainder of
 * the division is carried to the next frame, idle gaps or not, so that the link's total busy time is always the
 * exact rational total of all its frames rounded down once: no drift however many packets pass.
 */
final class LinkSerializer
{
    /** Picoseconds in a second. */
    static final long PS_PER_SECOND = 1_000_000_000_000L;

    private final long bitsPerSecond;
    private long carry;
    private long startPs;
    private long endPs;
    private boolean busy;
    private long completedBusyPs;

    LinkSerializer(final long bitsPerSecond)
    {
        this.bitsPerSecond = bitsPerSecond;
    }

    /**
     * Put one frame on the link.
     *
     * @param readyPs   time the frame is ready to go; it starts then or when the link is free, whichever is later.
     * @param wireBytes bytes of the frame on the wire.
     * @return the time its last bit leaves, in ps.
     */
    long start(final long readyPs, final int wireBytes)
    {
        if (busy)
        {
            throw new IllegalStateException("link busy until " + endPs + " ps");
        }
        final long beginPs = Math.max(readyPs, endPs);
        final long numerator = wireBytes * 8L * PS_PER_SECOND + carry;
        final long durationPs = numerator / bitsPerSecond;
        carry = numerator - durationPs * bitsPerSecond;
        startPs = beginPs;
        endPs = beginPs + durationPs;
        busy = true;
        return endPs;
    }

    /**
     * The frame started last has left.
     */
    void finish()
    {
        completedBusyPs += endPs - startPs;
        busy = false;
    }

    boolean isBusy()
    {
        return busy;
    }

    long endPs()
    {
        return endPs;
    }

    /**
     * @param nowPs current time.
     * @return picoseconds the link has spent transmitting up to now.
     */
    long busyPs(final long nowPs)
    {
        return completedBusyPs + (busy ? Math.max(0, Math.min(nowPs, endPs) - startPs) : 0);
    }

    /**
     * @param nowPs current time.
     * @return wire bytes of the frame on the link not yet sent at {@code nowPs}, rounded up.
     */
    long remainingBytes(final long nowPs)
    {
        if (!busy || nowPs >= endPs)
        {
            return 0;
        }
        final long bits = Math.ceilDiv((endPs - Math.max(nowPs, startPs)) * bitsPerSecond, PS_PER_SECOND);
        return Math.ceilDiv(bits, 8);
    }

    /**
     * @param ps a time in picoseconds.
     * @return the first nanosecond at or after it: when the scheduler can fire an event for it.
     */
    static long ceilNs(final long ps)
    {
        return Math.ceilDiv(ps, 1000L);
    }
}
