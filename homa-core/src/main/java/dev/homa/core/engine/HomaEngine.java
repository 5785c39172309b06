package dev.homa.core.engine;

import dev.homa.core.HomaAbortedException;
import dev.homa.core.HomaException;
import dev.homa.core.HomaLimitException;
import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTimeoutException;
import dev.homa.core.HomaTransport;
import dev.homa.core.grant.GrantConfig;
import dev.homa.core.grant.GrantScheduler;
import dev.homa.core.grant.GrantSender;
import dev.homa.core.grant.Grantable;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.priority.CutoffCalculator;
import dev.homa.core.priority.Cutoffs;
import dev.homa.core.wire.AckFlyweight;
import dev.homa.core.wire.CutoffsFlyweight;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketDecoder;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.RejectReason;
import dev.homa.core.wire.ResendFlyweight;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The Homa protocol agent: everything of the protocol for one {@link NicDriver}, on one thread, without locks and
 * without allocation per packet in steady state (kernel HomaModule semantics; see docs/protocol.md).
 * <p>
 * Duty cycle ({@link #doWork()}): read the injected clock once; drain released messages and a bounded number of
 * application commands; poll a burst of packets from the driver (validate with {@link PacketDecoder}, dispatch
 * by type); run the timer tick when due (silence counting, RESEND, NEED_ACK, timeouts, peer eviction); recompute
 * the unscheduled cutoffs when due; pace DATA out in SRPT order while the driver's queue is under its cap; hand
 * pending results to sockets; flush the transmit batch. {@link #nextDeadlineNs()} tells a virtual-time
 * simulation when the agent next has something to do.
 * <p>
 * Sender: a message is cut into packets of {@code maxPacketLength - 56} payload bytes; the first unscheduled
 * bytes (rounded up to a full packet; a few hundred for a response to a request marked FLAG_INCAST) go at the
 * priority the receiver's cutoffs give for the message length, the rest only up to the latest GRANT at the
 * grant's priority. All messages with transmittable bytes wait in one list ordered by bytes left to send (SRPT);
 * the pacer sends from its head while {@code driver.queuedBytes()} is below the cap, so the SRPT choice is made
 * late; a small share of paced packets (pacer FIFO fraction, 5%) goes to the oldest message so long messages cannot
 * starve. Messages shorter than {@code smallMessageBytes} bypass the pacer. RESEND: retransmit what was sent, raise
 * the grant if the range goes beyond it, BUSY if nothing asked for was sent yet or the response does not exist;
 * RPC_UNKNOWN if the RPC is unknown.
 * <p>
 * Receiver: packets are placed by byte offset into receive-pool pages (small messages share slot pages); a
 * message's storage is taken when its first packet arrives and, if the pool is exhausted, the message waits (no
 * grants; its bytes are re-requested when pages free up). Every message is tracked by the {@link GrantScheduler}
 * (unscheduled bytes count toward the incoming budget); a completed message is delivered zero-copy as a
 * {@link HomaMessage} whose views point into the pool pages until released. Server RPCs live until the client's
 * ACK (piggybacked on a later request, or an ACK packet after NEED_ACK); the last 4,096 acknowledged RPCs are
 * remembered so a late copy of their request does not execute again.
 */
public final class HomaEngine implements Agent, PacketSink, GrantSender
{
    private static final int COMMAND_LIMIT = 64;
    private static final int RELEASE_LIMIT = 256;
    private static final int BATCH = 32;
    private static final int ACKED_HISTORY = 4096;

    private final NicDriver driver;
    private final NanoClock clock;
    private final HomaMetrics metrics;
    private final PacketDecoder decoder;
    private final HomaHeaderFlyweight header = new HomaHeaderFlyweight();
    private final DataHeaderFlyweight data = new DataHeaderFlyweight();
    private final GrantFlyweight grantFw = new GrantFlyweight();
    private final ResendFlyweight resendFw = new ResendFlyweight();
    private final CutoffsFlyweight cutoffsFw = new CutoffsFlyweight();
    private final AckFlyweight ackFw = new AckFlyweight();
    private final ManyToOneRingBuffer commands;
    private final Map<Integer, HomaSocket> registry;
    private final AtomicInteger sendPagesReserved;
    private final ManyToOneConcurrentArrayQueue<HomaMessage> releases = new ManyToOneConcurrentArrayQueue<>(1 << 16);
    private final Consumer<HomaMessage> releaser = this::offerRelease;
    private final MessageHandler commandHandler = this::onCommand;
    private final Int2ObjectHashMap<EngineSocket> sockets = new Int2ObjectHashMap<>();
    private final PagePool receivePool;
    private final PagePool sendPool;
    private final PeerTable peers;
    private final GrantScheduler scheduler;
    private final Cutoffs localCutoffs = new Cutoffs();
    private final CutoffCalculator calculator;
    private final ArrayDeque<Rpc> freeRpcs = new ArrayDeque<>();
    private final ArrayDeque<HomaMessage> freeMessages = new ArrayDeque<>();
    private final ArrayDeque<Rpc> waitingForPages = new ArrayDeque<>();
    private final Packet[] batch = new Packet[BATCH];
    private final int[] cutoffScratch = new int[Cutoffs.NUM_PRIORITIES];
    private final org.agrona.collections.LongHashSet recentlyAcked = new org.agrona.collections.LongHashSet(
        ACKED_HISTORY * 2);
    private final long[] ackedRing = new long[ACKED_HISTORY];
    private int ackedRingNext;

    private final int maxPayload;
    private final int maxPages;
    private final int maxMessageLength;
    private final int unscheduledBytes;
    private final int maxNicQueueBytes;
    private final int smallMessageBytes;
    private final int maxSendBurst;
    private final int pacerFifoEvery;
    private final boolean invokerMode;
    private final int pollBurst;
    private final long tickNs;
    private final int resendTicks;
    private final int resendIntervalTicks;
    private final int timeoutTicks;
    private final int requestAckTicks;
    private final boolean incastEnabled;
    private final int incastThreshold;
    private final int incastUnscheduledBytes;
    private final int maxServerRpcs;
    private final boolean staticCutoffs;
    private final long cutoffIntervalNs;
    private final int highestPriority;
    private final int wireOverhead;
    private final double nsPerByte;

    private Rpc allHead;
    private int rpcCount;
    private int serverRpcCount;
    private OutboundMessage srptHead;
    private int batchCount;
    private long batchBytes;
    private long nowNs;
    private long nextTickNs;
    private long nextCutoffNs;
    private long pacerWakeNs;
    private boolean throttled;
    private long ticks;
    private long births;
    private long outBirths;
    private long paced;
    private int overflowCount;
    private boolean inDutyCycle;

    /**
     * @param ctx               concluded context.
     * @param commands          the application command ring.
     * @param registry          sockets by port as bound by the API.
     * @param sendPagesReserved send-pool pages reserved by the API (released here when messages end).
     */
    public HomaEngine(
        final HomaTransport.Context ctx,
        final ManyToOneRingBuffer commands,
        final Map<Integer, HomaSocket> registry,
        final AtomicInteger sendPagesReserved)
    {
        this.driver = ctx.driver();
        this.clock = ctx.clock();
        this.commands = commands;
        this.registry = registry;
        this.sendPagesReserved = sendPagesReserved;
        this.maxMessageLength = ctx.maxMessageLength();
        this.decoder = new PacketDecoder(maxMessageLength);
        final String[] reasons = new String[RejectReason.count()];
        for (int i = 0; i < reasons.length; i++)
        {
            reasons[i] = RejectReason.get(i).name();
        }
        this.metrics = new HomaMetrics(reasons);
        this.maxPayload = ctx.maxPayload();
        this.unscheduledBytes = ctx.unscheduledBytes();
        this.maxNicQueueBytes = ctx.maxNicQueueBytes();
        this.smallMessageBytes = ctx.smallMessageBytes();
        this.maxSendBurst = ctx.maxSendBurst();
        this.invokerMode = dev.homa.core.ThreadingMode.INVOKER == ctx.threadingMode();
        this.pacerFifoEvery = 0 == ctx.pacerFifoFractionPerMille() ? 0 : 1000 / ctx.pacerFifoFractionPerMille();
        this.pollBurst = ctx.pollBurst();
        this.tickNs = ctx.tickNs();
        this.resendTicks = ctx.resendTicks();
        this.resendIntervalTicks = ctx.resendIntervalTicks();
        this.timeoutTicks = ctx.timeoutTicks();
        this.requestAckTicks = ctx.requestAckTicks();
        this.incastEnabled = ctx.incastEnabled();
        this.incastThreshold = ctx.incastThreshold();
        this.incastUnscheduledBytes = ctx.incastUnscheduledBytes();
        this.maxServerRpcs = ctx.maxServerRpcs();
        this.cutoffIntervalNs = ctx.cutoffIntervalNs();
        this.highestPriority = Math.max(0, Math.min(driver.priorityLevels(), Cutoffs.NUM_PRIORITIES) - 1);
        this.wireOverhead = driver.wireOverheadBytes();
        this.nsPerByte = 8e9 / driver.linkBitsPerSecond();
        this.receivePool = new PagePool(ctx.receivePoolBytes(), ctx.receivePageBytes());
        this.sendPool = new PagePool(ctx.sendPoolBytes(), ctx.receivePageBytes());
        this.maxPages = receivePool.pagesFor(maxMessageLength);
        this.peers = new PeerTable(ctx.maxPeers(), ctx.peerIdleNs(), metrics);

        final int[] fixed = ctx.staticCutoffs();
        this.staticCutoffs = null != fixed;
        if (staticCutoffs)
        {
            localCutoffs.set(fixed, 1);
        }
        else
        {
            localCutoffs.copyFrom(Cutoffs.kernelDefaults());
        }
        this.calculator = new CutoffCalculator(Cutoffs.NUM_PRIORITIES, unscheduledBytes, maxMessageLength)
            .minimumMessages(ctx.cutoffMinimumMessages())
            .windowMessages(ctx.cutoffWindowMessages())
            .forcedUnscheduledLevels(ctx.unscheduledLevels());
        this.scheduler = new GrantScheduler(new GrantConfig()
            .overcommit(ctx.overcommit())
            .maxIncomingBytes(ctx.maxIncomingBytes())
            .windowBytes(ctx.windowBytes())
            .unscheduledBytes(unscheduledBytes)
            .maxPacketPayload(maxPayload)
            .maxScheduledPriority(maxScheduledPriorityOf(localCutoffs))
            .maxActivePerPeer(ctx.maxActivePerPeer())
            .fifoGrantFractionPerMille(ctx.fifoGrantFractionPerMille())
            .fifoGrantIncrement(ctx.fifoGrantIncrement())
            .linkBitsPerSecond(driver.linkBitsPerSecond())
            .strictOvercommit(ctx.strictOvercommit()));

        nowNs = clock.nanoTime();
        nextTickNs = nowNs + tickNs;
        nextCutoffNs = nowNs + cutoffIntervalNs;
    }

    private int maxScheduledPriorityOf(final Cutoffs cutoffs)
    {
        // The lowest unscheduled level is the highest one whose cutoff admits the longest message; scheduled
        // traffic uses every level below it.
        for (int level = Cutoffs.NUM_PRIORITIES - 1; level >= 1; level--)
        {
            if (cutoffs.cutoff(level) >= maxMessageLength)
            {
                return level - 1;
            }
        }
        return 0;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Agent

    /**
     * {@inheritDoc}
     */
    @Override
    public String roleName()
    {
        return "homa-engine-" + HostAddress.toString(driver.localAddress());
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int doWork()
    {
        inDutyCycle = true;
        try
        {
            nowNs = clock.nanoTime();
            int work = drainReleases();
            work += commands.read(commandHandler, COMMAND_LIMIT);
            work += driver.poll(this, pollBurst);
            if (nowNs - nextTickNs >= 0)
            {
                nextTickNs = nowNs + tickNs;
                work += onTick();
            }
            if (!staticCutoffs && nowNs - nextCutoffNs >= 0)
            {
                nextCutoffNs = nowNs + cutoffIntervalNs;
                recomputeCutoffs();
            }
            if (nowNs - scheduler.nextFifoGrantDeadlineNs() >= 0 && 0 != scheduler.trackedCount())
            {
                // FIFO grants (starvation escape) are paced by time, not by arriving data.
                work += scheduler.sendGrants(nowNs, this);
            }
            work += pace();
            if (0 != overflowCount)
            {
                work += deliverOverflow();
            }
            flushBatch();
            updateGauges();
            return work;
        }
        finally
        {
            inDutyCycle = false;
        }
    }

    /**
     * For virtual-time simulation: when this agent next has work.
     *
     * @return a time on the injected clock; the current time if work is pending; {@link Long#MAX_VALUE} if idle.
     */
    public long nextDeadlineNs()
    {
        final long now = clock.nanoTime();
        if (commands.size() > 0 || !releases.isEmpty() || 0 != overflowCount)
        {
            return now;
        }
        long deadline = Long.MAX_VALUE;
        if (null != srptHead)
        {
            deadline = throttled ? Math.max(now, pacerWakeNs) : now;
        }
        if (0 != rpcCount || !waitingForPages.isEmpty())
        {
            deadline = Math.min(deadline, nextTickNs);
            if (0 != scheduler.trackedCount())
            {
                deadline = Math.min(deadline, Math.max(now, scheduler.nextFifoGrantDeadlineNs()));
            }
            if (!staticCutoffs)
            {
                deadline = Math.min(deadline, nextCutoffNs);
            }
        }
        else if (0 != peers.size())
        {
            // Idle: only peer eviction is pending.
            deadline = Math.min(deadline, Math.max(nextTickNs, peers.nextIdleEvictionNs()));
        }
        return deadline;
    }

    /**
     * @return true while {@link #doWork()} runs (re-entrancy guard for INVOKER mode).
     */
    public boolean inDutyCycle()
    {
        return inDutyCycle;
    }

    /**
     * @return the counters.
     */
    public HomaMetrics metrics()
    {
        return metrics;
    }

    /**
     * @return reservation units of the send pool (32 per page; a message up to a 32nd of a page takes one).
     */
    public int sendPoolUnits()
    {
        return sendPool.totalUnits();
    }

    /**
     * @param length message length.
     * @return send-pool reservation units the message needs.
     */
    public int sendUnitsFor(final int length)
    {
        return sendPool.unitsFor(length);
    }

    /**
     * @return live RPCs (protocol thread / tests).
     */
    public int rpcCount()
    {
        return rpcCount;
    }

    /**
     * @return live server RPCs (protocol thread / tests).
     */
    public int serverRpcCount()
    {
        return serverRpcCount;
    }

    /**
     * @return peers in the table (protocol thread / tests).
     */
    public int peerCount()
    {
        return peers.size();
    }

    /**
     * @return receive-pool pages in use (protocol thread / tests).
     */
    public int receivePagesInUse()
    {
        return receivePool.inUse();
    }

    /**
     * @return receive-pool size in pages.
     */
    public int receivePoolPages()
    {
        return receivePool.pageCount();
    }

    /**
     * @return send-pool pages in use (protocol thread / tests).
     */
    public int sendPagesInUse()
    {
        return sendPool.inUse();
    }

    /**
     * @return this host's current unscheduled cutoffs (protocol thread / tests).
     */
    public Cutoffs localCutoffs()
    {
        return localCutoffs;
    }

    /**
     * @param peer host address.
     * @return the cutoffs that peer gave us, or null if it is not in the table (protocol thread / tests).
     */
    public Cutoffs peerCutoffs(final long peer)
    {
        final Peer p = peers.get(peer);
        return null == p ? null : p.cutoffs;
    }

    /**
     * @return incoming messages holding scheduled grants not yet filled with data: granted beyond both the bytes
     * received and the sender's unscheduled bytes (protocol thread / tests).
     */
    public int messagesWithOutstandingGrants()
    {
        int count = 0;
        for (Rpc rpc = allHead; null != rpc; rpc = rpc.allNext)
        {
            final InboundMessage in = rpc.in;
            if (in.started() && !in.complete())
            {
                final int granted = in.grantState.grantedOffset();
                if (granted > in.received && granted > in.incoming)
                {
                    count++;
                }
            }
        }
        return count;
    }

    /**
     * @return the grant scheduler (protocol thread / tests).
     */
    public GrantScheduler scheduler()
    {
        return scheduler;
    }

    /**
     * @return unscheduled bytes per message after rounding.
     */
    public int unscheduledBytes()
    {
        return unscheduledBytes;
    }

    /**
     * @return DATA payload bytes per packet.
     */
    public int maxPayload()
    {
        return maxPayload;
    }

    private void updateGauges()
    {
        metrics.set(HomaMetrics.ACTIVE_RPCS, rpcCount);
        metrics.set(HomaMetrics.ACTIVE_SERVER_RPCS, serverRpcCount);
        metrics.set(HomaMetrics.RECEIVE_PAGES_IN_USE, receivePool.inUse());
        metrics.set(HomaMetrics.SEND_PAGES_IN_USE, sendPool.inUse());
    }

    // ------------------------------------------------------------------------------------------------------------
    // Commands from application threads

    private void offerRelease(final HomaMessage message)
    {
        while (!releases.offer(message))
        {
            if (invokerMode)
            {
                // INVOKER mode: the caller is the protocol thread, so nobody else would ever drain the queue.
                drainReleases();
            }
            else
            {
                Thread.onSpinWait();
            }
        }
    }

    private int drainReleases()
    {
        int count = 0;
        HomaMessage message;
        while (count < RELEASE_LIMIT && null != (message = releases.poll()))
        {
            for (int i = 0, n = message.pageCount(); i < n; i++)
            {
                receivePool.free(message.page(i));
            }
            message.clear();
            freeMessages.addLast(message);
            count++;
        }
        if (0 != count && !waitingForPages.isEmpty())
        {
            retryWaitingForPages();
        }
        return count;
    }

    private void onCommand(final int type, final MutableDirectBuffer buffer, final int index, final int length)
    {
        final int port = buffer.getInt(index + Commands.PORT_OFFSET);
        switch (type)
        {
            case Commands.BIND ->
            {
                final HomaSocket api = registry.get(port);
                if (null != api && !sockets.containsKey(port))
                {
                    sockets.put(port, new EngineSocket(port, api));
                }
            }
            case Commands.CLOSE -> closeSocket(port);
            case Commands.SEND -> onSendCommand(buffer, index, length, port);
            case Commands.CHUNK -> onChunkCommand(buffer, index, length, port);
            case Commands.ABORT -> onAbortCommand(port, buffer.getLong(index + Commands.ID_OFFSET));
            default ->
            {
            }
        }
    }

    private void onSendCommand(final MutableDirectBuffer buffer, final int index, final int length, final int port)
    {
        final int flags = buffer.getInt(index + Commands.FLAGS_OFFSET);
        final long id = buffer.getLong(index + Commands.ID_OFFSET);
        final long peerAddress = buffer.getLong(index + Commands.PEER_OFFSET);
        final int peerPort = buffer.getInt(index + Commands.PEER_PORT_OFFSET);
        final int messageLength = buffer.getInt(index + Commands.LENGTH_OFFSET);
        final long cookie = buffer.getLong(index + Commands.COOKIE_OFFSET);
        final int chunk = length - Commands.HEADER_LENGTH;
        final int units = sendPool.unitsFor(messageLength);
        final boolean reply = 0 != (flags & Commands.FLAG_REPLY);

        final EngineSocket socket = sockets.get(port);
        if (null == socket)
        {
            sendPagesReserved.addAndGet(-units);
            return;
        }

        final Rpc rpc;
        if (reply)
        {
            rpc = socket.findServer(peerAddress, peerPort, id);
            if (null == rpc || Rpc.STATE_IN_SERVICE != rpc.state)
            {
                // The RPC was discarded (timeout, ACK, limits) while the application worked on it.
                sendPagesReserved.addAndGet(-units);
                metrics.increment(HomaMetrics.DROP_WRONG_STATE);
                return;
            }
            rpc.state = Rpc.STATE_RESPONDING;
            rpc.silentTicks = 0;
        }
        else
        {
            final Peer peer = peers.acquire(peerAddress, nowNs);
            if (null == peer)
            {
                sendPagesReserved.addAndGet(-units);
                metrics.increment(HomaMetrics.DROP_MAX_PEERS);
                final HomaMessage error = takeMessage().prepare(HomaMessage.Kind.ERROR, id, peerAddress, peerPort,
                    port, cookie, 0, new HomaLimitException("peer table full: " + peers.size() +
                    " peers with live RPCs (homa maxPeers); RPC " + id + " to " +
                    HostAddress.toString(peerAddress) + " not started"));
                socket.api.onClientRpcEnded();
                if (0 == (flags & Commands.FLAG_FUTURE) || !socket.api.completeFuture(id, error))
                {
                    deliver(socket, error);
                }
                return;
            }
            rpc = newRpc(id, true, socket, peer, peerAddress, peerPort);
            rpc.cookie = cookie;
            rpc.future = 0 != (flags & Commands.FLAG_FUTURE);
            socket.clientRpcs.put(id, rpc);
            metrics.increment(HomaMetrics.CLIENT_RPCS_CREATED);
            if (incastEnabled && socket.clientRpcs.size() > incastThreshold)
            {
                rpc.incast = true;
                metrics.increment(HomaMetrics.INCAST_MARKED_REQUESTS);
            }
        }

        final OutboundMessage out = rpc.out;
        out.reset(rpc, messageLength);
        final int handles = sendPool.allocate(out.pages, messageLength);
        if (handles < 0)
        {
            // Reserved, but the free space is split between slot pages and whole pages: fail this RPC.
            sendPagesReserved.addAndGet(-units);
            metrics.increment(HomaMetrics.SEND_POOL_FRAGMENTED);
            if (rpc.client)
            {
                failClient(rpc, new HomaLimitException("send pool fragmented: no room for a " + messageLength +
                    "-byte message although it was reserved (homa sendPoolBytes)"));
            }
            else
            {
                // Discard the server RPC: the client's RESEND gets RPC_UNKNOWN and restarts it (at-least-once).
                freeRpc(rpc);
            }
            return;
        }
        out.pageCount = handles;
        rpc.outPagesHeld = true;
        final int unscheduled;
        if (!rpc.client && rpc.incast)
        {
            unscheduled = Math.min(incastUnscheduledBytes, messageLength);
            metrics.increment(HomaMetrics.INCAST_LIMITED_RESPONSES);
        }
        else
        {
            unscheduled = Math.min(unscheduledBytes, messageLength);
        }
        out.unscheduled = unscheduled;
        out.granted = unscheduled;
        out.scheduledPriority = 0;
        out.birthOrder = outBirths++;

        sendPool.write(out.pages, 0, buffer, index + Commands.HEADER_LENGTH, chunk);
        out.available = chunk;
        onBytesAvailable(out);
    }

    private void onChunkCommand(final MutableDirectBuffer buffer, final int index, final int length, final int port)
    {
        final EngineSocket socket = sockets.get(port);
        if (null == socket)
        {
            return;
        }
        final int flags = buffer.getInt(index + Commands.FLAGS_OFFSET);
        final long id = buffer.getLong(index + Commands.ID_OFFSET);
        final Rpc rpc = 0 != (flags & Commands.FLAG_REPLY) ?
            socket.findServer(buffer.getLong(index + Commands.PEER_OFFSET),
                buffer.getInt(index + Commands.PEER_PORT_OFFSET), id) :
            socket.clientRpcs.get(id);
        final int messageLength = buffer.getInt(index + Commands.LENGTH_OFFSET);
        if (null == rpc || !rpc.outPagesHeld || rpc.out.length != messageLength)
        {
            return;
        }
        final int chunkOffset = buffer.getInt(index + Commands.CHUNK_OFFSET_OFFSET);
        final int chunk = length - Commands.HEADER_LENGTH;
        final OutboundMessage out = rpc.out;
        sendPool.write(out.pages, chunkOffset, buffer, index + Commands.HEADER_LENGTH, chunk);
        out.available = Math.max(out.available, chunkOffset + chunk);
        onBytesAvailable(out);
    }

    private void onAbortCommand(final int port, final long id)
    {
        final EngineSocket socket = sockets.get(port);
        if (null == socket)
        {
            return;
        }
        final Rpc rpc = socket.clientRpcs.get(id);
        if (null != rpc)
        {
            metrics.increment(HomaMetrics.RPCS_ABORTED);
            abortClient(rpc, "RPC " + id + " aborted by the application");
        }
    }

    private void abortClient(final Rpc rpc, final String reason)
    {
        if (rpc.future)
        {
            final HomaMessage error = takeMessage().prepare(HomaMessage.Kind.ERROR, rpc.id, rpc.peerAddress,
                rpc.peerPort, rpc.socket.port, rpc.cookie, 0, new HomaAbortedException(reason));
            if (!rpc.socket.api.completeFuture(rpc.id, error))
            {
                error.clear();
                freeMessages.addLast(error);
            }
        }
        freeRpc(rpc);
    }

    private void closeSocket(final int port)
    {
        final EngineSocket socket = sockets.remove(port);
        if (null == socket)
        {
            return;
        }
        final ArrayList<Rpc> doomed = new ArrayList<>(socket.clientRpcs.values());
        for (final Rpc rpc : doomed)
        {
            metrics.increment(HomaMetrics.RPCS_ABORTED);
            abortClient(rpc, "socket " + port + " closed");
        }
        for (Rpc rpc = allHead; null != rpc; )
        {
            final Rpc next = rpc.allNext;
            if (rpc.socket == socket)
            {
                freeRpc(rpc);
            }
            rpc = next;
        }
        HomaMessage message;
        while (null != (message = socket.overflow.pollFirst()))
        {
            overflowCount--;
            for (int i = 0; i < message.pageCount(); i++)
            {
                receivePool.free(message.page(i));
            }
            message.clear();
            freeMessages.addLast(message);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // RPC and message life cycle

    private Rpc newRpc(
        final long id, final boolean client, final EngineSocket socket, final Peer peer, final long address,
        final int port)
    {
        Rpc rpc = freeRpcs.pollFirst();
        if (null == rpc)
        {
            rpc = new Rpc(maxPages);
        }
        rpc.reset(id, client, socket, peer, address, port);
        peer.rpcCount++;
        rpc.allNext = allHead;
        if (null != allHead)
        {
            allHead.allPrev = rpc;
        }
        allHead = rpc;
        rpcCount++;
        return rpc;
    }

    private void freeRpc(final Rpc rpc)
    {
        if (null == rpc.allPrev)
        {
            allHead = rpc.allNext;
        }
        else
        {
            rpc.allPrev.allNext = rpc.allNext;
        }
        if (null != rpc.allNext)
        {
            rpc.allNext.allPrev = rpc.allPrev;
        }
        rpcCount--;

        final EngineSocket socket = rpc.socket;
        if (rpc.client)
        {
            socket.clientRpcs.remove(rpc.id);
            socket.api.onClientRpcEnded();
        }
        else
        {
            socket.removeServer(rpc);
            serverRpcCount--;
        }

        final OutboundMessage out = rpc.out;
        if (out.queued)
        {
            dequeue(out);
        }
        if (rpc.outPagesHeld)
        {
            sendPool.free(out.pages, out.pageCount);
            sendPagesReserved.addAndGet(-sendPool.unitsFor(out.length));
            rpc.outPagesHeld = false;
        }
        resetInbound(rpc);
        rpc.peer.rpcCount--;
        rpc.socket = null;
        rpc.peer = null;
        freeRpcs.addFirst(rpc);
    }

    private void resetInbound(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        if (in.scheduled)
        {
            in.scheduled = false;
            scheduler.remove(in);
            scheduler.sendGrants(nowNs, this);
        }
        if (in.waitingForPages)
        {
            waitingForPages.remove(rpc);
        }
        receivePool.free(in.pages, in.pageCount);
        in.reset(rpc);
    }

    private HomaMessage takeMessage()
    {
        final HomaMessage message = freeMessages.pollFirst();
        return null != message ? message : new HomaMessage(maxPages, releaser);
    }

    private void deliver(final EngineSocket socket, final HomaMessage message)
    {
        if (!socket.overflow.isEmpty() || !socket.api.deliver(message))
        {
            socket.overflow.addLast(message);
            overflowCount++;
        }
    }

    private void deliverClient(final Rpc rpc, final HomaMessage message)
    {
        if (!rpc.future || !rpc.socket.api.completeFuture(rpc.id, message))
        {
            deliver(rpc.socket, message);
        }
    }

    private int deliverOverflow()
    {
        int delivered = 0;
        for (final EngineSocket socket : sockets.values())
        {
            HomaMessage message;
            while (null != (message = socket.overflow.peekFirst()) && socket.api.deliver(message))
            {
                socket.overflow.pollFirst();
                overflowCount--;
                delivered++;
            }
        }
        return delivered;
    }

    private void failClient(final Rpc rpc, final HomaException error)
    {
        final HomaMessage message = takeMessage().prepare(HomaMessage.Kind.ERROR, rpc.id, rpc.peerAddress,
            rpc.peerPort, rpc.socket.port, rpc.cookie, 0, error);
        deliverClient(rpc, message);
        freeRpc(rpc);
    }

    private void completeInbound(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        if (in.scheduled)
        {
            in.scheduled = false;
            scheduler.remove(in);
        }
        calculator.onMessageReceived(in.length);
        metrics.increment(HomaMetrics.MESSAGES_RECEIVED);
        metrics.add(HomaMetrics.MESSAGE_BYTES_RECEIVED, in.length);

        final EngineSocket socket = rpc.socket;
        final HomaMessage message = takeMessage().prepare(
            rpc.client ? HomaMessage.Kind.RESPONSE : HomaMessage.Kind.REQUEST,
            rpc.id, rpc.peerAddress, rpc.peerPort, socket.port, rpc.client ? rpc.cookie : 0, in.length, null);
        final int pageBytes = receivePool.pageBytes();
        for (int i = 0; i < in.pageCount; i++)
        {
            final int handle = in.pages[i];
            message.addSegment(receivePool.buffer(), handle, receivePool.offsetOf(handle),
                Math.min(pageBytes, in.length - i * pageBytes));
        }
        in.pageCount = 0;

        if (rpc.client)
        {
            metrics.increment(HomaMetrics.CLIENT_RPCS_COMPLETED);
            addPendingAck(rpc.peer, rpc.id, rpc.peerPort, socket.port);
            deliverClient(rpc, message);
            freeRpc(rpc);
        }
        else
        {
            rpc.state = Rpc.STATE_IN_SERVICE;
            rpc.silentTicks = 0;
            deliver(socket, message);
        }
        scheduler.sendGrants(nowNs, this);
    }

    private boolean allocateInbound(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        final int handles = receivePool.allocate(in.pages, in.length);
        if (handles > 0)
        {
            in.pageCount = handles;
            in.waitingForPages = false;
            return true;
        }
        if (!in.waitingForPages)
        {
            in.waitingForPages = true;
            waitingForPages.addLast(rpc);
            metrics.increment(HomaMetrics.RECEIVE_POOL_WAITS);
        }
        return false;
    }

    private void retryWaitingForPages()
    {
        for (int n = waitingForPages.size(); n > 0; n--)
        {
            final Rpc rpc = waitingForPages.pollFirst();
            rpc.in.waitingForPages = false;
            if (!allocateInbound(rpc))
            {
                return;
            }
            // Everything sent so far was dropped for lack of space: ask for it now.
            requestRetransmission(rpc);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Sending

    private void onBytesAvailable(final OutboundMessage out)
    {
        if (!out.hasTransmittable())
        {
            return;
        }
        if (out.length < smallMessageBytes)
        {
            // Tiny messages skip the pacer (kernel defer_min_bytes) so it never delays them.
            while (out.hasTransmittable())
            {
                final int offset = out.nextOffset;
                final int end = Math.min(offset + maxPayload, out.transmittableEnd());
                if (!sendData(out.rpc, offset, end - offset, false, priorityFor(out, offset)))
                {
                    break;
                }
                out.nextOffset = end;
            }
            onSent(out.rpc);
            if (out.hasTransmittable())
            {
                enqueue(out);
            }
        }
        else
        {
            enqueue(out);
        }
    }

    private void enqueue(final OutboundMessage out)
    {
        if (out.queued)
        {
            return;
        }
        out.queued = true;
        final int remaining = out.remaining();
        OutboundMessage prev = null;
        OutboundMessage cur = srptHead;
        while (null != cur && cur.remaining() <= remaining)
        {
            prev = cur;
            cur = cur.srptNext;
        }
        out.srptPrev = prev;
        out.srptNext = cur;
        if (null == prev)
        {
            srptHead = out;
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

    private void dequeue(final OutboundMessage out)
    {
        if (!out.queued)
        {
            return;
        }
        out.queued = false;
        if (null == out.srptPrev)
        {
            srptHead = out.srptNext;
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

    private int pace()
    {
        int sent = 0;
        throttled = false;
        while (sent < maxSendBurst)
        {
            OutboundMessage out = srptHead;
            if (null == out)
            {
                break;
            }
            if (0 != pacerFifoEvery && 0 == (paced + 1) % pacerFifoEvery && null != out.srptNext)
            {
                // The pacer's FIFO share (kernel pacer fifo_fraction): now and then the oldest message goes
                // instead of the shortest, so a long message cannot starve behind a stream of shorter ones.
                out = oldestTransmittable(out);
            }
            if (!out.hasTransmittable())
            {
                dequeue(out);
                continue;
            }
            final long queued = driver.queuedBytes() + batchBytes;
            if (queued >= maxNicQueueBytes)
            {
                throttled = true;
                pacerWakeNs = nowNs + Math.max(1, (long)Math.ceil((queued - maxNicQueueBytes + 1) * nsPerByte));
                metrics.increment(HomaMetrics.PACER_THROTTLED);
                break;
            }
            final int offset = out.nextOffset;
            final int end = Math.min(offset + maxPayload, out.transmittableEnd());
            if (!sendData(out.rpc, offset, end - offset, false, priorityFor(out, offset)))
            {
                throttled = true;
                pacerWakeNs = nowNs + tickNs;
                break;
            }
            out.nextOffset = end;
            sent++;
            paced++;
            if (!out.hasTransmittable())
            {
                dequeue(out);
            }
            else if (out != srptHead)
            {
                // Sending shrank its remaining bytes: keep the list in SRPT order.
                dequeue(out);
                enqueue(out);
            }
            onSent(out.rpc);
        }
        return sent;
    }

    private OutboundMessage oldestTransmittable(final OutboundMessage head)
    {
        OutboundMessage oldest = head;
        for (OutboundMessage m = head.srptNext; null != m; m = m.srptNext)
        {
            if (m.birthOrder < oldest.birthOrder && m.hasTransmittable())
            {
                oldest = m;
            }
        }
        return oldest;
    }

    private void onSent(final Rpc rpc)
    {
        if (rpc.client && Rpc.STATE_OUTGOING_REQUEST == rpc.state && rpc.out.fullySent())
        {
            rpc.state = Rpc.STATE_AWAIT_RESPONSE;
        }
    }

    private boolean sendData(
        final Rpc rpc, final int offset, final int byteLength, final boolean retransmit, final int priority)
    {
        final Packet packet = acquire();
        if (null == packet)
        {
            return false;
        }
        final OutboundMessage out = rpc.out;
        final MutableDirectBuffer buffer = packet.buffer();
        data.wrap(buffer, 0);
        data.initialize(PacketType.DATA, rpc.socket.port, rpc.peerPort, rpc.id);
        if (rpc.client && rpc.incast)
        {
            data.flags(HomaHeaderFlyweight.FLAG_INCAST);
        }
        data.messageLength(out.length);
        data.incoming(Math.min(Math.max(out.granted, out.unscheduled), out.length));
        if (rpc.client)
        {
            final Peer peer = rpc.peer;
            final int ack = peer.findAck(rpc.socket.port);
            if (ack >= 0)
            {
                data.ackClientId(peer.ackIds[ack]);
                data.ackServerPort(peer.ackServerPorts[ack]);
                peer.removeAck(ack);
            }
        }
        data.cutoffVersion(rpc.peer.cutoffs.version());
        data.retransmit(retransmit);
        data.segmentOffset(offset);
        data.sequence(offset);
        sendPool.read(out.pages, offset, buffer, DataHeaderFlyweight.HEADER_LENGTH, byteLength);
        packet.length(DataHeaderFlyweight.HEADER_LENGTH + byteLength);
        if (retransmit)
        {
            metrics.increment(HomaMetrics.RETRANSMITTED_PACKETS);
        }
        return transmit(packet, rpc.peerAddress, priority, PacketType.DATA);
    }

    private void sendControl(
        final int type, final int sourcePort, final int destinationPort, final long senderId, final long destination)
    {
        final Packet packet = acquire();
        if (null == packet)
        {
            return;
        }
        header.wrap(packet.buffer(), 0);
        header.initialize(type, sourcePort, destinationPort, senderId);
        packet.length(HomaHeaderFlyweight.COMMON_HEADER_LENGTH);
        transmit(packet, destination, highestPriority, type);
    }

    private void sendResend(final Rpc rpc, final int offset, final int length, final int priority)
    {
        final Packet packet = acquire();
        if (null == packet)
        {
            return;
        }
        resendFw.wrap(packet.buffer(), 0);
        resendFw.initialize(PacketType.RESEND, rpc.socket.port, rpc.peerPort, rpc.id);
        resendFw.offset(offset);
        resendFw.length(length);
        resendFw.priority(clampPriority(priority));
        packet.length(ResendFlyweight.LENGTH);
        metrics.increment(HomaMetrics.RESENDS_REQUESTED);
        transmit(packet, rpc.peerAddress, highestPriority, PacketType.RESEND);
    }

    private void sendCutoffs(final long destination, final int sourcePort, final int destinationPort, final long id)
    {
        final Packet packet = acquire();
        if (null == packet)
        {
            return;
        }
        cutoffsFw.wrap(packet.buffer(), 0);
        cutoffsFw.initialize(PacketType.CUTOFFS, sourcePort, destinationPort, id);
        for (int i = 0; i < Cutoffs.NUM_PRIORITIES; i++)
        {
            cutoffsFw.cutoff(i, 0 == i ? Math.max(localCutoffs.cutoff(0), maxMessageLength) : localCutoffs.cutoff(i));
        }
        cutoffsFw.cutoffVersion(localCutoffs.version());
        packet.length(CutoffsFlyweight.LENGTH);
        transmit(packet, destination, highestPriority, PacketType.CUTOFFS);
    }

    /**
     * Send an explicit ACK from a client socket: the common header names one RPC, the entries every pending ack
     * of that peer belonging to the same client port.
     */
    private void sendAck(
        final Peer peer, final long destination, final int clientPort, final int serverPort, final long clientId)
    {
        final Packet packet = acquire();
        if (null == packet)
        {
            return;
        }
        ackFw.wrap(packet.buffer(), 0);
        ackFw.initialize(PacketType.ACK, clientPort, serverPort, clientId);
        int count = 0;
        if (null != peer)
        {
            for (int i = 0; i < peer.ackCount && count < AckFlyweight.MAX_ACKS; )
            {
                if (peer.ackClientPorts[i] == clientPort)
                {
                    ackFw.clientId(count, peer.ackIds[i]);
                    ackFw.serverPort(count, peer.ackServerPorts[i]);
                    count++;
                    peer.removeAck(i);
                }
                else
                {
                    i++;
                }
            }
        }
        ackFw.numAcks(count);
        packet.length(AckFlyweight.LENGTH);
        transmit(packet, destination, highestPriority, PacketType.ACK);
    }

    private void addPendingAck(final Peer peer, final long clientId, final int serverPort, final int clientPort)
    {
        if (Peer.MAX_ACKS == peer.ackCount)
        {
            // Store full: flush the acks of the oldest entry's client port in an explicit ACK packet.
            sendAck(peer, peer.address, peer.ackClientPorts[0], peer.ackServerPorts[0], peer.ackIds[0]);
            if (Peer.MAX_ACKS == peer.ackCount)
            {
                peer.removeAck(0);
            }
        }
        final int i = peer.ackCount++;
        peer.ackIds[i] = clientId;
        peer.ackServerPorts[i] = serverPort;
        peer.ackClientPorts[i] = clientPort;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void sendGrant(final Grantable message, final int grantOffset, final int priority)
    {
        final Rpc rpc = ((InboundMessage)message).rpc;
        final Packet packet = acquire();
        if (null == packet)
        {
            return;
        }
        grantFw.wrap(packet.buffer(), 0);
        grantFw.initialize(PacketType.GRANT, rpc.socket.port, rpc.peerPort, rpc.id);
        grantFw.offset(grantOffset);
        grantFw.priority(clampPriority(priority));
        packet.length(GrantFlyweight.LENGTH);
        transmit(packet, rpc.peerAddress, highestPriority, PacketType.GRANT);
    }

    private Packet acquire()
    {
        Packet packet = driver.acquire();
        if (null == packet)
        {
            flushBatch();
            packet = driver.acquire();
            if (null == packet)
            {
                metrics.increment(HomaMetrics.DROP_TX_FULL);
            }
        }
        return packet;
    }

    private boolean transmit(final Packet packet, final long destination, final int priority, final int type)
    {
        final int level = clampPriority(priority);
        if (!driver.send(packet, destination, level))
        {
            flushBatch();
            if (!driver.send(packet, destination, level))
            {
                driver.release(packet);
                metrics.increment(HomaMetrics.DROP_TX_FULL);
                return false;
            }
        }
        batch[batchCount++] = packet;
        batchBytes += packet.length() + wireOverhead;
        metrics.onPacketSent(type, packet.length(), level);
        if (BATCH == batchCount)
        {
            flushBatch();
        }
        return true;
    }

    private void flushBatch()
    {
        if (0 == batchCount)
        {
            return;
        }
        driver.flush();
        for (int i = 0; i < batchCount; i++)
        {
            driver.release(batch[i]);
            batch[i] = null;
        }
        batchCount = 0;
        batchBytes = 0;
    }

    /**
     * The level for a DATA packet at {@code offset}: scheduled bytes go at the latest GRANT's priority; unscheduled
     * bytes at the level the peer's cutoffs give for the message length <em>now</em>, as the kernel decides per
     * packet, so the level always agrees with the cutoff_version the same packet carries.
     */
    private int priorityFor(final OutboundMessage out, final int offset)
    {
        return offset < out.unscheduled ?
            clampPriority(out.rpc.peer.cutoffs.unscheduledPriorityFor(out.length)) : out.scheduledPriority;
    }

    private int clampPriority(final int priority)
    {
        return priority < 0 ? 0 : Math.min(priority, highestPriority);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Receiving

    /**
     * {@inheritDoc}
     */
    @Override
    public void onPacket(final Packet packet)
    {
        try
        {
            onValidPacket(packet);
        }
        finally
        {
            driver.release(packet);
        }
    }

    private void onValidPacket(final Packet packet)
    {
        final MutableDirectBuffer buffer = packet.buffer();
        final int length = packet.length();
        final RejectReason reason = decoder.validate(buffer, 0, length);
        if (RejectReason.NONE != reason)
        {
            metrics.increment(HomaMetrics.decoderDrop(reason.ordinal()));
            return;
        }
        final int type = HomaHeaderFlyweight.typeOf(buffer, 0);
        metrics.onPacketReceived(type, length, packet.priority());
        header.wrap(buffer, 0);
        final int sourcePort = header.sourcePort();
        final EngineSocket socket = sockets.get(header.destinationPort());
        if (null == socket)
        {
            metrics.increment(HomaMetrics.DROP_UNKNOWN_PORT);
            return;
        }
        final long source = packet.source();
        final long localId = header.senderId() ^ 1;
        switch (type)
        {
            case PacketType.DATA -> onData(buffer, length, socket, source, sourcePort, localId);
            case PacketType.GRANT -> onGrant(buffer, socket, source, sourcePort, localId);
            case PacketType.RESEND -> onResend(buffer, socket, source, sourcePort, localId);
            case PacketType.RPC_UNKNOWN -> onRpcUnknown(socket, source, sourcePort, localId);
            case PacketType.BUSY -> onBusy(socket, source, sourcePort, localId);
            case PacketType.CUTOFFS -> onCutoffs(buffer, source);
            case PacketType.NEED_ACK -> onNeedAck(socket, source, sourcePort, localId);
            case PacketType.ACK -> onAck(buffer, socket, source, sourcePort, localId);
            default ->
            {
                // FREEZE: debugging aid only, no protocol effect.
            }
        }
    }

    private Rpc lookup(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        if (0 == (localId & 1))
        {
            final Rpc rpc = socket.clientRpcs.get(localId);
            return null != rpc && rpc.peerAddress == source && rpc.peerPort == sourcePort ? rpc : null;
        }
        return socket.findServer(source, sourcePort, localId);
    }

    private void onData(
        final MutableDirectBuffer buffer,
        final int length,
        final EngineSocket socket,
        final long source,
        final int sourcePort,
        final long localId)
    {
        data.wrap(buffer, 0);
        Rpc rpc = lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            if (0 == (localId & 1))
            {
                metrics.increment(HomaMetrics.DROP_UNKNOWN_RPC);
                return;
            }
            if (recentlyAcked.contains(EngineSocket.serverKey(source, sourcePort, localId) ^ socket.port))
            {
                // A late copy (delayed original or spurious retransmission) of a request whose RPC the client has
                // already acknowledged: recreating it would execute the request again (draft section 7.1) or leave
                // a partial RPC to time out. Bounded memory: the last ACKED_HISTORY acknowledged RPCs.
                metrics.increment(HomaMetrics.DROP_COMPLETE_MESSAGE);
                return;
            }
            if (serverRpcCount >= maxServerRpcs)
            {
                metrics.increment(HomaMetrics.DROP_MAX_SERVER_RPCS);
                return;
            }
            final Peer peer = peers.acquire(source, nowNs);
            if (null == peer)
            {
                metrics.increment(HomaMetrics.DROP_MAX_PEERS);
                return;
            }
            rpc = newRpc(localId, false, socket, peer, source, sourcePort);
            socket.addServer(rpc);
            serverRpcCount++;
            rpc.incast = 0 != (data.flags() & HomaHeaderFlyweight.FLAG_INCAST);
            metrics.increment(HomaMetrics.SERVER_RPCS_CREATED);
        }
        else
        {
            peers.touch(rpc.peer, nowNs);
        }

        if (!rpc.client)
        {
            final long ackId = data.ackClientId();
            if (0 != ackId)
            {
                final EngineSocket ackSocket = sockets.get(data.ackServerPort());
                if (null != ackSocket)
                {
                    final Rpc acked = ackSocket.findServer(source, sourcePort, ackId ^ 1);
                    if (null != acked && acked != rpc)
                    {
                        metrics.increment(HomaMetrics.SERVER_RPCS_ACKED);
                        rememberAcked(acked);
                        freeRpc(acked);
                    }
                }
            }
        }

        rpc.silentTicks = 0;
        if (rpc.client)
        {
            if (Rpc.STATE_OUTGOING_REQUEST == rpc.state)
            {
                // Response bytes mean the server has the whole request: stop sending it.
                rpc.state = Rpc.STATE_AWAIT_RESPONSE;
                dequeue(rpc.out);
            }
        }
        else if (Rpc.STATE_INCOMING_REQUEST != rpc.state)
        {
            metrics.increment(HomaMetrics.DROP_COMPLETE_MESSAGE);
            return;
        }

        final InboundMessage in = rpc.in;
        final int messageLength = data.messageLength();
        if (!in.started())
        {
            in.length = messageLength;
            in.incoming = Math.max(0, Math.min(data.incoming(), messageLength));
            in.birthOrder = births++;
            in.peerAddress = source;
            in.grantState.reset(in.incoming);
            if (!allocateInbound(rpc))
            {
                metrics.increment(HomaMetrics.DROP_RECEIVE_POOL);
                return;
            }
        }
        else if (in.length != messageLength)
        {
            metrics.increment(HomaMetrics.DROP_LENGTH_MISMATCH);
            return;
        }
        if (in.waitingForPages)
        {
            metrics.increment(HomaMetrics.DROP_RECEIVE_POOL);
            return;
        }

        if (!in.scheduled)
        {
            // Every message is tracked, even one that needs no grant: its unscheduled bytes count toward the
            // incoming budget (kernel accounting).
            in.scheduled = true;
            scheduler.add(in);
        }
        final int offset = data.segmentOffset();
        final int payload = length - DataHeaderFlyweight.HEADER_LENGTH;
        if (offset < 0 || (long)offset + payload > in.length)
        {
            metrics.increment(HomaMetrics.decoderDrop(RejectReason.OFFSET_PAST_END.ordinal()));
            return;
        }
        final int fresh = in.accept(offset, payload);
        if (fresh < 0)
        {
            metrics.increment(HomaMetrics.DROP_TOO_MANY_GAPS);
            return;
        }
        if (fresh > 0)
        {
            receivePool.write(in.pages, offset, buffer, DataHeaderFlyweight.HEADER_LENGTH, payload);
        }
        if (fresh < payload)
        {
            metrics.add(HomaMetrics.DUPLICATE_BYTES, payload - fresh);
        }

        final Peer peer = rpc.peer;
        if (data.cutoffVersion() != localCutoffs.version() && nowNs - peer.lastCutoffsSentNs >= tickNs)
        {
            peer.lastCutoffsSentNs = nowNs;
            sendCutoffs(source, socket.port, sourcePort, rpc.id);
        }

        if (in.complete())
        {
            completeInbound(rpc);
        }
        else if (fresh > 0)
        {
            scheduler.onDataReceived(in);
            scheduler.sendGrants(nowNs, this);
        }
    }

    private void onGrant(
        final MutableDirectBuffer buffer, final EngineSocket socket, final long source, final int sourcePort,
        final long localId)
    {
        final Rpc rpc = lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            metrics.increment(HomaMetrics.DROP_UNKNOWN_RPC);
            return;
        }
        rpc.silentTicks = 0;
        final boolean sending = rpc.client ? !rpc.in.started() : Rpc.STATE_RESPONDING == rpc.state;
        if (!sending)
        {
            metrics.increment(HomaMetrics.DROP_WRONG_STATE);
            return;
        }
        grantFw.wrap(buffer, 0);
        final OutboundMessage out = rpc.out;
        final int offset = Math.min(grantFw.offset(), out.length);
        out.scheduledPriority = clampPriority(grantFw.priority());
        if (offset > out.granted)
        {
            out.granted = offset;
            if (rpc.client && Rpc.STATE_AWAIT_RESPONSE == rpc.state && !out.fullySent())
            {
                rpc.state = Rpc.STATE_OUTGOING_REQUEST;
            }
            if (out.hasTransmittable())
            {
                enqueue(out);
            }
        }
    }

    private void onResend(
        final MutableDirectBuffer buffer, final EngineSocket socket, final long source, final int sourcePort,
        final long localId)
    {
        final Rpc rpc = lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            metrics.increment(HomaMetrics.UNKNOWN_ANSWERS);
            sendControl(PacketType.RPC_UNKNOWN, socket.port, sourcePort, localId, source);
            return;
        }
        rpc.silentTicks = 0;
        if (!rpc.client && Rpc.STATE_RESPONDING != rpc.state)
        {
            // No response yet: the request is incomplete or the application is still working on it.
            metrics.increment(HomaMetrics.BUSY_ANSWERS);
            sendControl(PacketType.BUSY, socket.port, sourcePort, rpc.id, source);
            return;
        }
        resendFw.wrap(buffer, 0);
        final OutboundMessage out = rpc.out;
        final int requested = resendFw.length();
        final int offset = Math.max(0, resendFw.offset());
        final int priority = clampPriority(resendFw.priority());
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
                if (out.hasTransmittable())
                {
                    if (rpc.client && Rpc.STATE_AWAIT_RESPONSE == rpc.state && !rpc.in.started())
                    {
                        rpc.state = Rpc.STATE_OUTGOING_REQUEST;
                    }
                    enqueue(out);
                }
            }
        }
        final int sentEnd = Math.min(end, out.nextOffset);
        if (offset >= sentEnd)
        {
            metrics.increment(HomaMetrics.BUSY_ANSWERS);
            sendControl(PacketType.BUSY, socket.port, sourcePort, rpc.id, source);
            return;
        }
        for (int o = offset; o < sentEnd; o += maxPayload)
        {
            if (!sendData(rpc, o, Math.min(maxPayload, sentEnd - o), true, priority))
            {
                break;
            }
        }
    }

    private void onRpcUnknown(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        final Rpc rpc = lookup(socket, source, sourcePort, localId);
        if (null == rpc)
        {
            return;
        }
        if (!rpc.client)
        {
            freeRpc(rpc);
            return;
        }
        // The server has no state for our RPC: restart it by sending again everything sent so far.
        metrics.increment(HomaMetrics.CLIENT_RESTARTS);
        resetInbound(rpc);
        rpc.state = Rpc.STATE_OUTGOING_REQUEST;
        rpc.silentTicks = 0;
        final OutboundMessage out = rpc.out;
        for (int o = 0; o < out.nextOffset; o += maxPayload)
        {
            if (!sendData(rpc, o, Math.min(maxPayload, out.nextOffset - o), true, priorityFor(out, o)))
            {
                break;
            }
        }
        onSent(rpc);
        if (out.hasTransmittable())
        {
            enqueue(out);
        }
    }

    private void onBusy(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        final Rpc rpc = lookup(socket, source, sourcePort, localId);
        if (null != rpc)
        {
            rpc.silentTicks = 0;
        }
    }

    private void onCutoffs(final MutableDirectBuffer buffer, final long source)
    {
        final Peer peer = peers.get(source);
        if (null == peer)
        {
            return;
        }
        cutoffsFw.wrap(buffer, 0);
        for (int i = 0; i < Cutoffs.NUM_PRIORITIES; i++)
        {
            cutoffScratch[i] = cutoffsFw.cutoff(i);
        }
        cutoffScratch[0] = Integer.MAX_VALUE;
        peer.cutoffs.set(cutoffScratch, cutoffsFw.cutoffVersion());
    }

    private void onNeedAck(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        final Rpc rpc = lookup(socket, source, sourcePort, localId);
        if (null != rpc && rpc.client)
        {
            // Still receiving the response: never ACK it; ask for what is missing instead.
            requestRetransmission(rpc);
            return;
        }
        sendAck(peers.get(source), source, socket.port, sourcePort, localId);
    }

    private void onAck(
        final MutableDirectBuffer buffer, final EngineSocket socket, final long source, final int sourcePort,
        final long localId)
    {
        freeAcked(socket, source, sourcePort, localId);
        ackFw.wrap(buffer, 0);
        final int count = Math.min(ackFw.numAcks(), AckFlyweight.MAX_ACKS);
        for (int i = 0; i < count; i++)
        {
            final EngineSocket serverSocket = sockets.get(ackFw.serverPort(i));
            if (null != serverSocket)
            {
                freeAcked(serverSocket, source, sourcePort, ackFw.clientId(i) ^ 1);
            }
            else
            {
                metrics.increment(HomaMetrics.ACKS_IGNORED);
            }
        }
    }

    private void freeAcked(final EngineSocket socket, final long source, final int sourcePort, final long serverId)
    {
        if (0 == (serverId & 1))
        {
            metrics.increment(HomaMetrics.ACKS_IGNORED);
            return;
        }
        final Rpc rpc = socket.findServer(source, sourcePort, serverId);
        if (null == rpc)
        {
            metrics.increment(HomaMetrics.ACKS_IGNORED);
            return;
        }
        metrics.increment(HomaMetrics.SERVER_RPCS_ACKED);
        rememberAcked(rpc);
        freeRpc(rpc);
    }

    private void rememberAcked(final Rpc rpc)
    {
        final long key = rpc.hashKey ^ rpc.socket.port;
        final long old = ackedRing[ackedRingNext];
        if (0 != old)
        {
            recentlyAcked.remove(old);
        }
        ackedRing[ackedRingNext] = key;
        ackedRingNext = (ackedRingNext + 1) % ACKED_HISTORY;
        recentlyAcked.add(key);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Timers

    private int onTick()
    {
        ticks++;
        int work = 0;
        for (Rpc rpc = allHead; null != rpc; )
        {
            final Rpc next = rpc.allNext;
            work += checkRpc(rpc);
            rpc = next;
        }
        // Cheap when nothing is due: the scan stops at the first peer that is not idle long enough.
        peers.evictIdle(nowNs);
        if (!waitingForPages.isEmpty())
        {
            retryWaitingForPages();
        }
        return work;
    }

    private int checkRpc(final Rpc rpc)
    {
        if (!rpc.client && Rpc.STATE_IN_SERVICE == rpc.state)
        {
            rpc.silentTicks = 0;
            return 0;
        }
        final OutboundMessage out = rpc.out;
        final boolean sending = rpc.client ? Rpc.STATE_OUTGOING_REQUEST == rpc.state :
            Rpc.STATE_RESPONDING == rpc.state;
        if (sending && out.hasTransmittable())
        {
            // The ball is in our court: we hold granted bytes not yet sent.
            rpc.silentTicks = 0;
            return 0;
        }
        final InboundMessage in = rpc.in;
        if (in.waitingForPages)
        {
            rpc.silentTicks = 0;
            return 0;
        }
        if (!rpc.client && Rpc.STATE_RESPONDING == rpc.state)
        {
            rpc.silentTicks++;
            if (rpc.silentTicks >= timeoutTicks)
            {
                metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                freeRpc(rpc);
                return 1;
            }
            if (out.fullySent() && rpc.silentTicks >= requestAckTicks)
            {
                sendControl(PacketType.NEED_ACK, rpc.socket.port, rpc.peerPort, rpc.id, rpc.peerAddress);
                return 1;
            }
            return 0;
        }
        if (in.started() && !in.complete() && 0 == in.gapCount &&
            in.highest >= Math.min(in.length, Math.max(in.incoming, in.grantState.grantedOffset())))
        {
            // Everything we granted has arrived; silence is expected until our scheduler grants more.
            rpc.silentTicks = 0;
            return 0;
        }
        rpc.silentTicks++;
        if (rpc.silentTicks >= timeoutTicks)
        {
            if (rpc.client)
            {
                metrics.increment(HomaMetrics.CLIENT_TIMEOUTS);
                failClient(rpc, new HomaTimeoutException(rpc.id, "RPC " + rpc.id + " to " +
                    HostAddress.toString(rpc.peerAddress) + " port " + rpc.peerPort + " timed out: server silent for " +
                    rpc.silentTicks + " ticks of " + tickNs + " ns (timeoutTicks " + timeoutTicks + ")"));
            }
            else
            {
                metrics.increment(HomaMetrics.SERVER_TIMEOUTS);
                freeRpc(rpc);
            }
            return 1;
        }
        if (rpc.silentTicks >= resendTicks && 0 == (rpc.silentTicks - resendTicks) % resendIntervalTicks)
        {
            requestRetransmission(rpc);
            return 1;
        }
        return 0;
    }

    /**
     * Ask the peer for every missing byte range: one RESEND per gap plus one for granted bytes beyond the highest
     * received; a client whose response has not started asks for "everything sent" (length -1).
     */
    private void requestRetransmission(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        if (!in.started())
        {
            if (rpc.client)
            {
                sendResend(rpc, 0, ResendFlyweight.LENGTH_ALL, highestPriority);
            }
            return;
        }
        if (in.waitingForPages)
        {
            return;
        }
        final int unscheduledPriority = localCutoffs.unscheduledPriorityFor(in.length);
        final int scheduledPriority = in.grantState.priority();
        for (int i = 0; i < in.gapCount; i++)
        {
            final int start = in.gapStarts[i];
            sendResend(rpc, start, in.gapEnds[i] - start,
                start < in.incoming ? unscheduledPriority : scheduledPriority);
        }
        final int granted = Math.min(in.length, Math.max(in.incoming, in.grantState.grantedOffset()));
        if (in.highest < granted)
        {
            sendResend(rpc, in.highest, granted - in.highest,
                in.highest < in.incoming ? unscheduledPriority : scheduledPriority);
        }
    }

    private void recomputeCutoffs()
    {
        if (calculator.recompute(localCutoffs))
        {
            metrics.increment(HomaMetrics.CUTOFF_CHANGES);
            scheduler.maxScheduledPriority(calculator.maxScheduledPriority());
        }
    }
}
