package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;

/**
 * How many bytes of a new message go before any grant, per peer. The configured amount is one bandwidth-delay
 * product at {@code homa.rtt}. On a software path (loopback, veth: a driver without a transmit queue) the round trip
 * is that of two processes' protocol loops, not known in advance and often several times {@code homa.rtt}; a
 * message that needs a GRANT before its round trip has passed leaves the sender idle. There, unless the user set
 * {@code homa.unscheduled.bytes}, each peer's unscheduled bytes follow the shortest round trip measured to it: from
 * a message's start to its first GRANT, the time the receiver takes to see the message and grant more. The
 * shortest, not an average, because a sample only grows with queueing behind other messages. Never less than the
 * configured amount, never more than the per-peer incoming budget ({@code maxIncomingBytesPerPeer}), in whole
 * packets. Protocol thread only.
 */
final class UnscheduledSizer
{
    /** {@link OutboundMessage#startedNs} of a message whose round trip is not, or no longer, measured. */
    static final long NOT_MEASURED = Long.MIN_VALUE;

    private static final long MAX_SAMPLE_NS = 1_000_000_000L;

    private final boolean measured;
    private final int configuredBytes;
    private final int maxBytes;
    private final int payload;
    private final long linkBytesPerSecond;
    private final HomaMetrics metrics;

    /**
     * @param measured        follow each peer's measured round trip (a software path, unscheduled bytes derived).
     * @param configuredBytes the concluded unscheduled bytes.
     * @param maxBytes        the most a peer's messages may send unscheduled (rounded down to whole packets).
     * @param payload         DATA payload bytes per packet.
     * @param linkBitsPerSecond the driver's link rate.
     * @param metrics         counts each raise ({@code unscheduled_raises}).
     */
    UnscheduledSizer(
        final boolean measured,
        final int configuredBytes,
        final int maxBytes,
        final int payload,
        final long linkBitsPerSecond,
        final HomaMetrics metrics)
    {
        this.measured = measured;
        this.configuredBytes = configuredBytes;
        this.maxBytes = Math.max(configuredBytes, maxBytes / payload * payload);
        this.payload = payload;
        this.linkBytesPerSecond = linkBitsPerSecond / 8;
        this.metrics = metrics;
    }

    /**
     * @return true if messages' round trips are measured.
     */
    boolean measured()
    {
        return measured;
    }

    /**
     * @param peer the destination.
     * @return unscheduled bytes of a new message to it.
     */
    int unscheduledFor(final Peer peer)
    {
        return Math.max(configuredBytes, peer.unscheduledBytes);
    }

    /**
     * A message's first GRANT came back.
     *
     * @param peer  the receiver.
     * @param rttNs time from the message's start to the GRANT.
     */
    void onFirstGrant(final Peer peer, final long rttNs)
    {
        if (rttNs <= 0 || rttNs >= peer.minRttNs || rttNs > MAX_SAMPLE_NS)
        {
            return;
        }
        peer.minRttNs = rttNs;
        final long bytes = linkBytesPerSecond * rttNs / 1_000_000_000L;
        final long rounded = (bytes + payload - 1) / payload * payload;
        final int bytesNow = (int)Math.min(maxBytes, Math.max(configuredBytes, rounded));
        if (bytesNow > peer.unscheduledBytes)
        {
            peer.unscheduledBytes = bytesNow;
            metrics.increment(HomaMetrics.UNSCHEDULED_RAISES);
        }
    }
}
