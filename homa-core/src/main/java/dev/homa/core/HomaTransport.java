package dev.homa.core;

import dev.homa.core.grant.GrantConfig;
import dev.homa.core.metrics.CountersFile;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import org.agrona.BufferUtil;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A Homa transport: one protocol engine over one {@link NicDriver}, and the sockets bound on it. Built from a
 * {@link Context} (after Aeron's {@code MediaDriver.Context}): {@code HomaTransport.launch(new
 * HomaTransport.Context().driver(d))}.
 * <p>
 * Threads: the protocol runs single-threaded, either on a dedicated thread ({@link ThreadingMode#DEDICATED}) or
 * on the caller's thread through {@link #invoker()} ({@link ThreadingMode#INVOKER}, used for embedding and for
 * deterministic tests in virtual time). Application threads talk to it through a many-to-one ring buffer of
 * commands (send, reply, abort, bind, close) and get results back through per-socket queues; no locks on the
 * data path.
 * <p>
 * Semantics: RPCs are at-least-once. A server keeps an RPC (and its response) until the client acknowledges the
 * response, so a retransmitted request finds the existing RPC; but if the server discards state (timeout, limits)
 * and the client restarts the request after an RPC_UNKNOWN, the request can execute twice.
 */
public final class HomaTransport implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(HomaTransport.class);

    private final Context ctx;
    private final HomaEngine engine;
    private final ManyToOneRingBuffer commands;
    private final ConcurrentHashMap<Integer, HomaSocket> sockets = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, SocketEndpoint> endpoints = new ConcurrentHashMap<>();
    private final AtomicInteger nextAutoPort = new AtomicInteger(Context.MIN_AUTO_PORT);
    private final AtomicLong nextRpcId;
    private final SendPoolReservations sendPagesReserved = new SendPoolReservations();
    private final AgentInvoker invoker;
    private final AgentRunner runner;
    private final ThreadLocal<IdleStrategy> receiveIdleStrategy;
    /** Longest single sleep of an idle protocol thread, so that close() is never kept waiting long. */
    private static final long MAX_IDLE_WAIT_NS = 10_000_000L;
    private volatile boolean closed;

    private HomaTransport(final Context ctx)
    {
        this.ctx = ctx;
        // Ids start from the clock, not from 2 as the kernel's do, so a restarted client does not reuse the id of an
        // RPC a server still holds unacknowledged (its new request would meet the old RPC and its old response). In
        // virtual time the clock starts at 0: ids start at 2 and runs stay reproducible.
        this.nextRpcId = new AtomicLong(Math.max(2, (ctx.clock().nanoTime() & 0x3FFF_FFFF_FFFF_FFFFL) << 1));
        this.commands = new ManyToOneRingBuffer(new UnsafeBuffer(BufferUtil.allocateDirectAligned(
            ctx.commandBufferBytes() + RingBufferDescriptor.TRAILER_LENGTH, 64)));
        this.engine = new HomaEngine(ctx, commands, endpoints, sendPagesReserved);
        if (ctx.countersEnabled())
        {
            try
            {
                engine.countersFile(CountersFile.create(
                    Path.of(ctx.countersDir()), engine.roleName(), engine.metrics(), ctx.driver()));
            }
            catch (final RuntimeException ex)
            {
                LOG.warn("no counters file for homa-stat ({}); the counters stay in this process", ex.getMessage());
            }
        }
        final ErrorHandler appHandler = ctx.errorHandler();
        final ErrorHandler errorHandler = (throwable) ->
        {
            engine.metrics().increment(dev.homa.core.metrics.HomaMetrics.ERRORS);
            appHandler.onError(throwable);
        };
        // Blocking receives idle on application threads: each thread gets its own instance, because idle
        // strategies keep state and the dedicated thread's one must not be shared.
        this.receiveIdleStrategy = null == ctx.receiveIdleStrategySupplier() ? null :
            ThreadLocal.withInitial(ctx.receiveIdleStrategySupplier());
        final Agent agent = ctx.ownsDriver() ? new DriverOwningAgent(engine, ctx.driver()) : engine;
        if (ThreadingMode.INVOKER == ctx.threadingMode())
        {
            invoker = new AgentInvoker(errorHandler, null, agent);
            invoker.start();
            runner = null;
        }
        else
        {
            invoker = null;
            final IdleStrategy idle = null != ctx.idleStrategy() ? ctx.idleStrategy() : newIdleStrategy();
            runner = new AgentRunner(idle, errorHandler, null, agent);
            // A daemon: an application that forgets close() still exits when its own threads end.
            AgentRunner.startOnThread(runner, (task) ->
            {
                final Thread thread = new Thread(task);
                thread.setDaemon(true);
                return thread;
            });
        }
    }

    /**
     * Validate the context and start the transport.
     *
     * @param ctx configuration; concluded here.
     * @return the running transport.
     */
    public static HomaTransport launch(final Context ctx)
    {
        ctx.conclude();
        if (ctx.printConfiguration())
        {
            System.out.print(ctx);
        }
        try
        {
            return new HomaTransport(ctx);
        }
        catch (final RuntimeException | Error ex)
        {
            // Nothing was started: release the driver this launch opened (its ports, its rings).
            ctx.closeOwnedDriver();
            throw ex;
        }
    }

    /**
     * Open a socket.
     *
     * @param port 1..65535 to bind explicitly (servers use 1..32767), or 0 for the next free port from 32768.
     * @return the socket.
     * @throws HomaException if the port is taken or out of range.
     */
    public HomaSocket openSocket(final int port)
    {
        ensureOpen();
        if (port < 0 || port > 0xFFFF)
        {
            throw new HomaException("port out of range 0..65535: " + port);
        }
        int chosen = port;
        HomaSocket socket;
        if (0 == port)
        {
            for (int attempts = 0; ; attempts++)
            {
                if (attempts > Context.MAX_PORT - Context.MIN_AUTO_PORT)
                {
                    throw new HomaLimitException("no free port in " + Context.MIN_AUTO_PORT + ".." + Context.MAX_PORT);
                }
                chosen = nextAutoPort.getAndIncrement();
                if (chosen > Context.MAX_PORT)
                {
                    nextAutoPort.compareAndSet(chosen + 1, Context.MIN_AUTO_PORT);
                    continue;
                }
                socket = new HomaSocket(this, chosen);
                if (null == sockets.putIfAbsent(chosen, socket))
                {
                    break;
                }
            }
        }
        else
        {
            socket = new HomaSocket(this, chosen);
            if (null != sockets.putIfAbsent(chosen, socket))
            {
                throw new HomaException("port " + chosen + " is already bound on this transport");
            }
        }
        endpoints.put(chosen, socket.endpoint());
        offerControl(Commands.BIND, chosen, 0);
        return socket;
    }

    /**
     * @return the invoker that runs one duty cycle per {@code invoke()} ({@link ThreadingMode#INVOKER} only).
     * @throws HomaException in {@link ThreadingMode#DEDICATED} mode.
     */
    public AgentInvoker invoker()
    {
        if (null == invoker)
        {
            throw new HomaException("invoker() needs ThreadingMode.INVOKER; this transport runs DEDICATED");
        }
        return invoker;
    }

    /**
     * Run one duty cycle on the caller's thread ({@link ThreadingMode#INVOKER} only).
     *
     * @return work done; 0 = idle.
     */
    public int doWork()
    {
        return invoker().invoke();
    }

    /**
     * For simulation loops in virtual time: the clock value at which the duty cycle next has something to do
     * (now if it has work pending, the next timer tick, the pacer's wake-up, or {@link Long#MAX_VALUE} when
     * nothing at all is pending). Only meaningful from the protocol thread (INVOKER mode).
     *
     * @return deadline on the context's clock.
     */
    public long nextDeadlineNs()
    {
        return engine.nextDeadlineNs();
    }

    /**
     * @return the file other processes read this transport's counters from ({@code homa-stat}), or null if there is
     * none ({@link Context#countersEnabled(boolean)}).
     */
    public Path countersFile()
    {
        final CountersFile file = engine.countersFile();
        return null == file ? null : file.path();
    }

    /**
     * @return the transport's counters (readable from any thread).
     */
    public HomaMetrics metrics()
    {
        return engine.metrics();
    }

    /**
     * The protocol agent, for this package (the socket's inline path) and, through the test sources'
     * {@code EngineAccess}, for tests on the protocol thread; not part of the API.
     *
     * @return the engine.
     */
    HomaEngine engine()
    {
        return engine;
    }

    /**
     * @return the concluded context.
     */
    public Context context()
    {
        return ctx;
    }

    /**
     * @return true once {@link #close()} was called.
     */
    public boolean isClosed()
    {
        return closed;
    }

    /**
     * Stop the protocol (joins the dedicated thread) and release the engine's memory. Outstanding RPCs are dropped.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        if (null != runner)
        {
            // A protocol thread asleep in the driver would only see the stop at its next wake-up.
            ctx.driver().wakeup();
            runner.close();
        }
        if (null != invoker)
        {
            invoker.close();
        }
    }

    /**
     * @return the application's idle strategy for this thread's blocking receives, or null to park until the
     * protocol thread queues a result (the default).
     */
    IdleStrategy receiveIdleStrategy()
    {
        return null == receiveIdleStrategy ? null : receiveIdleStrategy.get();
    }

    /**
     * {@link ThreadingMode#INVOKER} mode, on the thread that drives the duty cycle: sleep until a packet may have
     * arrived, another thread hands the transport work, a protocol timer is due, or {@code maxWaitNs} passes. For an
     * application loop that has deadlines of its own; {@link #newIdleStrategy()} suits one that has none.
     *
     * @param maxWaitNs longest sleep.
     * @throws HomaException in {@link ThreadingMode#DEDICATED} mode, whose protocol thread sleeps by itself.
     */
    public void awaitWork(final long maxWaitNs)
    {
        invoker();
        engine.awaitWork(maxWaitNs);
    }

    /**
     * An idle strategy for the thread that drives this transport's duty cycle: in {@link ThreadingMode#INVOKER} mode
     * the application's own loop ({@code idle.idle(transport.doWork())}), by default the dedicated thread's. It polls
     * for {@link Context#idleSpinNs()} after the last work, then sleeps in the driver until a packet may have arrived,
     * another thread hands the transport work, or a protocol timer is due. One per driving thread.
     *
     * @return a new {@link ProtocolIdleStrategy}.
     */
    public ProtocolIdleStrategy newIdleStrategy()
    {
        return new ProtocolIdleStrategy(engine, ctx.clock(), ctx.idleSpinNs(), MAX_IDLE_WAIT_NS);
    }

    long newRpcId()
    {
        return nextRpcId.getAndAdd(2);
    }

    boolean reserveSendPages(final int pages)
    {
        return sendPagesReserved.tryReserve(pages, engine.sendPoolUnits());
    }

    void unreserveSendPages(final int pages)
    {
        sendPagesReserved.cancel(pages);
    }

    int sendUnitsFor(final int length)
    {
        return engine.sendUnitsFor(length);
    }

    ManyToOneRingBuffer commands()
    {
        return commands;
    }

    void removeSocket(final int port)
    {
        sockets.remove(port);
        endpoints.remove(port);
    }

    void ensureOpen()
    {
        if (closed)
        {
            throw new HomaException("transport is closed");
        }
    }

    /**
     * Wait for room in the command buffer: in INVOKER mode by running the duty cycle (which drains it), in
     * DEDICATED mode by idling until the protocol thread catches up, within the context's command timeout.
     */
    void awaitCommandSpace(final long startNs)
    {
        if (null != invoker && engine.isInvokerThread())
        {
            if (engine.inDutyCycle())
            {
                throw new HomaLimitException("command buffer full (" + ctx.commandBufferBytes() +
                    " bytes, homa.command.buffer.bytes) while called from inside the duty cycle");
            }
            invoker.invoke();
        }
        else if (null != invoker)
        {
            // Another thread (a future's timer, say) waits for the one that drives the duty cycle to drain the ring.
            ensureOpen();
            Thread.onSpinWait();
        }
        else
        {
            ensureOpen();
            Thread.onSpinWait();
        }
        if (ctx.clock().nanoTime() - startNs > ctx.commandTimeoutNs())
        {
            throw new HomaLimitException("command buffer full (" + ctx.commandBufferBytes() +
                " bytes, homa.command.buffer.bytes) for longer than " + ctx.commandTimeoutNs() + " ns");
        }
    }

    boolean isInvoker()
    {
        return null != invoker;
    }

    void offerControl(final int type, final int port, final long id)
    {
        offerControl(type, port, id, 0);
    }

    /**
     * @param type  the command.
     * @param port  the socket's port.
     * @param id    the RPC id.
     * @param value the command's value at {@link Commands#DEADLINE_OFFSET} (DEADLINE).
     */
    void offerControl(final int type, final int port, final long id, final long value)
    {
        final UnsafeBuffer scratch = new UnsafeBuffer(new byte[Commands.HEADER_LENGTH]);
        scratch.putInt(Commands.PORT_OFFSET, port);
        scratch.putLong(Commands.ID_OFFSET, id);
        scratch.putLong(Commands.DEADLINE_OFFSET, value);
        final long startNs = ctx.clock().nanoTime();
        while (!commands.write(type, scratch, 0, Commands.HEADER_LENGTH))
        {
            awaitCommandSpace(startNs);
        }
        engine.wake();
    }

    /**
     * Configuration of a {@link HomaTransport}: fluent setters, defaults from the kernel module's sysctls where
     * one exists, validated and completed (derived values) by {@link #conclude()}.
     */
    public static final class Context
    {
        /** First automatically assigned port (kernel HOMA_MIN_DEFAULT_PORT). */
        public static final int MIN_AUTO_PORT = 0x8000;
        /** Largest port. */
        public static final int MAX_PORT = 0xFFFF;
        /** Kernel HOMA_MAX_MESSAGE_LENGTH: the largest message, both directions, and the default limit. */
        public static final int MAX_MESSAGE_LENGTH = 1_000_000;
        /**
         * Largest {@link #maxMessageLength(int)} accepted: offsets travel in 32 bits and a message must fit in a pool
         * of at most 2 GiB.
         */
        public static final int MAX_MESSAGE_LENGTH_LIMIT = 1 << 30;
        /** Bytes of Homa DATA header in front of each payload. */
        public static final int DATA_HEADER_LENGTH = 56;
        /** Bytes of received packets a duty cycle takes by default (see {@link #pollBurst(int)}). */
        public static final int POLL_BURST_BYTES = 256 * 1024;
        /** The kernel's max_incoming default: granted or unscheduled bytes not yet received, all messages. */
        public static final int MAX_INCOMING_BYTES_DEFAULT = 400_000;
        /** The kernel's max_nic_est_backlog_usecs: the pacer's cap on a NIC's estimated backlog, in ns. */
        public static final long NIC_BACKLOG_NS_DEFAULT = 5_000;
        /** Bytes handed over per flush where the driver has no transmit queue: one full GSO super-datagram. */
        public static final int UNQUEUED_FLUSH_BYTES_DEFAULT = 64 * 1024;
        /** System property naming the driver by URI when none is set in code: {@value}. */
        public static final String DRIVER_URI_PROP_NAME = "homa.driver.uri";

        private NicDriver driver;
        private String driverUri = System.getProperty(DRIVER_URI_PROP_NAME);
        private boolean ownsDriver;
        private NanoClock clock;
        private IdleStrategy idleStrategy;
        private Supplier<IdleStrategy> receiveIdleStrategySupplier;
        private long idleSpinNs = Configuration.durationNs("homa.idle.spin", "20us");
        private ThreadingMode threadingMode = ThreadingMode.INVOKER;
        private ErrorHandler errorHandler;
        private int maxMessageLength = Configuration.sizeInt("homa.max.message.length", "1000000");
        private long rttNs = Configuration.durationNs("homa.rtt", "8us");
        private int unscheduledBytes = Configuration.sizeInt("homa.unscheduled.bytes", "0");
        private int overcommit = Configuration.intValue("homa.overcommit", "8");
        private int maxIncomingBytes = Configuration.sizeInt("homa.max.incoming.bytes", "0");
        private int windowBytes = Configuration.sizeInt("homa.window.bytes", "0");
        private int maxActivePerPeer = Configuration.intValue("homa.max.active.per.peer", "1");
        private int fifoGrantFractionPerMille = Configuration.intValue("homa.grant.fifo.fraction", "50");
        private int fifoGrantIncrement = Configuration.sizeInt("homa.grant.fifo.increment", "50000");
        private int maxNicQueueBytes = Configuration.sizeInt("homa.max.nic.queue.bytes", "0");
        private int smallMessageBytes = Configuration.sizeInt("homa.small.message.bytes", "1000");
        private int maxSendBurst = 64;
        private int pollBurst;
        private long tickNs = Configuration.durationNs("homa.tick", "1ms");
        private int resendTicks = Configuration.intValue("homa.resend.ticks", "5");
        private int resendIntervalTicks = Configuration.intValue("homa.resend.interval.ticks", "5");
        private int timeoutTicks = Configuration.intValue("homa.timeout.ticks", "100");
        private int timeoutResends = Configuration.intValue("homa.timeout.resends", "0");
        private int requestAckTicks = Configuration.intValue("homa.request.ack.ticks", "2");
        private boolean incastEnabled = Configuration.boolValue("homa.incast.enabled", "true");
        private int incastThreshold = Configuration.intValue("homa.incast.threshold", "16");
        private int incastUnscheduledBytes = Configuration.sizeInt("homa.incast.unscheduled.bytes", "300");
        private int receivePageBytes = Configuration.sizeInt("homa.receive.page.bytes", "64k");
        private long receivePoolBytes = Configuration.sizeLong("homa.receive.pool.bytes", "64m");
        private long sendPoolBytes = Configuration.sizeLong("homa.send.pool.bytes", "64m");
        private int maxPeers = Configuration.intValue("homa.max.peers", "10000");
        private long peerIdleNs = Configuration.durationNs("homa.peer.idle", "10s");
        private int maxServerRpcs = Configuration.intValue("homa.max.server.rpcs", "10000");
        private int maxRpcsPerSocket = Configuration.intValue("homa.max.rpcs.per.socket", "10000");
        private int maxIncomingRequestsPerPeer = Configuration.intValue("homa.max.incoming.requests.per.peer", "1000");
        private long maxReceiveBytesPerPeer = Configuration.sizeLong("homa.max.receive.bytes.per.peer", "0");
        private long receiveReserveBytes = Configuration.sizeLong("homa.receive.reserve.bytes", "0");
        private int maxIncomingBytesPerPeer = Configuration.sizeInt("homa.max.incoming.bytes.per.peer", "0");
        private int retransmitBudgetPercent = Configuration.intValue("homa.retransmit.budget.percent", "500");
        private int maxUnansweredResends = Configuration.intValue("homa.max.unanswered.resends", "3");
        private int responseStallTicks = Configuration.intValue("homa.response.stall.ticks", "0");
        private boolean countersEnabled = Configuration.boolValue("homa.counters.enabled", "true");
        private String countersDir = System.getProperty("homa.counters.dir");
        private long countersIntervalNs = Configuration.durationNs("homa.counters.interval", "10ms");
        private boolean printConfiguration = Configuration.boolValue("homa.print.configuration", "false");
        private int maxAnswersPerPeerPerTick = Configuration.intValue("homa.max.answers.per.peer.per.tick", "128");
        private int maxAnswersToUnknownPerTick = Configuration.intValue("homa.max.answers.unknown.per.tick", "256");
        private int[] staticCutoffs;
        private PoolMemory poolMemory = PoolMemory.DIRECT;
        private long cutoffIntervalNs = Configuration.durationNs("homa.cutoff.interval", "1s");
        private int commandBufferBytes = Configuration.sizeInt("homa.command.buffer.bytes", "1m");
        private long commandTimeoutNs = 1_000_000_000L;
        private int completionQueueCapacity = 4096;
        private boolean strictOvercommit = Configuration.boolValue("homa.strict.overcommit", "false");
        private boolean fifoGrantOrder = Configuration.boolValue("homa.grant.fifo.order", "false");
        private int pacerFifoFractionPerMille = Configuration.intValue("homa.pacer.fifo.fraction", "50");
        private int cutoffMinimumMessages = 10_000;
        private int cutoffWindowMessages = 100_000;
        private int unscheduledLevels;
        private GrantConfig grantConfig;
        private boolean concluded;

        /**
         * Validate every setting and fill derived values (unscheduled bytes from link rate x RTT, NIC queue cap
         * from the packet size). Called by {@link HomaTransport#launch(Context)}.
         *
         * @return this.
         * @throws HomaConfigurationException naming the first bad setting.
         */
        public Context conclude()
        {
            if (concluded)
            {
                throw new HomaConfigurationException("context already concluded (one transport per context)");
            }
            JvmFlags.check();
            if (null == driver && null != driverUri)
            {
                try
                {
                    driver = NicDrivers.open(driverUri);
                }
                catch (final RuntimeException ex)
                {
                    throw new HomaConfigurationException("driverUri: " + ex.getMessage(), ex);
                }
                ownsDriver = true;
                try
                {
                    concludeSettings();
                }
                catch (final RuntimeException ex)
                {
                    // A bad setting found after the driver was opened: close it, so nothing stays bound.
                    closeOwnedDriver();
                    throw ex;
                }
                return this;
            }
            concludeSettings();
            return this;
        }

        /**
         * Close the driver this context opened from its URI (launch failed after {@link #conclude()}).
         */
        void closeOwnedDriver()
        {
            if (ownsDriver && null != driver && null != driverUri)
            {
                driver.close();
                driver = null;
                ownsDriver = false;
            }
        }

        private void concludeSettings()
        {
            if (null == driver)
            {
                throw new HomaConfigurationException(
                    "driver must be set: driver(NicDriver), driverUri(String) or -D" + DRIVER_URI_PROP_NAME);
            }
            if (null == clock)
            {
                clock = SystemNanoClock.INSTANCE;
            }
            check(idleSpinNs >= 0, "idleSpinNs", idleSpinNs, ">= 0");
            if (null == errorHandler)
            {
                errorHandler = new LoggingErrorHandler();
            }
            final int payload = driver.maxPacketLength() - DATA_HEADER_LENGTH;
            if (payload < 1)
            {
                throw new HomaConfigurationException("driver.maxPacketLength() " + driver.maxPacketLength() +
                    " leaves no payload after the " + DATA_HEADER_LENGTH + "-byte DATA header");
            }
            check(maxMessageLength >= 1 && maxMessageLength <= MAX_MESSAGE_LENGTH_LIMIT,
                "maxMessageLength", maxMessageLength, "1.." + MAX_MESSAGE_LENGTH_LIMIT);
            check(rttNs > 0, "rttNs", rttNs, "> 0");
            if (0 == unscheduledBytes)
            {
                final long bytes = driver.linkBitsPerSecond() / 8 * rttNs / 1_000_000_000L;
                unscheduledBytes = (int)Math.min(Math.max(bytes, payload), maxMessageLength);
            }
            check(unscheduledBytes > 0, "unscheduledBytes", unscheduledBytes, "> 0");
            unscheduledBytes = roundUpToPackets(unscheduledBytes, payload);
            check(overcommit >= 1 && overcommit <= 8, "overcommit", overcommit, "1..8 (HOMA_MAX_GRANTS)");
            if (0 == maxIncomingBytes)
            {
                // The kernel's 400,000, or more where packets are so large that every window could not hold one.
                maxIncomingBytes = (int)Math.min(Integer.MAX_VALUE,
                    Math.max(MAX_INCOMING_BYTES_DEFAULT, (long)payload * (overcommit + 1)));
            }
            check(maxIncomingBytes >= payload, "maxIncomingBytes", maxIncomingBytes, ">= one packet payload");
            check(windowBytes >= 0, "windowBytes", windowBytes, ">= 0 (0 = dynamic)");
            check(maxActivePerPeer >= 1, "maxActivePerPeer", maxActivePerPeer, ">= 1");
            check(fifoGrantFractionPerMille >= 0 && fifoGrantFractionPerMille <= 1000,
                "fifoGrantFractionPerMille", fifoGrantFractionPerMille, "0..1000");
            check(fifoGrantIncrement >= 0, "fifoGrantIncrement", fifoGrantIncrement, ">= 0");
            if (0 == maxNicQueueBytes)
            {
                final long twoPackets = 2L * (driver.maxPacketLength() + driver.wireOverheadBytes());
                // A NIC: the kernel's max_nic_est_backlog_usecs of backlog. No transmit queue (loopback, veth): the
                // cap only bounds what one duty cycle hands over per flush, so it allows a full GSO batch.
                final long cap = driver.hasTransmitQueue() ?
                    driver.linkBitsPerSecond() / 8 * NIC_BACKLOG_NS_DEFAULT / 1_000_000_000L :
                    UNQUEUED_FLUSH_BYTES_DEFAULT;
                maxNicQueueBytes = (int)Math.min(Integer.MAX_VALUE, Math.max(twoPackets, cap));
            }
            check(maxNicQueueBytes > 0, "maxNicQueueBytes", maxNicQueueBytes, "> 0");
            check(smallMessageBytes >= 0, "smallMessageBytes", smallMessageBytes, ">= 0");
            check(maxSendBurst >= 1, "maxSendBurst", maxSendBurst, ">= 1");
            if (0 == pollBurst)
            {
                // A duty cycle handles about 256 KiB of packets: the GRANTs it makes go out when it ends, so with
                // 64 KiB packets a burst of 64 would hold them back for a millisecond of copying.
                pollBurst = Math.max(4, Math.min(64, POLL_BURST_BYTES / driver.maxPacketLength()));
            }
            check(pollBurst >= 1, "pollBurst", pollBurst, ">= 1");
            check(tickNs > 0, "tickNs", tickNs, "> 0");
            check(resendTicks >= 1, "resendTicks", resendTicks, ">= 1");
            check(resendIntervalTicks >= 1, "resendIntervalTicks", resendIntervalTicks, ">= 1");
            check(timeoutTicks > resendTicks, "timeoutTicks", timeoutTicks, "> resendTicks (" + resendTicks + ")");
            check(requestAckTicks >= 1, "requestAckTicks", requestAckTicks, ">= 1");
            check(timeoutResends >= 0, "timeoutResends", timeoutResends, ">= 0 (0 = off)");
            check(incastThreshold >= 1, "incastThreshold", incastThreshold, ">= 1");
            check(incastUnscheduledBytes >= 1, "incastUnscheduledBytes", incastUnscheduledBytes, ">= 1");
            check(receivePageBytes >= 4096 && Integer.bitCount(receivePageBytes) == 1,
                "receivePageBytes", receivePageBytes, "a power of two >= 4096");
            check(receivePoolBytes >= receivePageBytes * (long)pagesFor(maxMessageLength) &&
                receivePoolBytes <= Integer.MAX_VALUE, "receivePoolBytes", receivePoolBytes,
                "room for one maximum-length message and < 2 GiB");
            check(sendPoolBytes >= receivePageBytes * (long)pagesFor(maxMessageLength) &&
                sendPoolBytes <= Integer.MAX_VALUE, "sendPoolBytes", sendPoolBytes,
                "room for one maximum-length message and < 2 GiB");
            check(maxPeers >= 1, "maxPeers", maxPeers, ">= 1");
            check(peerIdleNs > 0, "peerIdleNs", peerIdleNs, "> 0");
            check(maxServerRpcs >= 1, "maxServerRpcs", maxServerRpcs, ">= 1");
            check(maxRpcsPerSocket >= 1, "maxRpcsPerSocket", maxRpcsPerSocket, ">= 1");
            check(maxIncomingRequestsPerPeer >= 1, "maxIncomingRequestsPerPeer", maxIncomingRequestsPerPeer, ">= 1");
            if (0 == maxReceiveBytesPerPeer)
            {
                maxReceiveBytesPerPeer = receivePoolBytes / 4;
            }
            check(maxReceiveBytesPerPeer >= maxMessageLength, "maxReceiveBytesPerPeer", maxReceiveBytesPerPeer,
                ">= maxMessageLength (" + maxMessageLength + "), or 0 for a quarter of the receive pool");
            if (0 == receiveReserveBytes)
            {
                receiveReserveBytes = receivePoolBytes / 16;
            }
            check(receiveReserveBytes >= 0 &&
                receivePoolBytes - receiveReserveBytes >= receivePageBytes * (long)pagesFor(maxMessageLength),
                "receiveReserveBytes", receiveReserveBytes,
                "room for one maximum-length message beside it, or 0 for a sixteenth of the receive pool");
            if (0 == maxIncomingBytesPerPeer)
            {
                maxIncomingBytesPerPeer = Math.max(payload, maxIncomingBytes / 2);
            }
            check(maxIncomingBytesPerPeer >= payload && maxIncomingBytesPerPeer <= maxIncomingBytes,
                "maxIncomingBytesPerPeer", maxIncomingBytesPerPeer,
                "one packet payload .. maxIncomingBytes, or 0 for half of maxIncomingBytes");
            check(retransmitBudgetPercent >= 100, "retransmitBudgetPercent", retransmitBudgetPercent,
                ">= 100 (every byte of a message may be sent again at least once)");
            check(maxUnansweredResends >= 0, "maxUnansweredResends", maxUnansweredResends, ">= 0 (0 = off)");
            if (0 == responseStallTicks)
            {
                responseStallTicks = (int)Math.min(Integer.MAX_VALUE, 10L * timeoutTicks);
            }
            check(responseStallTicks >= timeoutTicks, "responseStallTicks", responseStallTicks,
                ">= timeoutTicks (" + timeoutTicks + "), or 0 for ten times timeoutTicks");
            check(maxAnswersPerPeerPerTick >= 1, "maxAnswersPerPeerPerTick", maxAnswersPerPeerPerTick, ">= 1");
            check(maxAnswersToUnknownPerTick >= 1, "maxAnswersToUnknownPerTick", maxAnswersToUnknownPerTick,
                ">= 1");
            if (null != staticCutoffs)
            {
                check(8 == staticCutoffs.length, "staticCutoffs.length", staticCutoffs.length, "8");
                for (int i = 2; i < 8; i++)
                {
                    check(staticCutoffs[i] <= staticCutoffs[i - 1], "staticCutoffs[" + i + "]", staticCutoffs[i],
                        "<= staticCutoffs[" + (i - 1) + "] (cutoffs never increase with the level)");
                }
            }
            check(cutoffIntervalNs > 0, "cutoffIntervalNs", cutoffIntervalNs, "> 0");
            check(commandBufferBytes >= 4096 && Integer.bitCount(commandBufferBytes) == 1,
                "commandBufferBytes", commandBufferBytes, "a power of two >= 4096");
            check(commandTimeoutNs > 0, "commandTimeoutNs", commandTimeoutNs, "> 0");
            check(pacerFifoFractionPerMille >= 0 && pacerFifoFractionPerMille <= 1000, "pacerFifoFractionPerMille",
                pacerFifoFractionPerMille, "0..1000");
            check(cutoffMinimumMessages >= 1, "cutoffMinimumMessages", cutoffMinimumMessages, ">= 1");
            check(cutoffWindowMessages >= 2, "cutoffWindowMessages", cutoffWindowMessages, ">= 2");
            check(unscheduledLevels >= 0 && unscheduledLevels <= 7, "unscheduledLevels", unscheduledLevels,
                "0 (computed) .. 7");
            check(completionQueueCapacity >= 2, "completionQueueCapacity", completionQueueCapacity, ">= 2");
            check(countersIntervalNs > 0, "countersIntervalNs", countersIntervalNs, "> 0");
            if (null == countersDir || countersDir.isBlank())
            {
                countersDir = CountersFile.defaultDirectory().toString();
            }
            grantConfig = new GrantConfig()
                .overcommit(overcommit)
                .maxIncomingBytes(maxIncomingBytes)
                .maxIncomingBytesPerPeer(maxIncomingBytesPerPeer)
                .windowBytes(windowBytes)
                .maxPacketPayload(payload)
                .maxActivePerPeer(maxActivePerPeer)
                .fifoGrantFractionPerMille(fifoGrantFractionPerMille)
                .fifoGrantIncrement(fifoGrantIncrement)
                .linkBitsPerSecond(driver.linkBitsPerSecond())
                .strictOvercommit(strictOvercommit)
                .fifoOrder(fifoGrantOrder);
            try
            {
                grantConfig.validate();
            }
            catch (final IllegalArgumentException ex)
            {
                throw new HomaConfigurationException("grant settings: " + ex.getMessage(), ex);
            }
            concluded = true;
        }

        /**
         * @return the grant scheduler's settings as concluded from this context (its priorities still to be set
         * from the cutoffs in use).
         */
        GrantConfig grantConfig()
        {
            return grantConfig;
        }

        private int pagesFor(final int length)
        {
            return (length + receivePageBytes - 1) / receivePageBytes;
        }

        private static int roundUpToPackets(final int bytes, final int payload)
        {
            final long rounded = ((long)bytes + payload - 1) / payload * payload;
            return (int)Math.min(rounded, Integer.MAX_VALUE);
        }

        private static void check(final boolean ok, final String name, final long value, final String rule)
        {
            if (!ok)
            {
                throw new HomaConfigurationException(name + " = " + value + " is invalid: must be " + rule);
            }
        }

        private void checkMutable()
        {
            if (concluded)
            {
                throw new HomaConfigurationException("context is concluded; settings are frozen");
            }
        }

        /**
         * @param driver the NIC driver (required).
         * @return this.
         */
        public Context driver(final NicDriver driver)
        {
            checkMutable();
            this.driver = driver;
            return this;
        }

        /**
         * @return the NIC driver.
         */
        public NicDriver driver()
        {
            return driver;
        }

        /**
         * Name the driver by URI instead of passing one: {@code loopback://FABRIC/HOST}, {@code udp://HOST:PORT},
         * {@code raw://IFNAME?options} (see {@link NicDrivers}), so an application switches drivers by
         * configuration alone. The transport opens the driver at launch, owns it and closes it on the protocol
         * thread when it closes. Default: the {@value #DRIVER_URI_PROP_NAME} system property. Ignored when
         * {@link #driver(NicDriver)} is set.
         *
         * @param driverUri the driver URI.
         * @return this.
         */
        public Context driverUri(final String driverUri)
        {
            checkMutable();
            this.driverUri = driverUri;
            return this;
        }

        /**
         * @return the driver URI, or null.
         */
        public String driverUri()
        {
            return driverUri;
        }

        /**
         * @param ownsDriver true if the transport closes the driver when it closes, on the protocol thread (which
         *                   drivers with thread affinity, such as UDP's epoll loop, require). Default false for a
         *                   driver passed in, true for one opened from {@link #driverUri(String)}.
         * @return this.
         */
        public Context ownsDriver(final boolean ownsDriver)
        {
            checkMutable();
            this.ownsDriver = ownsDriver;
            return this;
        }

        /**
         * @return true if the transport closes the driver.
         */
        public boolean ownsDriver()
        {
            return ownsDriver;
        }

        /**
         * @param supplier makes the idle strategy each application thread uses while it blocks in
         *                 {@link HomaSocket#homaRecv(int, long, TimeUnit)}; null (default) polls for {@link
         *                 #idleSpinNs()} and then parks until the protocol thread queues a result.
         * @return this.
         */
        public Context receiveIdleStrategySupplier(final Supplier<IdleStrategy> supplier)
        {
            checkMutable();
            this.receiveIdleStrategySupplier = supplier;
            return this;
        }

        /**
         * @return the supplier of blocking receivers' idle strategies.
         */
        public Supplier<IdleStrategy> receiveIdleStrategySupplier()
        {
            return receiveIdleStrategySupplier;
        }

        /**
         * @param clock time source for all protocol timing (default {@link SystemNanoClock}; tests pass a
         *              virtual clock).
         * @return this.
         */
        public Context clock(final NanoClock clock)
        {
            checkMutable();
            this.clock = clock;
            return this;
        }

        /**
         * @return the clock.
         */
        public NanoClock clock()
        {
            return clock;
        }

        /**
         * @param idleStrategy idle strategy of the dedicated protocol thread; null (default) for a {@link
         *                     ProtocolIdleStrategy}, which sleeps in the driver once idle for {@link #idleSpinNs()}.
         * @return this.
         */
        public Context idleStrategy(final IdleStrategy idleStrategy)
        {
            checkMutable();
            this.idleStrategy = idleStrategy;
            return this;
        }

        /**
         * @return the idle strategy, null for the default.
         */
        public IdleStrategy idleStrategy()
        {
            return idleStrategy;
        }

        /**
         * @param idleSpinNs how long a thread that waits for the protocol keeps polling before it sleeps: the
         *                   protocol thread before it sleeps in the driver, an application thread in a blocking
         *                   {@code homaRecv} before it parks (default 20 us; the kernel's Homa polls 50 us before a
         *                   receiver sleeps). Longer costs CPU while idle, shorter costs a wake-up per message.
         * @return this.
         */
        public Context idleSpinNs(final long idleSpinNs)
        {
            checkMutable();
            this.idleSpinNs = idleSpinNs;
            return this;
        }

        /**
         * @return nanoseconds of polling before a waiting thread sleeps.
         */
        public long idleSpinNs()
        {
            return idleSpinNs;
        }

        /**
         * @param threadingMode INVOKER (default) or DEDICATED.
         * @return this.
         */
        public Context threadingMode(final ThreadingMode threadingMode)
        {
            checkMutable();
            this.threadingMode = threadingMode;
            return this;
        }

        /**
         * @return the threading mode.
         */
        public ThreadingMode threadingMode()
        {
            return threadingMode;
        }

        /**
         * @param errorHandler receives exceptions thrown inside the duty cycle (they are also counted).
         * @return this.
         */
        public Context errorHandler(final ErrorHandler errorHandler)
        {
            checkMutable();
            this.errorHandler = errorHandler;
            return this;
        }

        /**
         * @return the error handler.
         */
        public ErrorHandler errorHandler()
        {
            return errorHandler;
        }

        /**
         * Largest message this host sends or accepts, both directions. The default is the kernel's
         * HOMA_MAX_MESSAGE_LENGTH, 1,000,000 bytes ({@code homa.max.message.length}), so that kernel peers
         * interoperate: a kernel host drops DATA of a longer message. Raise it only where every peer that exchanges
         * such messages takes them too (up to {@value #MAX_MESSAGE_LENGTH_LIMIT}); the receive and send pools must
         * hold at least one message of this length.
         *
         * @param maxMessageLength largest message, 1 .. {@value #MAX_MESSAGE_LENGTH_LIMIT}.
         * @return this.
         */
        public Context maxMessageLength(final int maxMessageLength)
        {
            checkMutable();
            this.maxMessageLength = maxMessageLength;
            return this;
        }

        /**
         * @return the largest message length.
         */
        public int maxMessageLength()
        {
            return maxMessageLength;
        }

        /**
         * @param rttNs round-trip time used to derive the unscheduled bytes (default 8 µs).
         * @return this.
         */
        public Context rttNs(final long rttNs)
        {
            checkMutable();
            this.rttNs = rttNs;
            return this;
        }

        /**
         * @return the round-trip time estimate.
         */
        public long rttNs()
        {
            return rttNs;
        }

        /**
         * @param unscheduledBytes bytes of each message sent before any grant; 0 (default) derives link rate x
         *                         RTT. Rounded up to a whole packet.
         * @return this.
         */
        public Context unscheduledBytes(final int unscheduledBytes)
        {
            checkMutable();
            this.unscheduledBytes = unscheduledBytes;
            return this;
        }

        /**
         * @return unscheduled bytes per message (after conclude: derived and rounded).
         */
        public int unscheduledBytes()
        {
            return unscheduledBytes;
        }

        /**
         * @param overcommit K: incoming messages granted at once, 1..8 (default 8, kernel max_overcommit).
         * @return this.
         */
        public Context overcommit(final int overcommit)
        {
            checkMutable();
            this.overcommit = overcommit;
            return this;
        }

        /**
         * @return the overcommitment degree.
         */
        public int overcommit()
        {
            return overcommit;
        }

        /**
         * @param maxIncomingBytes cap on granted-but-unreceived bytes; 0 (default) for the kernel's max_incoming,
         *                         400,000, or (overcommit + 1) packets where that is more.
         * @return this.
         */
        public Context maxIncomingBytes(final int maxIncomingBytes)
        {
            checkMutable();
            this.maxIncomingBytes = maxIncomingBytes;
            return this;
        }

        /**
         * @return the incoming budget.
         */
        public int maxIncomingBytes()
        {
            return maxIncomingBytes;
        }

        /**
         * @param windowBytes grant window beyond received bytes; 0 (default) = dynamic max_incoming/(active+1).
         * @return this.
         */
        public Context windowBytes(final int windowBytes)
        {
            checkMutable();
            this.windowBytes = windowBytes;
            return this;
        }

        /**
         * @return the grant window.
         */
        public int windowBytes()
        {
            return windowBytes;
        }

        /**
         * @param maxActivePerPeer messages of one sender granted at once (default 1).
         * @return this.
         */
        public Context maxActivePerPeer(final int maxActivePerPeer)
        {
            checkMutable();
            this.maxActivePerPeer = maxActivePerPeer;
            return this;
        }

        /**
         * @return per-peer active limit.
         */
        public int maxActivePerPeer()
        {
            return maxActivePerPeer;
        }

        /**
         * @param fifoGrantFractionPerMille share of grants for the oldest message (default 50 = 5%; 0 = off).
         * @return this.
         */
        public Context fifoGrantFractionPerMille(final int fifoGrantFractionPerMille)
        {
            checkMutable();
            this.fifoGrantFractionPerMille = fifoGrantFractionPerMille;
            return this;
        }

        /**
         * @return FIFO grant fraction per mille.
         */
        public int fifoGrantFractionPerMille()
        {
            return fifoGrantFractionPerMille;
        }

        /**
         * @param fifoGrantIncrement bytes per FIFO grant (default 50,000).
         * @return this.
         */
        public Context fifoGrantIncrement(final int fifoGrantIncrement)
        {
            checkMutable();
            this.fifoGrantIncrement = fifoGrantIncrement;
            return this;
        }

        /**
         * @return FIFO grant increment.
         */
        public int fifoGrantIncrement()
        {
            return fifoGrantIncrement;
        }

        /**
         * @param maxNicQueueBytes pacer cap on the driver's queued bytes plus those batched for the next flush; 0
         *                         (default) = 5 us of the link (kernel max_nic_est_backlog_usecs), or 64 KiB for a
         *                         driver without a transmit queue ({@link NicDriver#hasTransmitQueue()}), at least two
         *                         full packets either way.
         * @return this.
         */
        public Context maxNicQueueBytes(final int maxNicQueueBytes)
        {
            checkMutable();
            this.maxNicQueueBytes = maxNicQueueBytes;
            return this;
        }

        /**
         * @return the pacer's NIC queue cap.
         */
        public int maxNicQueueBytes()
        {
            return maxNicQueueBytes;
        }

        /**
         * @param smallMessageBytes messages shorter than this bypass the pacer (default 1,000; 0 = none).
         * @return this.
         */
        public Context smallMessageBytes(final int smallMessageBytes)
        {
            checkMutable();
            this.smallMessageBytes = smallMessageBytes;
            return this;
        }

        /**
         * @return the pacer bypass threshold.
         */
        public int smallMessageBytes()
        {
            return smallMessageBytes;
        }

        /**
         * @param maxSendBurst most paced DATA packets per duty cycle (default 64, a full GSO batch).
         * @return this.
         */
        public Context maxSendBurst(final int maxSendBurst)
        {
            checkMutable();
            this.maxSendBurst = maxSendBurst;
            return this;
        }

        /**
         * @return packets per pacing burst.
         */
        public int maxSendBurst()
        {
            return maxSendBurst;
        }

        /**
         * @param pollBurst most received packets handled per duty cycle; 0 (default) for about 256 KiB of them:
         *                  64 packets of Ethernet's MTU, 4 of loopback's.
         * @return this.
         */
        public Context pollBurst(final int pollBurst)
        {
            checkMutable();
            this.pollBurst = pollBurst;
            return this;
        }

        /**
         * @return receive burst.
         */
        public int pollBurst()
        {
            return pollBurst;
        }

        /**
         * @param tickNs timer tick (default 1 ms, kernel homa_timer).
         * @return this.
         */
        public Context tickNs(final long tickNs)
        {
            checkMutable();
            this.tickNs = tickNs;
            return this;
        }

        /**
         * @return the tick.
         */
        public long tickNs()
        {
            return tickNs;
        }

        /**
         * @param resendTicks silent ticks before the first RESEND (default 5).
         * @return this.
         */
        public Context resendTicks(final int resendTicks)
        {
            checkMutable();
            this.resendTicks = resendTicks;
            return this;
        }

        /**
         * @return resend ticks.
         */
        public int resendTicks()
        {
            return resendTicks;
        }

        /**
         * @param resendIntervalTicks ticks between RESENDs (default 5).
         * @return this.
         */
        public Context resendIntervalTicks(final int resendIntervalTicks)
        {
            checkMutable();
            this.resendIntervalTicks = resendIntervalTicks;
            return this;
        }

        /**
         * @return resend interval.
         */
        public int resendIntervalTicks()
        {
            return resendIntervalTicks;
        }

        /**
         * @param timeoutTicks silent ticks before an RPC is aborted (default 100).
         * @return this.
         */
        public Context timeoutTicks(final int timeoutTicks)
        {
            checkMutable();
            this.timeoutTicks = timeoutTicks;
            return this;
        }

        /**
         * @return timeout ticks.
         */
        public int timeoutTicks()
        {
            return timeoutTicks;
        }

        /**
         * Peer-wide timeout (draft section 6.4, the 2023 kernel's {@code timeout_resends}): once this many rounds of
         * RESENDs to one host went by without any packet from it, the host is presumed dead and every RPC with it
         * is aborted at once, instead of each waiting out its own {@code timeoutTicks}. A round is a tick in which
         * at least one RESEND went to the host; any packet from it starts the count again. 0 (the default, as the
         * current kernel) turns it off.
         *
         * @param timeoutResends unanswered RESEND rounds before a peer is presumed dead; 0 = off.
         * @return this.
         */
        public Context timeoutResends(final int timeoutResends)
        {
            checkMutable();
            this.timeoutResends = timeoutResends;
            return this;
        }

        /**
         * @return unanswered RESEND rounds before a peer is presumed dead; 0 = off.
         */
        public int timeoutResends()
        {
            return timeoutResends;
        }

        /**
         * @param requestAckTicks silent ticks after a full response before NEED_ACK (default 2).
         * @return this.
         */
        public Context requestAckTicks(final int requestAckTicks)
        {
            checkMutable();
            this.requestAckTicks = requestAckTicks;
            return this;
        }

        /**
         * @return NEED_ACK ticks.
         */
        public int requestAckTicks()
        {
            return requestAckTicks;
        }

        /**
         * @param incastEnabled mark requests under incast (paper §3.6; default on).
         * @return this.
         */
        public Context incastEnabled(final boolean incastEnabled)
        {
            checkMutable();
            this.incastEnabled = incastEnabled;
            return this;
        }

        /**
         * @return incast handling on or off.
         */
        public boolean incastEnabled()
        {
            return incastEnabled;
        }

        /**
         * @param incastThreshold outstanding client RPCs of this host, all its sockets together, above which new
         *                        requests are marked (default 16).
         * @return this.
         */
        public Context incastThreshold(final int incastThreshold)
        {
            checkMutable();
            this.incastThreshold = incastThreshold;
            return this;
        }

        /**
         * @return incast threshold.
         */
        public int incastThreshold()
        {
            return incastThreshold;
        }

        /**
         * @param incastUnscheduledBytes unscheduled bytes of a response to a marked request (default 300).
         * @return this.
         */
        public Context incastUnscheduledBytes(final int incastUnscheduledBytes)
        {
            checkMutable();
            this.incastUnscheduledBytes = incastUnscheduledBytes;
            return this;
        }

        /**
         * @return reduced unscheduled bytes.
         */
        public int incastUnscheduledBytes()
        {
            return incastUnscheduledBytes;
        }

        /**
         * @param receivePageBytes pool page size, power of two (default 65,536 as kernel bpages).
         * @return this.
         */
        public Context receivePageBytes(final int receivePageBytes)
        {
            checkMutable();
            this.receivePageBytes = receivePageBytes;
            return this;
        }

        /**
         * @return page size of both pools.
         */
        public int receivePageBytes()
        {
            return receivePageBytes;
        }

        /**
         * @param receivePoolBytes off-heap receive pool (default 64 MiB).
         * @return this.
         */
        public Context receivePoolBytes(final long receivePoolBytes)
        {
            checkMutable();
            this.receivePoolBytes = receivePoolBytes;
            return this;
        }

        /**
         * @return receive pool size.
         */
        public long receivePoolBytes()
        {
            return receivePoolBytes;
        }

        /**
         * @param sendPoolBytes off-heap memory for outgoing messages kept for retransmission (default 64 MiB,
         *                      the analogue of the kernel's wmem limit).
         * @return this.
         */
        public Context sendPoolBytes(final long sendPoolBytes)
        {
            checkMutable();
            this.sendPoolBytes = sendPoolBytes;
            return this;
        }

        /**
         * @return send pool size.
         */
        public long sendPoolBytes()
        {
            return sendPoolBytes;
        }

        /**
         * @param maxPeers peer table limit (default 10,000, kernel net_max).
         * @return this.
         */
        public Context maxPeers(final int maxPeers)
        {
            checkMutable();
            this.maxPeers = maxPeers;
            return this;
        }

        /**
         * @return the peer limit.
         */
        public int maxPeers()
        {
            return maxPeers;
        }

        /**
         * @param peerIdleNs a peer without RPCs idle this long is evicted (default 10 s).
         * @return this.
         */
        public Context peerIdleNs(final long peerIdleNs)
        {
            checkMutable();
            this.peerIdleNs = peerIdleNs;
            return this;
        }

        /**
         * @return peer idle time.
         */
        public long peerIdleNs()
        {
            return peerIdleNs;
        }

        /**
         * @param maxServerRpcs server RPCs alive at once; new requests beyond are dropped (default 10,000).
         * @return this.
         */
        public Context maxServerRpcs(final int maxServerRpcs)
        {
            checkMutable();
            this.maxServerRpcs = maxServerRpcs;
            return this;
        }

        /**
         * @return the server RPC limit.
         */
        public int maxServerRpcs()
        {
            return maxServerRpcs;
        }

        /**
         * @param maxRpcsPerSocket client RPCs in flight per socket (default 10,000).
         * @return this.
         */
        public Context maxRpcsPerSocket(final int maxRpcsPerSocket)
        {
            checkMutable();
            this.maxRpcsPerSocket = maxRpcsPerSocket;
            return this;
        }

        /**
         * @return the per-socket RPC limit.
         */
        public int maxRpcsPerSocket()
        {
            return maxRpcsPerSocket;
        }

        /**
         * Fair share of the server RPC table: a peer (host) with this many requests still being received (partly
         * arrived) gets no new server RPC until some complete or end, so the first packets of requests that never
         * continue, from one source, cannot take every slot of {@link #maxServerRpcs(int)}; its further first
         * packets are dropped and counted ({@code drop.peer_incoming_requests}), and a live client recovers them
         * through its RESENDs. Requests already delivered to the application do not count: a client may have as
         * many of those outstanding as the server's application can take. Default 1,000
         * ({@code homa.max.incoming.requests.per.peer}).
         *
         * @param maxIncomingRequestsPerPeer requests per peer being received at once.
         * @return this.
         */
        public Context maxIncomingRequestsPerPeer(final int maxIncomingRequestsPerPeer)
        {
            checkMutable();
            this.maxIncomingRequestsPerPeer = maxIncomingRequestsPerPeer;
            return this;
        }

        /**
         * @return requests per peer being received at once.
         */
        public int maxIncomingRequestsPerPeer()
        {
            return maxIncomingRequestsPerPeer;
        }

        /**
         * Fair share of the receive pool: the messages one peer has partly received may hold at most this many
         * bytes of pool pages; a further message of that peer waits for pages (no grants, its packets dropped and
         * asked for again later) and is counted ({@code receive_peer_limit_waits}). Messages already delivered to
         * the application do not count. Default 0 = a quarter of {@link #receivePoolBytes(long)}
         * ({@code homa.max.receive.bytes.per.peer}).
         *
         * @param maxReceiveBytesPerPeer bytes, at least the maximum message length; 0 = a quarter of the pool.
         * @return this.
         */
        public Context maxReceiveBytesPerPeer(final long maxReceiveBytesPerPeer)
        {
            checkMutable();
            this.maxReceiveBytesPerPeer = maxReceiveBytesPerPeer;
            return this;
        }

        /**
         * @return receive-pool bytes per peer (after conclude: resolved).
         */
        public long maxReceiveBytesPerPeer()
        {
            return maxReceiveBytesPerPeer;
        }

        /**
         * Receive-pool bytes kept for messages of at most one page: a longer message takes pages only while this
         * many stay free, so the first packets of long messages (from many hosts, honest or forged) cannot leave
         * short RPCs without room; those of a longer message that must wait count as {@code receive_pool_waits}.
         * Default 0 = a sixteenth of {@link #receivePoolBytes(long)} ({@code homa.receive.reserve.bytes}).
         *
         * @param receiveReserveBytes bytes; 0 = a sixteenth of the pool.
         * @return this.
         */
        public Context receiveReserveBytes(final long receiveReserveBytes)
        {
            checkMutable();
            this.receiveReserveBytes = receiveReserveBytes;
            return this;
        }

        /**
         * @return receive-pool bytes reserved for one-page messages (after conclude: resolved).
         */
        public long receiveReserveBytes()
        {
            return receiveReserveBytes;
        }

        /**
         * Fair share of the incoming budget (see {@link dev.homa.core.grant.GrantConfig#maxIncomingBytesPerPeer(int)}):
         * one peer's granted-or-unscheduled bytes not yet received count toward {@link #maxIncomingBytes(int)} only
         * up to this cap, and the peer is granted no more beyond it, so the unscheduled bytes that forged first
         * packets claim cannot stop the grants of everyone else. Default 0 = half of {@code maxIncomingBytes}, the
         * dynamic window of a single message ({@code homa.max.incoming.bytes.per.peer}).
         *
         * @param maxIncomingBytesPerPeer bytes; 0 = half of the incoming budget.
         * @return this.
         */
        public Context maxIncomingBytesPerPeer(final int maxIncomingBytesPerPeer)
        {
            checkMutable();
            this.maxIncomingBytesPerPeer = maxIncomingBytesPerPeer;
            return this;
        }

        /**
         * @return incoming bytes per peer (after conclude: resolved).
         */
        public int maxIncomingBytesPerPeer()
        {
            return maxIncomingBytesPerPeer;
        }

        /**
         * Bound on what RESENDs can draw: over its life (or, for a client, since its last restart) an RPC retransmits
         * at most this percentage of its message's length, and at least four packets, in answer to RESENDs; past it,
         * a RESEND is not answered and is counted ({@code retransmit_budget_spent}), so a stream of forged RESENDs
         * cannot turn one message into an unbounded flood toward the address they name, while a receiver that lost
         * four fifths of everything sent to it still gets its message. Default 500
         * ({@code homa.retransmit.budget.percent}); loss of 5% costs about 5. A client restarts an RPC after an
         * RPC_UNKNOWN at most once per resend interval.
         *
         * @param retransmitBudgetPercent percent of the message length, at least 100.
         * @return this.
         */
        public Context retransmitBudgetPercent(final int retransmitBudgetPercent)
        {
            checkMutable();
            this.retransmitBudgetPercent = retransmitBudgetPercent;
            return this;
        }

        /**
         * @return retransmission budget in percent of the message length.
         */
        public int retransmitBudgetPercent()
        {
            return retransmitBudgetPercent;
        }

        /**
         * A server RPC still receiving its request, created by one packet with nothing from its client since, is
         * reclaimed once that client has been silent for {@code resendTicks + maxUnansweredResends *
         * resendIntervalTicks} ticks (20 by default) instead of waiting out {@link #timeoutTicks(int)}: a live
         * client answers every RESEND (with data or BUSY) and, while it waits for grants or for this host's pages,
         * sends RESENDs of its own every resend interval, so that much silence after a lone packet is a dead or
         * forged client. The request was never delivered, so nothing executes twice; the
         * RPC's table slot, pages and incoming bytes go back to the others. Counted as
         * {@code server_rpcs_reclaimed}. Default 3 ({@code homa.max.unanswered.resends}); 0 = off.
         *
         * @param maxUnansweredResends resend intervals of silence after the first RESEND; 0 = wait for the timeout.
         * @return this.
         */
        public Context maxUnansweredResends(final int maxUnansweredResends)
        {
            checkMutable();
            this.maxUnansweredResends = maxUnansweredResends;
            return this;
        }

        /**
         * @return unanswered RESEND rounds before a server RPC is reclaimed; 0 = off.
         */
        public int maxUnansweredResends()
        {
            return maxUnansweredResends;
        }

        /**
         * How long a server waits for the grants of a client that is not taking its response (the kernel waits for
         * ever, so that a client short of receive buffer space still gets it): after this many ticks without any
         * packet from the client for the RPC, the RPC ends (counted as {@code server_timeouts}) and its send-pool
         * pages go back. Without a limit, requests forged from an address that never grants would hold RPCs and
         * pages for good. Default 0 = ten times {@link #timeoutTicks(int)}, a second
         * ({@code homa.response.stall.ticks}).
         *
         * @param responseStallTicks ticks, at least {@link #timeoutTicks(int)}; 0 = ten times as many.
         * @return this.
         */
        public Context responseStallTicks(final int responseStallTicks)
        {
            checkMutable();
            this.responseStallTicks = responseStallTicks;
            return this;
        }

        /**
         * @return ticks a response waits for grants from a silent client.
         */
        public int responseStallTicks()
        {
            return responseStallTicks;
        }

        /**
         * Publish the counters in a memory-mapped file that {@code homa-stat} reads from another process (as
         * Aeron's CnC file), one per transport, deleted when it closes. Default true
         * ({@code homa.counters.enabled}).
         *
         * @param countersEnabled false to keep the counters in the process only.
         * @return this.
         */
        public Context countersEnabled(final boolean countersEnabled)
        {
            checkMutable();
            this.countersEnabled = countersEnabled;
            return this;
        }

        /**
         * @return true if the counters go to a file.
         */
        public boolean countersEnabled()
        {
            return countersEnabled;
        }

        /**
         * @param countersDir directory of the counters files; default {@code /dev/shm/homa-USER} (or
         *                    {@code java.io.tmpdir/homa-USER} without {@code /dev/shm}), {@code homa.counters.dir}.
         * @return this.
         */
        public Context countersDir(final String countersDir)
        {
            checkMutable();
            this.countersDir = countersDir;
            return this;
        }

        /**
         * @return the counters directory (after conclude: resolved).
         */
        public String countersDir()
        {
            return countersDir;
        }

        /**
         * @param countersIntervalNs how often the protocol thread copies its counters to the file (default 10 ms,
         *                           {@code homa.counters.interval}); the data path never touches the file.
         * @return this.
         */
        public Context countersIntervalNs(final long countersIntervalNs)
        {
            checkMutable();
            this.countersIntervalNs = countersIntervalNs;
            return this;
        }

        /**
         * @return how often the counters file is updated.
         */
        public long countersIntervalNs()
        {
            return countersIntervalNs;
        }

        /**
         * @param printConfiguration print every setting, as concluded, to standard output at launch (default
         *                           false, {@code homa.print.configuration}).
         * @return this.
         */
        public Context printConfiguration(final boolean printConfiguration)
        {
            checkMutable();
            this.printConfiguration = printConfiguration;
            return this;
        }

        /**
         * @return true if the configuration is printed at launch.
         */
        public boolean printConfiguration()
        {
            return printConfiguration;
        }

        /**
         * {@inheritDoc}
         * <p>
         * Every setting, one {@code name = value} per line (after {@link #conclude()}: as resolved).
         */
        @Override
        public String toString()
        {
            final StringBuilder out = new StringBuilder("HomaTransport.Context\n");
            for (final java.lang.reflect.Field field : Context.class.getDeclaredFields())
            {
                if (java.lang.reflect.Modifier.isStatic(field.getModifiers()))
                {
                    continue;
                }
                try
                {
                    final Object value = field.get(this);
                    out.append("    ").append(field.getName()).append(" = ")
                        .append(value instanceof int[] ? java.util.Arrays.toString((int[])value) : value).append('\n');
                }
                catch (final IllegalAccessException ex)
                {
                    out.append("    ").append(field.getName()).append(" = ?\n");
                }
            }
            return out.toString();
        }

        /**
         * Rate limit on the answers sent to one peer for packets that name no RPC of this host (RPC_UNKNOWN for a
         * RESEND, ACK for a NEED_ACK): at most this many per tick; the rest are skipped and counted
         * ({@code answers_limited}) and the peer's timer asks again. (BUSY goes at most once per RPC per tick;
         * GRANTs, DATA and CUTOFFS have limits of their own.) Default 128 ({@code homa.max.answers.per.peer.per.tick}).
         *
         * @param maxAnswersPerPeerPerTick control packets per peer per tick.
         * @return this.
         */
        public Context maxAnswersPerPeerPerTick(final int maxAnswersPerPeerPerTick)
        {
            checkMutable();
            this.maxAnswersPerPeerPerTick = maxAnswersPerPeerPerTick;
            return this;
        }

        /**
         * @return control answers per peer per tick.
         */
        public int maxAnswersPerPeerPerTick()
        {
            return maxAnswersPerPeerPerTick;
        }

        /**
         * Rate limit, over all of them together, on answers to hosts this host keeps no state for (RPC_UNKNOWN for
         * a RESEND naming an unknown RPC, ACK for a NEED_ACK from an unknown host): at most this many per tick, so
         * packets forged from ever new addresses draw a bounded stream. Default 256
         * ({@code homa.max.answers.unknown.per.tick}).
         *
         * @param maxAnswersToUnknownPerTick answers per tick to hosts without a peer entry.
         * @return this.
         */
        public Context maxAnswersToUnknownPerTick(final int maxAnswersToUnknownPerTick)
        {
            checkMutable();
            this.maxAnswersToUnknownPerTick = maxAnswersToUnknownPerTick;
            return this;
        }

        /**
         * @return answers per tick to hosts without a peer entry.
         */
        public int maxAnswersToUnknownPerTick()
        {
            return maxAnswersToUnknownPerTick;
        }

        /**
         * @param poolMemory where the receive and send pools live; default {@link PoolMemory#DIRECT}.
         * @return this.
         */
        public Context poolMemory(final PoolMemory poolMemory)
        {
            checkMutable();
            if (null == poolMemory)
            {
                throw new HomaConfigurationException("poolMemory must not be null (PoolMemory.DIRECT is the default)");
            }
            this.poolMemory = poolMemory;
            return this;
        }

        /**
         * @return where the receive and send pools live.
         */
        public PoolMemory poolMemory()
        {
            return poolMemory;
        }

        /**
         * @param staticCutoffs eight unscheduled cutoffs (entry i = largest length at level i) to use instead of
         *                      computing them online; null (default) = online.
         * @return this.
         */
        public Context staticCutoffs(final int[] staticCutoffs)
        {
            checkMutable();
            this.staticCutoffs = null == staticCutoffs ? null : staticCutoffs.clone();
            return this;
        }

        /**
         * @return static cutoffs or null.
         */
        public int[] staticCutoffs()
        {
            return null == staticCutoffs ? null : staticCutoffs.clone();
        }

        /**
         * @param cutoffIntervalNs how often online cutoffs are recomputed (default 1 s, as homa_prio).
         * @return this.
         */
        public Context cutoffIntervalNs(final long cutoffIntervalNs)
        {
            checkMutable();
            this.cutoffIntervalNs = cutoffIntervalNs;
            return this;
        }

        /**
         * @return cutoff recompute interval.
         */
        public long cutoffIntervalNs()
        {
            return cutoffIntervalNs;
        }

        /**
         * @param commandBufferBytes ring buffer for application commands, power of two (default 1 MiB).
         * @return this.
         */
        public Context commandBufferBytes(final int commandBufferBytes)
        {
            checkMutable();
            this.commandBufferBytes = commandBufferBytes;
            return this;
        }

        /**
         * @return the command buffer size.
         */
        public int commandBufferBytes()
        {
            return commandBufferBytes;
        }

        /**
         * @param commandTimeoutNs how long a caller waits for command-buffer space before failing (default 1 s).
         * @return this.
         */
        public Context commandTimeoutNs(final long commandTimeoutNs)
        {
            checkMutable();
            this.commandTimeoutNs = commandTimeoutNs;
            return this;
        }

        /**
         * @return command timeout.
         */
        public long commandTimeoutNs()
        {
            return commandTimeoutNs;
        }

        /**
         * @param completionQueueCapacity per-socket queue of results waiting for homaRecv (default 4096; results
         *                                beyond wait on the protocol thread, none is lost).
         * @return this.
         */
        public Context completionQueueCapacity(final int completionQueueCapacity)
        {
            checkMutable();
            this.completionQueueCapacity = completionQueueCapacity;
            return this;
        }

        /**
         * @return completion queue capacity.
         */
        public int completionQueueCapacity()
        {
            return completionQueueCapacity;
        }

        /**
         * @param strictOvercommit true: at most K messages hold undelivered grants at any time (a message waits for a
         *                         holder to drain); false (default, kernel): K counts messages still being granted.
         * @return this.
         */
        public Context strictOvercommit(final boolean strictOvercommit)
        {
            checkMutable();
            this.strictOvercommit = strictOvercommit;
            return this;
        }

        /**
         * @return strict overcommitment.
         */
        public boolean strictOvercommit()
        {
            return strictOvercommit;
        }

        /**
         * @param fifoGrantOrder true: the receiver grants the oldest incoming messages first instead of those with the
         *                       fewest bytes left (SRPT, default false, {@code homa.grant.fifo.order}); for
         *                       experiments that measure what SRPT buys, such as the simulator's ablation.
         * @return this.
         */
        public Context fifoGrantOrder(final boolean fifoGrantOrder)
        {
            checkMutable();
            this.fifoGrantOrder = fifoGrantOrder;
            return this;
        }

        /**
         * @return true if grants go to the oldest messages first.
         */
        public boolean fifoGrantOrder()
        {
            return fifoGrantOrder;
        }

        /**
         * @param pacerFifoFractionPerMille share of paced packets sent from the oldest outgoing message instead of
         *                                  the SRPT head (kernel pacer fifo_fraction, default 50 = 5%; 0 = pure SRPT).
         * @return this.
         */
        public Context pacerFifoFractionPerMille(final int pacerFifoFractionPerMille)
        {
            checkMutable();
            this.pacerFifoFractionPerMille = pacerFifoFractionPerMille;
            return this;
        }

        /**
         * @return pacer FIFO fraction per mille.
         */
        public int pacerFifoFractionPerMille()
        {
            return pacerFifoFractionPerMille;
        }

        /**
         * @param cutoffMinimumMessages messages received before online cutoffs are first computed (default 10,000,
         *                              as homa_prio).
         * @return this.
         */
        public Context cutoffMinimumMessages(final int cutoffMinimumMessages)
        {
            checkMutable();
            this.cutoffMinimumMessages = cutoffMinimumMessages;
            return this;
        }

        /**
         * @return messages needed before cutoffs are computed.
         */
        public int cutoffMinimumMessages()
        {
            return cutoffMinimumMessages;
        }

        /**
         * @param cutoffWindowMessages recent messages the cutoff statistics cover (default 100,000).
         * @return this.
         */
        public Context cutoffWindowMessages(final int cutoffWindowMessages)
        {
            checkMutable();
            this.cutoffWindowMessages = cutoffWindowMessages;
            return this;
        }

        /**
         * @return cutoff statistics window.
         */
        public int cutoffWindowMessages()
        {
            return cutoffWindowMessages;
        }

        /**
         * @param unscheduledLevels force this many unscheduled levels (1..7); 0 (default) = from the unscheduled
         *                          fraction of bytes (paper section 3.4).
         * @return this.
         */
        public Context unscheduledLevels(final int unscheduledLevels)
        {
            checkMutable();
            this.unscheduledLevels = unscheduledLevels;
            return this;
        }

        /**
         * @return forced unscheduled levels, 0 = computed.
         */
        public int unscheduledLevels()
        {
            return unscheduledLevels;
        }

        /**
         * @return the DATA payload per packet: driver.maxPacketLength() - 56.
         */
        public int maxPayload()
        {
            return driver.maxPacketLength() - DATA_HEADER_LENGTH;
        }

        /**
         * @param timeout amount.
         * @param unit    unit.
         * @return nanoseconds.
         */
        static long toNs(final long timeout, final TimeUnit unit)
        {
            return unit.toNanos(timeout);
        }
    }

    /**
     * Runs the engine and closes a driver the transport owns from the agent's own {@code onClose}, so the driver
     * is closed on the thread that drove it.
     */
    private static final class DriverOwningAgent implements Agent
    {
        private final HomaEngine engine;
        private final NicDriver driver;

        DriverOwningAgent(final HomaEngine engine, final NicDriver driver)
        {
            this.engine = engine;
            this.driver = driver;
        }

        public void onStart()
        {
            engine.onStart();
        }

        public int doWork() throws Exception
        {
            return engine.doWork();
        }

        public void onClose()
        {
            try
            {
                engine.onClose();
            }
            finally
            {
                driver.close();
            }
        }

        public String roleName()
        {
            return engine.roleName();
        }
    }
}
