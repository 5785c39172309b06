package dev.homa.core;

import dev.homa.nic.NicDriver;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.CutoffsFlyweight;
import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.ResendFlyweight;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.CachedNanoClock;

/**
 * Receives the control packets that steer a message this host sends: GRANT (send further, at the granted level),
 * RESEND (retransmit what was sent, raise the grant if the range goes beyond it, BUSY if nothing asked for was sent
 * yet or the response does not exist, RPC_UNKNOWN if the RPC is unknown, BUSY instead while the driver drops
 * packets), RPC_UNKNOWN (a client whose response has not started restarts its RPC), BUSY (the peer is alive) and
 * CUTOFFS (the peer's unscheduled cutoffs). Packets for unknown RPCs or peers are counted and dropped.
 * Retransmissions go only to the RPC's own peer (a RESEND from anywhere else finds no RPC) and, over an RPC's life,
 * never exceed its retransmission budget.
 */
final class ControlReceiver
{
    private final GrantFlyweight grantFw = new GrantFlyweight();
    private final ResendFlyweight resendFw = new ResendFlyweight();
    private final CutoffsFlyweight cutoffsFw = new CutoffsFlyweight();
    private final int[] cutoffScratch = new int[PriorityMapping.LEVELS];
    private final RpcTable rpcs;
    private final PeerTable peers;
    private final SrptQueue srpt;
    private final Pacer pacer;
    private final DataSender dataSender;
    private final ControlSender controlSender;
    private final PacketTransmitter transmitter;
    private final AnswerLimiter limiter;
    private final HomaMetrics metrics;
    private final int maxPayload;
    private final int retransmitBudgetPercent;
    private final UnscheduledSizer unscheduledSizer;
    private final CachedNanoClock clock;
    private final long restartIntervalNs;
    private final ReceiveDrops receiveDrops;

    /**
     * @param rpcs          the live RPCs.
     * @param peers         the peer table.
     * @param srpt          the SRPT queue.
     * @param pacer         tracks a restarted request's progress.
     * @param dataSender    retransmits DATA.
     * @param controlSender answers BUSY and RPC_UNKNOWN.
     * @param transmitter   limits peer-given levels.
     * @param limiter       rate limits on RPC_UNKNOWN and BUSY answers.
     * @param metrics       counters.
     * @param maxPayload    DATA payload bytes per packet.
     * @param retransmitBudgetPercent an RPC retransmits at most this percentage of its message (at least four
     *                                packets) over its life.
     * @param unscheduledSizer        learns each peer's round trip from first GRANTs.
     * @param clock                   the duty cycle's cached time.
     * @param restartIntervalNs       a client restarts an RPC at most once in this time.
     * @param driver                  whose packet drops make a RESEND for an unknown server RPC draw BUSY for a
     *                                restart interval.
     */
    ControlReceiver(
        final RpcTable rpcs,
        final PeerTable peers,
        final SrptQueue srpt,
        final Pacer pacer,
        final DataSender dataSender,
        final ControlSender controlSender,
        final PacketTransmitter transmitter,
        final AnswerLimiter limiter,
        final HomaMetrics metrics,
        final int maxPayload,
        final int retransmitBudgetPercent,
        final UnscheduledSizer unscheduledSizer,
        final CachedNanoClock clock,
        final long restartIntervalNs,
        final NicDriver driver)
    {
        this.rpcs = rpcs;
        this.peers = peers;
        this.srpt = srpt;
        this.pacer = pacer;
        this.dataSender = dataSender;
        this.controlSender = controlSender;
        this.transmitter = transmitter;
        this.limiter = limiter;
        this.metrics = metrics;
        this.maxPayload = maxPayload;
        this.retransmitBudgetPercent = retransmitBudgetPercent;
        this.unscheduledSizer = unscheduledSizer;
        this.clock = clock;
        this.restartIntervalNs = restartIntervalNs;
        this.receiveDrops = new ReceiveDrops(driver, clock, restartIntervalNs);
    }

