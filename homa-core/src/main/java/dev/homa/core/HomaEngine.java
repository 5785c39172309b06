package dev.homa.core;

import dev.homa.nic.frame.PriorityMapping;
import dev.homa.core.grant.GrantScheduler;
import dev.homa.core.metrics.CountersFile;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.priority.CutoffCalculator;
import dev.homa.core.priority.Cutoffs;
import dev.homa.core.wire.PacketDecoder;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.PacketSink;
import org.agrona.ErrorHandler;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.CachedNanoClock;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;

import java.lang.invoke.VarHandle;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

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
 * The agent only wires and drives its collaborators, each one protocol concept on this same thread: {@link
 * CommandHandler} and {@link InlineSender} (application commands), {@link PacketDispatcher} with {@link
 * DataReceiver}, {@link ControlReceiver} and {@link AckManager} (receiving), {@link SrptQueue}, {@link Pacer},
 * {@link DataSender}, {@link ControlSender} and {@link PacketTransmitter} (sending), {@link RpcTimer} and {@link
 * ResendRequester} (timers), {@link RpcTable}, {@link InboundAllocator} and {@link MessageDelivery} (RPC and message
 * life cycle), {@link CounterPublisher} (counters out of the process). Time reaches them through a {@link
 * CachedNanoClock} updated once per duty cycle.
 * <p>
 * Sender: a message is cut into packets of {@code maxPacketLength - 56} payload bytes; the unscheduled bytes go at
 * the priority the receiver's cutoffs give for its length, the rest only up to the latest GRANT at the grant's
 * priority. Messages with transmittable bytes wait in one list ordered by bytes left to send (SRPT); the pacer sends
 * from its head while {@code driver.queuedBytes()} is below the cap, so the choice is made late, and gives a small
 * share to the oldest message so long ones cannot starve. RESENDs are answered in {@link ControlReceiver}.
 * <p>
 * Receiver: packets are placed by byte offset into receive-pool pages; a message's storage is taken at its first
 * packet, and if the pool is exhausted the message waits (no grants; its bytes are asked for again when pages free
 * up). The {@link GrantScheduler} tracks a message that needs grants until its last byte; a completed message is
 * delivered zero-copy as a {@link HomaMessage} over the pool pages until released. Server RPCs live until the
 * client's ACK, matched by client host and id; a request that arrives again afterwards is a new RPC, as in the
 * kernel.
 */
final class HomaEngine implements Agent
{
    private static final int COMMAND_LIMIT = 64;
    private static final long PARK_WITHOUT_DRIVER_WAIT_NS = 50_000;

    private final NicDriver driver;
    private final NanoClock clock;
    private final CachedNanoClock time = new CachedNanoClock();
    private final HomaMetrics metrics;
    private final ManyToOneRingBuffer commands;
    private final Int2ObjectHashMap<EngineSocket> sockets = new Int2ObjectHashMap<>();
    private final PagePool receivePool;
    private final PagePool sendPool;
    private final PeerTable peers;
    private final GrantScheduler scheduler;
    private final Cutoffs localCutoffs = new Cutoffs();
    private final CutoffCalculator calculator;
    private final PacketTransmitter transmitter;
    private final ControlSender controlSender;
    private final Pacer pacer;
    private final InboundAllocator allocator;
    private final MessageDelivery delivery;
    private final RpcTable rpcs;
    private final PacketDispatcher dispatcher;
    private final RpcTimer timer;
    private final CommandHandler commandHandler;
    private final AckManager ackManager;
    private final ErrorHandler errorHandler;
    /** The protocol thread is in {@link #awaitWork}: a thread that hands it work must ring {@link #wake()}. */
    private volatile boolean sleeping;

    private final int maxMessageLength;
    private final int maxPayload;
    private final int unscheduledBytes;
    private final int pollBurst;
    private final long tickNs;
    private final boolean staticCutoffs;
    private final long cutoffIntervalNs;

    private long nowNs;
    private long nextTickNs;
    private long nextCutoffNs;
    private final InvokerThread invokerThread;
    private final InlineSender inlineSender;
    private final CounterPublisher counters;

