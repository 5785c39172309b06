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
     * Make this frame a duplicate of one at the switch: the same bytes, route and time, flagged as a duplicate and
     * as corrupted if the original is.
     *
     * @param original the frame copied.
     */
    void copyOf(final Frame original)
    {
        buffer.putBytes(0, original.buffer, 0, original.length);
        length = original.length;
        wireBytes = original.wireBytes;
        source = original.source;
        sourceIndex = original.sourceIndex;
        destination = original.destination;
        destinationIndex = original.destinationIndex;
        priority = original.priority;
        rank = original.rank;
        flowKey = original.flowKey;
        flags = (original.flags & FabricTraceListener.FLAG_CORRUPTED) | FabricTraceListener.FLAG_DUPLICATE;
        timePs = original.timePs;
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
