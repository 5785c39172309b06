package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;

/**
 * How many messages that need grants a sender starts toward one receiver before the receiver grants any of them.
 * A message longer than its unscheduled bytes sends those blind, then waits for the receiver's GRANTs; the receiver
 * grants a few messages at once (its overcommitment) and keeps the others waiting with their unscheduled bytes.
 * Where nothing but the receiver's socket holds those bytes (a software path: two processes on one host, whose
 * receiver reads them only as fast as its share of the cores lets it), a sender with many such messages toward one
 * receiver fills the socket with bytes the receiver cannot grant yet: the socket overflows, and the bytes lost are
 * asked for and sent again, or the whole request restarted, which costs the receiver more of the time it lacks.
 * So at most {@code limit} of a peer's messages that need grants may await their first GRANT; the others wait here,
 * with nothing sent, and start shortest first as the receiver grants earlier ones or they end, but for the pacer's
 * FIFO share ({@code pacerFifoFractionPerMille}): now and then the oldest starts instead, so that a long message
 * cannot wait for good behind a stream of shorter ones. Messages that need no GRANT never wait. Protocol thread only.
 */
final class UnscheduledAdmission
{
    /** A message that needs no admission: it needs no grants, has had its first GRANT, or none is limited. */
    static final byte FREE = 0;
    /** A message that waits for its turn, nothing sent. */
    static final byte HELD = 1;
    /** A message whose unscheduled bytes went, awaiting its first GRANT. */
    static final byte UNGRANTED = 2;

    private final int limit;
    private final int fifoEvery;
    private final SrptQueue srpt;
    private final HomaMetrics metrics;
    private long admitted;

    /**
     * @param ctx     concluded context: {@code maxUngrantedPerPeer} (0 for no limit) and the FIFO share.
     * @param srpt    the send queue an admitted message joins.
     * @param metrics counts messages held ({@code unscheduled_admission_waits}).
     */
    UnscheduledAdmission(final HomaTransport.Context ctx, final SrptQueue srpt, final HomaMetrics metrics)
    {
        this.limit = ctx.maxUngrantedPerPeer();
        this.fifoEvery = ctx.pacerFifoEvery();
        this.srpt = srpt;
        this.metrics = metrics;
    }

    /**
     * A new message with its unscheduled bytes set: admit it, or hold it with nothing granted.
     *
     * @param out  the message.
     * @param peer its receiver.
     * @return false if it is held.
     */
    boolean admit(final OutboundMessage out, final Peer peer)
    {
        if (0 == limit || out.unscheduled >= out.length)
        {
            out.admission = FREE;
            return true;
        }
        if (peer.ungranted < limit)
        {
            peer.ungranted++;
            out.admission = UNGRANTED;
            return true;
        }
        out.admission = HELD;
        out.granted = 0;
        final OutboundMessage tail = peer.heldTail;
        out.heldPrev = tail;
        out.heldNext = null;
        if (null == tail)
        {
            peer.heldHead = out;
        }
        else
        {
            tail.heldNext = out;
        }
        peer.heldTail = out;
        metrics.increment(HomaMetrics.UNSCHEDULED_ADMISSION_WAITS);
        return false;
    }

    /**
     * The receiver showed it has the message (a GRANT or a RESEND for it came): it no longer counts, and a held one
     * may start. A held message the receiver names all the same (it cannot know one, unless the packet is forged)
     * starts at once, uncounted.
     *
     * @param out  the message.
     * @param peer its receiver.
     */
    void onGranted(final OutboundMessage out, final Peer peer)
    {
        if (UNGRANTED == out.admission)
        {
            out.admission = FREE;
            peer.ungranted--;
            admitNext(peer);
        }
        else if (HELD == out.admission)
        {
            unlink(out, peer);
            out.granted = Math.max(out.granted, out.unscheduled);
        }
    }

    /**
     * The message's RPC ends.
     *
     * @param out  the message.
     * @param peer its receiver.
     */
    void onEnded(final OutboundMessage out, final Peer peer)
    {
        onGranted(out, peer);
    }

    /**
     * @param out a message.
     * @return true if it waits for its turn.
     */
    static boolean isHeld(final OutboundMessage out)
    {
        return HELD == out.admission;
    }

    private void admitNext(final Peer peer)
    {
        while (peer.ungranted < limit && null != peer.heldHead)
        {
            // The list is in arrival order: its head is the oldest, the FIFO share's pick.
            OutboundMessage next = peer.heldHead;
            if (0 == fifoEvery || 0 != ++admitted % fifoEvery)
            {
                for (OutboundMessage m = next.heldNext; null != m; m = m.heldNext)
                {
                    if (m.length < next.length)
                    {
                        next = m;
                    }
                }
            }
            unlink(next, peer);
            peer.ungranted++;
            next.admission = UNGRANTED;
            next.granted = next.unscheduled;
            if (next.hasTransmittable())
            {
                srpt.enqueue(next);
            }
        }
    }

    private static void unlink(final OutboundMessage out, final Peer peer)
    {
        final OutboundMessage prev = out.heldPrev;
        final OutboundMessage next = out.heldNext;
        if (null == prev)
        {
            peer.heldHead = next;
        }
        else
        {
            prev.heldNext = next;
        }
        if (null == next)
        {
            peer.heldTail = prev;
        }
        else
        {
            next.heldPrev = prev;
        }
        out.heldPrev = null;
        out.heldNext = null;
        out.admission = FREE;
    }
}