    /**
     * GRANT: raise the message's granted offset and take the grant's priority for its scheduled bytes.
     *
     * @param buffer     the packet.
     * @param socket     our socket.
     * @param source     peer host.
     * @param sourcePort peer port.
     * @param localId    our RPC id.
     */
    void onGrant(
        final MutableDirectBuffer buffer, final EngineSocket socket, final long source, final int sourcePort,
        final long localId)
    {
        final Rpc rpc = rpcs.lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            metrics.increment(HomaMetrics.DROP_UNKNOWN_RPC);
            return;
        }
        rpc.silentTicks = 0;
        rpc.busyAnswers = 0;
        rpc.heard = true;
        final boolean sending = rpc.client ? !rpc.in.started() : Rpc.STATE_RESPONDING == rpc.state;
        if (!sending)
        {
            metrics.increment(HomaMetrics.DROP_WRONG_STATE);
            return;
        }
        grantFw.wrap(buffer, 0);
        final OutboundMessage out = rpc.out;
        rpcs.admission.onGranted(out, rpc.peer);
        if (UnscheduledSizer.NOT_MEASURED != out.startedNs)
        {
            unscheduledSizer.onFirstGrant(rpc.peer, clock.nanoTime() - out.startedNs);
            out.startedNs = UnscheduledSizer.NOT_MEASURED;
        }
        final int offset = Math.min(grantFw.offset(), out.length);
        out.scheduledPriority = transmitter.clampPriority(grantFw.priority());
        if (offset > out.granted)
        {
            out.granted = offset;
            if (rpc.client && Rpc.STATE_AWAIT_RESPONSE == rpc.state && !out.fullySent())
            {
                rpc.state = Rpc.STATE_OUTGOING_REQUEST;
            }
            if (out.hasTransmittable())
            {
                srpt.enqueue(out);
            }
        }
    }

    /**
     * RESEND: retransmit the sent part of the range at the requested level, or BUSY while the message has granted
     * bytes it has not sent (homa_resend_pkt).
     *
     * @param buffer     the packet.
     * @param socket     our socket.
     * @param source     peer host.
     * @param sourcePort peer port.
     * @param localId    our RPC id.
     */
    void onResend(
        final MutableDirectBuffer buffer, final EngineSocket socket, final long source, final int sourcePort,
        final long localId)
    {
        final Rpc rpc = rpcs.lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            if (limiter.allow(peers.get(source)))
            {
                // A server RPC we do not know, while the driver drops packets: its request may be among them, and a
                // restart now would be lost as well (ReceiveDrops).
                final boolean waitForDrops = 0 != (localId & 1) && receiveDrops.recent();
                metrics.increment(waitForDrops ? HomaMetrics.UNKNOWN_BUSY_ANSWERS : HomaMetrics.UNKNOWN_ANSWERS);
                controlSender.sendControl(waitForDrops ? PacketType.BUSY : PacketType.RPC_UNKNOWN, socket.port,
                    sourcePort, localId, source);
            }
            return;
        }
        rpc.silentTicks = 0;
        rpc.heard = true;
        if (!rpc.client && Rpc.STATE_RESPONDING != rpc.state)
        {
            // No response yet: the request is incomplete or the application is still working on it.
            answerBusy(rpc, socket, source, sourcePort);
            return;
        }
        resendFw.wrap(buffer, 0);
        final OutboundMessage out = rpc.out;
        // A RESEND for the message shows, as a GRANT does, that the receiver has it.
        rpcs.admission.onGranted(out, rpc.peer);
        final int requested = resendFw.length();
        final int offset = Math.max(0, resendFw.offset());
        final int priority = transmitter.clampPriority(resendFw.priority());
        if (offset >= out.length && out.nextOffset > 0)
        {
            // Bytes past the message's end: the peer holds another length for this RPC (its first packet was
            // forged), and no GRANT of it was lost. BUSY would keep it waiting for good; the first packet again
            // shows it the length, and a receiver ends an RPC whose packets disagree on theirs.
            retransmit(rpc, 0, Math.min(maxPayload, out.nextOffset), priority);
            return;
        }
        final int end;
        if (ResendFlyweight.LENGTH_ALL == requested)
        {
            end = out.nextOffset;
        }
        else
        {
            end = (int)Math.min((long)offset + (requested & 0xFFFF_FFFFL), out.length);
            if (end > out.granted)
            {
                // The receiver expects bytes beyond our grant: a GRANT was lost.
                out.granted = end;
            }
        }
        if (out.hasTransmittable())
        {
            // Granted bytes not sent, and the receiver is asking: they go out, even from a client that stopped
            // sending its request when a response began (a forged one, since a server answers only whole requests;
            // the kernel's client keeps sending granted bytes whatever its state).
            if (rpc.client && Rpc.STATE_AWAIT_RESPONSE == rpc.state && !rpc.in.started())
            {
                rpc.state = Rpc.STATE_OUTGOING_REQUEST;
            }
            srpt.enqueue(out);
        }
        final int sentEnd = Math.min(end, out.nextOffset);
        if (offset >= sentEnd || out.nextOffset < out.transmittableEnd())
        {
            // Granted bytes not sent yet: this sender chose to send other messages first, and what it did send may
            // still be on its way; BUSY, not a retransmission, until it has sent all it may (homa_resend_pkt).
            answerBusy(rpc, socket, source, sourcePort);
            return;
        }
        retransmit(rpc, offset, sentEnd, priority);
    }

    /**
     * BUSY, at most once per tick for one RPC: a live peer asks once per resend interval, a stream of forged RESENDs
     * naming the RPC draws no more.
     */
    private void answerBusy(final Rpc rpc, final EngineSocket socket, final long source, final int sourcePort)
    {
        if (limiter.allowOncePerTick(rpc))
        {
            metrics.increment(HomaMetrics.BUSY_ANSWERS);
            controlSender.sendControl(PacketType.BUSY, socket.port, sourcePort, rpc.id, source);
        }
    }

    /**
     * Send the range again, within what is left of the RPC's retransmission budget (counted when it runs out).
     */
    private void retransmit(final Rpc rpc, final int offset, final int end, final int priority)
    {
        final OutboundMessage out = rpc.out;
        final long budget = Math.max(4L * maxPayload, (long)out.length * retransmitBudgetPercent / 100);
        final long left = budget - rpc.retransmittedBytes;
        final int limitedEnd = (int)Math.min(end, offset + Math.max(0, left));
        if (limitedEnd < end)
        {
            metrics.increment(HomaMetrics.RETRANSMIT_BUDGET_SPENT);
        }
        for (int o = offset; o < limitedEnd; o += maxPayload)
        {
            final int bytes = Math.min(maxPayload, limitedEnd - o);
            if (!dataSender.resendData(rpc, o, bytes, end, priority))
            {
                break;
            }
            rpc.retransmittedBytes += bytes;
        }
    }

    /**
     * RPC_UNKNOWN: a server RPC ends; a client RPC whose response has not started restarts, sending again everything
     * sent so far at its unscheduled level; once response bytes have come it is ignored (homa_rpc_unknown_pkt). It
     * does not count as hearing from the server: a server that keeps answering RPC_UNKNOWN and never takes the
     * request lets the RPC time out.
     *
     * @param socket     our socket.
     * @param source     peer host.
     * @param sourcePort peer port.
     * @param localId    our RPC id.
     */
    void onRpcUnknown(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        final Rpc rpc = rpcs.lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            metrics.increment(HomaMetrics.DROP_UNKNOWN_RPC);
            return;
        }
        if (!rpc.client)
        {
            rpcs.freeRpc(rpc);
            return;
        }
        if (rpc.in.started())
        {
            metrics.increment(HomaMetrics.DROP_WRONG_STATE);
            return;
        }
        final long nowNs = clock.nanoTime();
        if (nowNs - rpc.lastRestartNs < restartIntervalNs)
        {
            // At most one restart per resend interval, as a live server's RPC_UNKNOWN answers our RESEND at most
            // that often: a stream of forged RPC_UNKNOWNs must not make us send the request again and again.
            metrics.increment(HomaMetrics.ANSWERS_LIMITED);
            return;
        }
        rpc.lastRestartNs = nowNs;
        // The server has no state for our RPC: restart it by sending again everything sent so far, a new attempt
        // with a new retransmission budget.
        rpc.retransmittedBytes = 0;
        metrics.increment(HomaMetrics.CLIENT_RESTARTS);
        rpc.state = Rpc.STATE_OUTGOING_REQUEST;
        final OutboundMessage out = rpc.out;
        final int priority = transmitter.clampPriority(rpc.peer.cutoffs.unscheduledPriorityFor(out.length));
        retransmit(rpc, 0, out.nextOffset, priority);
        pacer.onSent(rpc);
        if (out.hasTransmittable())
        {
            srpt.enqueue(out);
        }
    }

    /**
     * BUSY: the peer is alive, so the RPC is not silent.
     *
     * @param socket     our socket.
     * @param source     peer host.
     * @param sourcePort peer port.
     * @param localId    our RPC id.
     */
    void onBusy(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        final Rpc rpc = rpcs.lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            metrics.increment(HomaMetrics.DROP_UNKNOWN_RPC);
            return;
        }
        rpc.silentTicks = 0;
        rpc.busyAnswers++;
        rpc.heard = true;
    }

    /**
     * CUTOFFS: adopt the peer's unscheduled cutoffs for what we send it, whatever their order (level 0 admits
     * everything; homa_cutoffs_pkt).
     *
     * @param buffer the packet.
     * @param source peer host.
     */
    void onCutoffs(final MutableDirectBuffer buffer, final long source)
    {
        final Peer peer = peers.get(source);
        if (null == peer)
        {
            metrics.increment(HomaMetrics.DROP_UNKNOWN_PEER);
            return;
        }
        cutoffsFw.wrap(buffer, 0);
        for (int i = 1; i < PriorityMapping.LEVELS; i++)
        {
            // Any eight values, as the kernel takes them: one at or above 2^31 is negative in the kernel's int and
            // never admits a message, as 0 does here.
            cutoffScratch[i] = Math.max(0, cutoffsFw.cutoff(i));
        }
        cutoffScratch[0] = Integer.MAX_VALUE;
        peer.cutoffs.set(cutoffScratch, cutoffsFw.cutoffVersion());
    }
}
