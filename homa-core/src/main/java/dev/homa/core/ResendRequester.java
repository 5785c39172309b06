package dev.homa.core;

import dev.homa.core.wire.ResendFlyweight;

/**
 * Works out which bytes of an inbound message are missing and asks the sender for them (RESEND), always at the
 * highest level, as the kernel asks (homa_request_retrans): lost bytes are late already, and a kernel sender
 * retransmits at the level asked. Used by the timer after silence, by a client answering NEED_ACK, and when
 * receive-pool pages free up for a message whose earlier packets were dropped for lack of space.
 */
final class ResendRequester
{
    private final ControlSender controlSender;
    private final int highestPriority;

    /**
     * @param controlSender   writes the RESEND packets.
     * @param highestPriority the highest usable level.
     */
    ResendRequester(final ControlSender controlSender, final int highestPriority)
    {
        this.controlSender = controlSender;
        this.highestPriority = highestPriority;
    }

    /**
     * Ask the peer for every missing byte range: one RESEND per gap plus one for granted bytes beyond the highest
     * received; a client whose response has not started asks for "everything sent" (length -1).
     */
    void requestRetransmission(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        if (!in.started())
        {
            if (rpc.client)
            {
                controlSender.sendResend(rpc, 0, ResendFlyweight.LENGTH_ALL, highestPriority);
            }
            return;
        }
        if (in.waitingForPages)
        {
            return;
        }
        for (int i = 0; i < in.gapCount; i++)
        {
            final int start = in.gapStarts[i];
            controlSender.sendResend(rpc, start, in.gapEnds[i] - start, highestPriority);
        }
        final int granted = in.grantedEnd();
        if (in.highest < granted)
        {
            controlSender.sendResend(rpc, in.highest, granted - in.highest, highestPriority);
        }
    }
}
