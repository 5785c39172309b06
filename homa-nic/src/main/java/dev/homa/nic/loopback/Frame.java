package dev.homa.nic.loopback;

import dev.homa.nic.time.TimedEvent;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One frame in flight in a timed fabric: a copy of the Homa bytes plus its route. A frame is in exactly one place at
 * a time (a NIC queue, a wire, a switch queue), so it is also its own pooled {@link TimedEvent}: for the end of its
 * transmission by a NIC or a switch port as for the wire stages. Nearly every event of a run is then a frame's, and
 * the scheduler's call to it stays monomorphic.
 */
final class Frame implements TimedEvent
{
    static final int STAGE_NONE = 0;
    static final int STAGE_UPLINK = 1;
    static final int STAGE_REORDER = 2;
    static final int STAGE_DOWNLINK = 3;
    static final int STAGE_HOP = 4;
    /** Being sent by {@link #nic}: its event is the end of the transmission. */
    static final int STAGE_NIC = 5;
    /** Being sent by {@link #port}: its event is the end of the transmission. */
    static final int STAGE_PORT = 6;

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
    /** The NIC sending it (stage {@link #STAGE_NIC}). */
    FabricDriver nic;
    /** The switch port sending it (stage {@link #STAGE_PORT}). */
    SwitchPort port;
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
        switch (stage)
        {
            case STAGE_NIC -> nic.onTransmitComplete(this);
            case STAGE_PORT -> port.onTransmitComplete(this);
            default -> fabric.onFrameEvent(this, nowNs);
        }
    }
}
