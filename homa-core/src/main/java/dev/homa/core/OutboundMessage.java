package dev.homa.core;

/**
 * The sending half of an RPC (a client's request or a server's response): its bytes in pool pages, kept for
 * retransmission until the RPC ends (send-pool pages the application's bytes were copied into, or the receive-pool
 * pages of a received message that a reply forwards without a copy: {@link #pool}; or, lent, the application's own
 * memory); how far the bytes were copied
 * in by the application, sent, and granted; and the priorities to use. Queued in the engine's SRPT send list while
 * it has transmittable bytes.
 */
final class OutboundMessage
{
    final int[] pages;
    int pageCount;
    /** The pool {@link #pages} belong to, and go back to when the RPC ends; null for a lent message. */
    PagePool pool;
    /** Address of a lent message's first byte in the application's memory ({@link HomaSocket#SEND_NO_COPY}). */
    long lentAddress;
    int length;
    /** Bytes copied in from the application so far (a long message arrives in several command chunks). */
    int available;
    /** Next new byte to transmit. */
    int nextOffset;
    /** Bytes the receiver allows: unscheduled bytes at first, then the latest GRANT. */
    int granted;
    /** Bytes sent without a grant (rounded up to a full packet, or the incast limit). */
    int unscheduled;
    /** When the message was armed, while its first GRANT is awaited for a round-trip sample. */
    long startedNs = UnscheduledSizer.NOT_MEASURED;
    int scheduledPriority;
    /** Creation order, for the pacer's FIFO share (oldest first). */
    long birthOrder;
    boolean queued;
    /** Its place in {@link UnscheduledAdmission}: free, held, or awaiting its first GRANT. */
    byte admission;
    OutboundMessage heldPrev;
    OutboundMessage heldNext;
    OutboundMessage srptPrev;
    OutboundMessage srptNext;
    Rpc rpc;

    OutboundMessage(final int maxPages)
    {
        this.pages = new int[maxPages];
    }

    void reset(final Rpc rpc, final int length)
    {
        this.rpc = rpc;
        this.length = length;
        pageCount = 0;
        pool = null;
        lentAddress = 0;
        available = 0;
        nextOffset = 0;
        granted = 0;
        unscheduled = 0;
        startedNs = UnscheduledSizer.NOT_MEASURED;
        scheduledPriority = 0;
        queued = false;
        admission = UnscheduledAdmission.FREE;
        heldPrev = null;
        heldNext = null;
        srptPrev = null;
        srptNext = null;
    }

    /**
     * @return end (exclusive) of the bytes that may be sent now.
     */
    int transmittableEnd()
    {
        return Math.min(Math.min(granted, available), length);
    }

    boolean hasTransmittable()
    {
        return nextOffset < transmittableEnd();
    }

    int remaining()
    {
        return length - nextOffset;
    }

    boolean fullySent()
    {
        return nextOffset >= length;
    }

}
