package dev.homa.nic.loopback;

import dev.homa.nic.time.TimedEvent;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One frame in flight in a timed fabric: a copy of the Homa bytes plus its route. A frame is in exactly one place at
 * a time (a NIC queue, a wire, a switch queue), so it is also its own pooled {@link TimedEvent} for the wire stages.
 */
final class Frame implements TimedEvent
{
    static final int STAGE_NONE = 0;
    static final int STAGE_UPLINK = 1;
    static final int STAGE_REORDER = 2;
    static final int STAGE_DOWNLINK = 3;
    static final int STAGE_HOP = 4;

    final Fabric fabric;
    final UnsafeBuffer buffer;
    int length;
    int wireBytes;
    long source;
    long destination;
    int sourceIndex;
    int destinationIndex;
    int priority;
    int flags;
    int stage;
    long timePs;
    /** pFabric: the rank its sender gave it (lower goes first) and the flow whose order it keeps. */
    long rank;
    long flowKey;
    /** The switch it is on its way to (stage {@link #STAGE_HOP}). */
    Switch nextSwitch;
    Frame next;

    Frame(final Fabric fabric, final UnsafeBuffer buffer)
    {
        this.fabric = fabric;
        this.buffer = buffer;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void onTimedEvent(final long nowNs)
    {
        fabric.onFrameEvent(this, nowNs);
    }
}
