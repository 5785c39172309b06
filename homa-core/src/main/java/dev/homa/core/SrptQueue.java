package dev.homa.core;

/**
 * Every outbound message with bytes it may transmit, in one intrusive list ordered by bytes left to send (SRPT:
 * shortest remaining first; equal ones keep arrival order). Insertion walks the list, which stays short: it holds
 * only messages with granted, unsent bytes.
 */
final class SrptQueue
{
    private OutboundMessage head;

    /**
     * @return the message with the fewest bytes left, or null when empty.
     */
    OutboundMessage head()
    {
        return head;
    }

    /**
     * Insert a message at its SRPT position; no-op if already queued.
     *
     * @param out the message.
     */
    void enqueue(final OutboundMessage out)
    {
        if (out.queued)
        {
            return;
        }
        out.queued = true;
        final int remaining = out.remaining();
        OutboundMessage prev = null;
        OutboundMessage cur = head;
        while (null != cur && cur.remaining() <= remaining)
        {
            prev = cur;
            cur = cur.srptNext;
        }
        out.srptPrev = prev;
        out.srptNext = cur;
        if (null == prev)
        {
            head = out;
        }
        else
        {
            prev.srptNext = out;
        }
        if (null != cur)
        {
            cur.srptPrev = out;
        }
    }

    /**
     * Unlink a message; no-op if not queued.
     *
     * @param out the message.
     */
    void dequeue(final OutboundMessage out)
    {
        if (!out.queued)
        {
            return;
        }
        out.queued = false;
        if (null == out.srptPrev)
        {
            head = out.srptNext;
        }
        else
        {
            out.srptPrev.srptNext = out.srptNext;
        }
        if (null != out.srptNext)
        {
            out.srptNext.srptPrev = out.srptPrev;
        }
        out.srptPrev = null;
        out.srptNext = null;
    }

    /**
     * @param first where to start (normally the head).
     * @return the oldest message from {@code first} on that has bytes to transmit, or {@code first} itself.
     */
    OutboundMessage oldestTransmittable(final OutboundMessage first)
    {
        OutboundMessage oldest = first;
        for (OutboundMessage m = first.srptNext; null != m; m = m.srptNext)
        {
            if (m.birthOrder < oldest.birthOrder && m.hasTransmittable())
            {
                oldest = m;
            }
        }
        return oldest;
    }
}
