package dev.homa.nic.loopback;

import org.agrona.DirectBuffer;

/**
 * Sees every packet event in a {@link Fabric}, for tests that decode the traffic (SRPT order, priorities) and for
 * comparing two runs ({@link FabricTraceRecorder}). Called on the fabric's thread, synchronously.
 */
@FunctionalInterface
public interface FabricTraceListener
{
    /** A host NIC put the frame on its uplink (timed: serialization starts; instant: on flush). */
    int SENT = 0;
    /** The switch accepted the frame into the destination's egress queue; {@code detail} holds fault flags. */
    int ENQUEUED = 1;
    /** The frame was lost; {@code detail} is a {@link DropReason}. */
    int DROPPED = 2;
    /** The frame reached the destination's receive queue; {@code detail} holds fault flags. */
    int DELIVERED = 3;

    /** Fault flag: a byte of the frame was changed. */
    int FLAG_CORRUPTED = 1;
    /** Fault flag: this frame is the extra copy of a duplicated one. */
    int FLAG_DUPLICATE = 2;
    /**
     * Fault flag: this frame was held back so that later ones overtook it. In instant mode its DELIVERED event is
     * reported when it is put aside; the receiver sees it once its receive queue has drained.
     */
    int FLAG_REORDERED = 4;

    /**
     * One packet event.
     *
     * @param event       {@link #SENT}, {@link #ENQUEUED}, {@link #DROPPED} or {@link #DELIVERED}.
     * @param detail      fault flags, or the {@link DropReason} of a drop.
     * @param timeNs      virtual time of the event.
     * @param source      sending host's address.
     * @param destination receiving host's address (as given to send, if it is not a fabric host).
     * @param priority    Homa priority level 0..7.
     * @param buffer      the Homa bytes from index 0; valid only during the call.
     * @param length      number of Homa bytes.
     */
    void onPacketEvent(
        int event,
        int detail,
        long timeNs,
        long source,
        long destination,
        int priority,
        DirectBuffer buffer,
        int length);

    /**
     * @param event an event code.
     * @return its name.
     */
    static String eventName(final int event)
    {
        return switch (event)
        {
            case SENT -> "SENT";
            case ENQUEUED -> "ENQUEUED";
            case DROPPED -> "DROPPED";
            case DELIVERED -> "DELIVERED";
            default -> "EVENT(" + event + ")";
        };
    }
}