    /**
     * @param ctx               concluded context.
     * @param commands          the application command ring.
     * @param registry          sockets by port as bound by the API.
     * @param sendPagesReserved send-pool pages reserved by the API (released here when messages end).
     */
    public HomaEngine(
        final HomaTransport.Context ctx,
        final ManyToOneRingBuffer commands,
        final Map<Integer, SocketEndpoint> registry,
        final SendPoolReservations sendPagesReserved)
    {
        this.driver = ctx.driver();
        this.clock = ctx.clock();
        this.errorHandler = ctx.errorHandler();
        this.commands = commands;
        this.maxMessageLength = ctx.maxMessageLength();
        final PacketDecoder decoder = new PacketDecoder(maxMessageLength);
        this.metrics = new HomaMetrics(driver);
        this.maxPayload = ctx.maxPayload();
        this.unscheduledBytes = ctx.unscheduledBytes();
        this.pollBurst = ctx.pollBurst();
        this.tickNs = ctx.tickNs();
        this.cutoffIntervalNs = ctx.cutoffIntervalNs();
        this.receivePool = new PagePool(ctx.receivePoolBytes(), ctx.receivePageBytes(), ctx.poolMemory());
        this.sendPool = new PagePool(ctx.sendPoolBytes(), ctx.receivePageBytes(), ctx.poolMemory());
        final int maxPages = receivePool.pagesFor(maxMessageLength);
        this.peers = new PeerTable(ctx.maxPeers(), ctx.peerIdleNs(), metrics);

        final int[] fixed = ctx.staticCutoffs();
        this.staticCutoffs = null != fixed;
        if (staticCutoffs)
        {
            localCutoffs.set(fixed, 1);
        }
        else
        {
            localCutoffs.copyFrom(Cutoffs.kernelDefaults(maxMessageLength));
        }
        this.calculator = new CutoffCalculator(PriorityMapping.LEVELS, unscheduledBytes, maxMessageLength)
            .minimumMessages(ctx.cutoffMinimumMessages())
            .windowMessages(ctx.cutoffWindowMessages())
            .forcedUnscheduledLevels(ctx.unscheduledLevels());
        this.scheduler =
            new GrantScheduler(ctx.grantConfig().maxScheduledPriority(maxScheduledPriorityOf(localCutoffs)), metrics);

        // Sending.
        this.transmitter = new PacketTransmitter(driver, metrics);
        // A packet whose checksum the transmitter fills (IPv4 protocol 146, not completed below the driver) must
        // hold all of its bytes.
        final DataSender dataSender = new DataSender(transmitter, metrics,
            driver.gathersPayload() && (!driver.carriesIpProtocol146() || driver.completesChecksum()));
        final AnswerLimiter limiter =
            new AnswerLimiter(metrics, ctx.maxAnswersPerPeerPerTick(), ctx.maxAnswersToUnknownPerTick());
        this.controlSender = new ControlSender(transmitter, metrics, localCutoffs, maxMessageLength);
        final SrptQueue srpt = new SrptQueue();
        this.pacer = new Pacer(ctx, srpt, dataSender, transmitter, metrics, time);

        // RPC and message life cycle.
        final ResendRequester resendRequester =
            new ResendRequester(controlSender, transmitter.highestPriority());
        this.allocator =
            new InboundAllocator(receivePool, scheduler, metrics, resendRequester, time, ctx.maxReceiveBytesPerPeer(),
            ctx.maxMessageLength(), ctx.receiveReserveBytes(), 2 * ctx.overcommit());
        this.invokerThread = new InvokerThread(ThreadingMode.INVOKER == ctx.threadingMode());
        this.delivery = new MessageDelivery(sockets, receivePool, allocator, maxPages, invokerThread, this::wake);
        this.rpcs = new RpcTable(
            srpt, sendPool, receivePool, sendPagesReserved, scheduler, controlSender, allocator, delivery, time,
            maxPages, new UnscheduledAdmission(ctx, srpt, metrics));

        // Receiving.
        this.ackManager = new AckManager(transmitter, sockets, rpcs, peers, resendRequester, limiter, metrics);
        final DataReceiver dataReceiver = new DataReceiver(
            rpcs, ackManager, peers, scheduler, controlSender, allocator, delivery, calculator, srpt, localCutoffs,
            receivePool, metrics, time, ctx.maxServerRpcs(), ctx.maxIncomingRequestsPerPeer(), tickNs);
        final UnscheduledSizer unscheduledSizer = new UnscheduledSizer(
            ctx.unscheduledBytesDerived() && !driver.hasTransmitQueue(), ctx.unscheduledBytes(),
            ctx.maxIncomingBytesPerPeer(), maxPayload, driver.linkBitsPerSecond(), metrics);
        final ControlReceiver controlReceiver = new ControlReceiver(
            rpcs, peers, srpt, pacer, dataSender, controlSender, transmitter, limiter, metrics, maxPayload,
            ctx.retransmitBudgetPercent(), unscheduledSizer, time, ctx.resendIntervalTicks() * tickNs, driver);

        // Timers and commands.
        this.timer =
            new RpcTimer(ctx, rpcs, controlSender, resendRequester, allocator, peers, limiter, metrics, time);
        this.commandHandler = new CommandHandler(
            ctx, registry, sockets, rpcs, peers, sendPool, receivePool, sendPagesReserved, delivery, pacer,
            unscheduledSizer, metrics, time);
        delivery.forwardWith(commandHandler::startForward);
        final Unreachable unreachable = new Unreachable(driver, transmitter, rpcs, metrics, time);
        this.dispatcher = new PacketDispatcher(driver, decoder, metrics, sockets, commandHandler::bindOpened,
            dataReceiver, controlReceiver, ackManager, peers, unreachable);

        this.inlineSender = new InlineSender(
            invokerThread, commands, commandHandler, COMMAND_LIMIT, pacer, transmitter, metrics, errorHandler);

        nowNs = clock.nanoTime();
        time.update(nowNs);
        counters = new CounterPublisher(
            metrics, ctx.countersIntervalNs(), ctx.dutyCycleStallThresholdNs(), nowNs, ctx.epochClock().time());
        nextTickNs = nowNs + tickNs;
        nextCutoffNs = nowNs + cutoffIntervalNs;
    }

