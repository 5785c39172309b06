package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;

/**
 * Rate limits on the control packets a host sends in answer to packets that name no RPC of it (RPC_UNKNOWN for a
 * RESEND, ACK for a NEED_ACK): each peer may be sent at most {@code maxAnswersPerPeerPerTick} of them per timer
 * tick, and all hosts without a peer entry together at most {@code maxAnswersToUnknownPerTick}; and on those that
 * name one (BUSY): at most one per RPC per tick. Nothing here is needed for progress on the first try: a skipped
 * answer is counted and the peer's timer asks again, so a flood of packets (forged or not) from one address, or
 * from ever new ones, draws a bounded stream back. (What the timer sends on its own, RESEND and NEED_ACK, is bounded
 * by this host's RPCs and their schedules.)
 */
final class AnswerLimiter
{
    private final HomaMetrics metrics;
    private final int perPeer;
    private final int toUnknown;
    private long tick;
    private int unknownAnswers;

    /**
     * @param metrics   counts the skipped answers.
     * @param perPeer   answers per peer per tick.
     * @param toUnknown answers per tick to hosts without a peer entry.
     */
    AnswerLimiter(final HomaMetrics metrics, final int perPeer, final int toUnknown)
    {
        this.metrics = metrics;
        this.perPeer = perPeer;
        this.toUnknown = toUnknown;
    }

    /**
     * A timer tick passed: every peer's allowance is whole again.
     */
    void onTick()
    {
        tick++;
        unknownAnswers = 0;
    }

    /**
     * Take the RPC's one answer of this tick.
     *
     * @param rpc the RPC answered for.
     * @return true if the answer may be sent; false if one went this tick already (counted).
     */
    boolean allowOncePerTick(final Rpc rpc)
    {
        if (rpc.answerTick != tick)
        {
            rpc.answerTick = tick;
            return true;
        }
        metrics.increment(HomaMetrics.ANSWERS_LIMITED);
        return false;
    }

    /**
     * Take one answer from the allowance.
     *
     * @param peer the destination's entry, or null if the host has none.
     * @return true if the answer may be sent; false if it must be skipped (counted).
     */
    boolean allow(final Peer peer)
    {
        if (null == peer)
        {
            if (unknownAnswers < toUnknown)
            {
                unknownAnswers++;
                return true;
            }
        }
        else
        {
            if (peer.answerTick != tick)
            {
                peer.answerTick = tick;
                peer.answers = 0;
            }
            if (peer.answers < perPeer)
            {
                peer.answers++;
                return true;
            }
        }
        metrics.increment(HomaMetrics.ANSWERS_LIMITED);
        return false;
    }
}
