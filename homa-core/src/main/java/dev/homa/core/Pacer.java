package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import org.agrona.concurrent.CachedNanoClock;

/**
 * Decides when outbound DATA leaves: from the head of the {@link SrptQueue} while the driver's queue is below its
 * cap, so the SRPT choice is made as late as possible (kernel pacer, link_idle_time). A small share of paced
 * packets (pacer FIFO fraction) goes to the oldest message instead, so a long message cannot starve behind a stream
 * of shorter ones. Messages shorter than {@code smallMessageBytes} bypass the pacer (kernel defer_min_bytes) so it
 * never delays them.
 */
final class Pacer
{
    private final SrptQueue queue;
    private final DataSender dataSender;
    private final PacketTransmitter transmitter;
    private final HomaMetrics metrics;
    private final CachedNanoClock clock;
    private final int maxPayload;
    private final int maxNicQueueBytes;
    private final int smallMessageBytes;
    private final int maxSendBurst;
    private final int pacerFifoEvery;
    private final long tickNs;
    private final double nsPerByte;
    private long pacerWakeNs;
    private boolean throttled;
    private long paced;

    /**
     * @param ctx         concluded context (limits).
     * @param queue       the SRPT queue.
     * @param dataSender  writes DATA.
     * @param transmitter the batching transmitter (its queued bytes).
     * @param metrics     counters.
     * @param clock       the duty cycle's cached time.
     */
    Pacer(
        final HomaTransport.Context ctx,
        final SrptQueue queue,
        final DataSender dataSender,
        final PacketTransmitter transmitter,
        final HomaMetrics metrics,
        final CachedNanoClock clock)
    {
        this.queue = queue;
        this.dataSender = dataSender;
        this.transmitter = transmitter;
        this.metrics = metrics;
        this.clock = clock;
        this.maxPayload = ctx.maxPayload();
        this.maxNicQueueBytes = ctx.maxNicQueueBytes();
        this.smallMessageBytes = ctx.smallMessageBytes();
        this.maxSendBurst = ctx.maxSendBurst();
        this.pacerFifoEvery = ctx.pacerFifoEvery();
        this.tickNs = ctx.tickNs();
        this.nsPerByte = 8e9 / ctx.driver().linkBitsPerSecond();
    }

    /**
     * @param nowNs current time.
     * @return when the pacer next has work: now, the time the NIC queue drains below the cap, or
     * {@link Long#MAX_VALUE} when nothing waits.
     */
    long deadlineNs(final long nowNs)
    {
        if (null == queue.head())
        {
            return Long.MAX_VALUE;
        }
        return throttled ? Math.max(nowNs, pacerWakeNs) : nowNs;
    }

    /**
     * More of a message became transmittable (new bytes from the application or a larger grant): send a tiny
     * message right away, queue anything else for the pacer.
     *
     * @param out the message.
     */
    void onBytesAvailable(final OutboundMessage out)
    {
        if (!out.hasTransmittable())
        {
            return;
        }
        if (out.length < smallMessageBytes)
        {
            while (out.hasTransmittable())
            {
                final int offset = out.nextOffset;
                final int end = Math.min(offset + maxPayload, out.transmittableEnd());
                if (!dataSender.sendData(out.rpc, offset, end - offset, dataSender.priorityFor(out, offset)))
                {
                    break;
                }
                out.nextOffset = end;
            }
            onSent(out.rpc);
            if (out.hasTransmittable())
            {
                queue.enqueue(out);
            }
        }
        else
        {
            queue.enqueue(out);
        }
    }

    /**
     * Send up to a burst of DATA packets in SRPT order while the NIC queue has room.
     *
     * @return packets sent.
     */
    int pace()
    {
        int sent = 0;
        throttled = false;
        while (sent < maxSendBurst)
        {
            OutboundMessage out = queue.head();
            if (null == out)
            {
                break;
            }
            if (0 != pacerFifoEvery && 0 == (paced + 1) % pacerFifoEvery && null != out.srptNext)
            {
                // The pacer's FIFO share (kernel pacer fifo_fraction): now and then the oldest message goes
                // instead of the shortest, so a long message cannot starve behind a stream of shorter ones.
                out = queue.oldestTransmittable(out);
            }
            if (!out.hasTransmittable())
            {
                queue.dequeue(out);
                continue;
            }
            final long queued = transmitter.queuedBytes();
            if (queued >= maxNicQueueBytes)
            {
                throttled = true;
                pacerWakeNs = clock.nanoTime() +
                    Math.max(1, (long)Math.ceil((queued - maxNicQueueBytes + 1) * nsPerByte));
                metrics.increment(HomaMetrics.PACER_THROTTLED);
                break;
            }
            final int offset = out.nextOffset;
            final int end = Math.min(offset + maxPayload, out.transmittableEnd());
            if (!dataSender.sendData(out.rpc, offset, end - offset, dataSender.priorityFor(out, offset)))
            {
                throttled = true;
                pacerWakeNs = clock.nanoTime() + tickNs;
                break;
            }
            out.nextOffset = end;
            sent++;
            paced++;
            if (!out.hasTransmittable())
            {
                queue.dequeue(out);
            }
            else if (out != queue.head())
            {
                // Sending shrank its remaining bytes: keep the list in SRPT order.
                queue.dequeue(out);
                queue.enqueue(out);
            }
            onSent(out.rpc);
        }
        return sent;
    }

    /**
     * A client whose request has fully left now awaits the response.
     *
     * @param rpc the RPC that sent.
     */
    void onSent(final Rpc rpc)
    {
        if (rpc.client && Rpc.STATE_OUTGOING_REQUEST == rpc.state && rpc.out.fullySent())
        {
            rpc.state = Rpc.STATE_AWAIT_RESPONSE;
        }
    }
}