    private int maxScheduledPriorityOf(final Cutoffs cutoffs)
    {
        // The lowest unscheduled level is the highest one whose cutoff admits the longest message; scheduled
        // traffic uses every level below it.
        for (int level = PriorityMapping.LEVELS - 1; level >= 1; level--)
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
        invokerThread.enter();
        try
        {
            nowNs = clock.nanoTime();
            time.update(nowNs);
            int work = delivery.drainReleases();
            if (ackManager.hasDeferred())
            {
                work += ackManager.freeDeferred();
            }
            final int commandWork = commands.read(commandHandler, COMMAND_LIMIT);
            if (0 != commandWork)
            {
                // A request or reply the application just handed over leaves before the driver is polled: a poll
                // can be a system call (recvmmsg on UDP), and a reply should not wait behind one.
                work += commandWork + pacer.pace();
                transmitter.flushBatch();
            }
            work += timer.onPolled(driver.poll(dispatcher, pollBurst), pollBurst);
            if (nowNs - nextTickNs >= 0)
            {
                nextTickNs = nowNs + tickNs;
                work += timer.onTick();
            }
            counters.publishIfDue(nowNs);
            if (!staticCutoffs && nowNs - nextCutoffNs >= 0)
            {
                nextCutoffNs = nowNs + cutoffIntervalNs;
                recomputeCutoffs();
            }
            if (nowNs - scheduler.nextFifoGrantDeadlineNs() >= 0 && 0 != scheduler.trackedCount())
            {
                // FIFO grants (starvation escape) are paced by time, not by arriving data.
                work += scheduler.sendGrants(nowNs, controlSender);
            }
            // GRANTs for everything this cycle received, completed or ended: one per message, not one per packet.
            work += scheduler.sendGrantsIfDue(nowNs, controlSender);
            work += pacer.pace();
            if (0 != delivery.overflowCount())
            {
                work += delivery.deliverOverflow();
            }
            transmitter.flushBatch();
            updateGauges();
            if (0 != work)
            {
                counters.onCycleEnd(clock.nanoTime() - nowNs);
            }
            return work;
        }
        finally
        {
            invokerThread.exit();
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * Pending acks go out from the protocol thread; the counters file gets the final values and goes away.
     */
    @Override
    public void onClose()
    {
        ackManager.flushPendingAcks(isInvokerThread());
        counters.close(clock.nanoTime());
    }

    /**
     * Publish the counters to a file for other processes (before the agent starts).
     *
     * @param countersFile the file, updated every {@code countersIntervalNs} on the protocol thread.
     */
    public void countersFile(final CountersFile countersFile)
    {
        counters.countersFile(countersFile);
    }

    /**
     * @return the counters file, or null.
     */
    public CountersFile countersFile()
    {
        return counters.countersFile();
    }

    /**
     * @return how the thread that drives an INVOKER transport's duty cycle starts its messages at once.
     */
    InlineSender inlineSender()
    {
        return inlineSender;
    }

    /**
     * Block the protocol thread between duty cycles until the driver may have packets, another thread hands the
     * engine work ({@link #wake()}), the engine's own next deadline (a timer tick, the pacer) comes, or {@code
     * maxWaitNs} passes - whichever is first. A driver that cannot wait ({@link NicDriver#canAwaitReadable()}) parks
     * the thread briefly instead.
     *
     * @param maxWaitNs longest wait.
     */
    public void awaitWork(final long maxWaitNs)
    {
        if (!driver.canAwaitReadable())
        {
            LockSupport.parkNanos(Math.min(maxWaitNs, PARK_WITHOUT_DRIVER_WAIT_NS));
            return;
        }
        // Announce the sleep before looking for work: a command committed after this store sees it and wakes the
        // driver; one committed before it is seen by nextDeadlineNs(), which then answers "now".
        sleeping = true;
        try
        {
            final long waitNs = Math.min(maxWaitNs, nextDeadlineNs() - clock.nanoTime());
            if (waitNs > 0)
            {
                driver.awaitReadable(waitNs);
            }
        }
        finally
        {
            sleeping = false;
        }
    }

    /**
     * Whether the protocol thread should keep polling rather than sleep: a packet is due within a round trip (bytes
     * of an inbound message were granted or sent unscheduled but have not arrived, or an outbound message waits for
     * its receiver's next GRANT), or, counting {@code handOffs} (a DEDICATED protocol thread), a hand-off with an
     * application thread is due (a client RPC awaits its response, a request is with the application). The kernel
     * answers such packets in softirq context and hands a message over once; a protocol thread that slept now would
     * add a wake-up to the round trip or the hand-off, and its peer, also waiting, another. O(RPCs); ask once per
     * idle spell.
     *
     * @param handOffs whether hand-offs with application threads count.
     * @return true if the protocol thread should keep polling.
     */
    public boolean expectsWorkSoon(final boolean handOffs)
    {
        return scheduler.incomingBytes() > 0 || rpcs.hasRpcAwaitingPeerOrApplication(handOffs);
    }

    /** @return false while the protocol thread sleeps in {@link #awaitWork}. */
    boolean isAwake()
    {
        return !sleeping;
    }

    /**
     * Any thread, after it handed the engine work (a command, a released message): end an {@link #awaitWork} in
     * progress. Costs a fence when the protocol thread is awake, a driver wake-up when it sleeps.
     */
    public void wake()
    {
        // The work was published with a release store; this orders it before the read of the flag (StoreLoad).
        VarHandle.fullFence();
        if (sleeping)
        {
            driver.wakeup();
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
        if (commands.size() > 0 || delivery.hasPendingWork() || ackManager.hasDeferred() || scheduler.grantsDue())
        {
            return now;
        }
        long deadline = pacer.deadlineNs(now);
        if (0 != rpcs.rpcCount() || allocator.hasWaiting())
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
     * @return true if the calling thread may drive the duty cycle: in INVOKER mode, the thread that does (or the
     * first to come, before any duty cycle ran); never a thread that only completes futures or times them out.
     */
    public boolean isInvokerThread()
    {
        return invokerThread.isOwnerOrUnowned();
    }

    /**
     * @return true while {@link #doWork()} runs (re-entrancy guard for INVOKER mode).
     */
    public boolean inDutyCycle()
    {
        return invokerThread.inDutyCycle();
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
        return rpcs.rpcCount();
    }

    /**
     * @return the driver's packet sink: what the duty cycle polls the driver with (tests on the protocol thread poll
     * with it directly, to order a packet before a command).
     */
    PacketSink packetSink()
    {
        return dispatcher;
    }

    /**
     * @return live server RPCs (protocol thread / tests).
     */
    public int serverRpcCount()
    {
        return rpcs.serverRpcCount();
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
        return rpcs.messagesWithOutstandingGrants();
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
        metrics.set(HomaMetrics.ACTIVE_RPCS, rpcs.rpcCount());
        metrics.set(HomaMetrics.ACTIVE_SERVER_RPCS, rpcs.serverRpcCount());
        metrics.set(HomaMetrics.RECEIVE_PAGES_IN_USE, receivePool.inUse());
        metrics.set(HomaMetrics.SEND_PAGES_IN_USE, sendPool.inUse());
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
