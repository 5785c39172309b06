package dev.homa.core;

import dev.homa.core.metrics.CountersFile;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.NicDriver;
import org.agrona.BufferUtil;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.IdleStrategy;
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
    /** First automatically assigned port (the kernel's HOMA_MIN_DEFAULT_PORT). */
    public static final int MIN_AUTO_PORT = 0x8000;
    /** Largest port. */
    public static final int MAX_PORT = 0xFFFF;

    private static final Logger LOG = LoggerFactory.getLogger(HomaTransport.class);

    private final Context ctx;
    private final HomaEngine engine;
    private final CommandProxy commands;
    private final ConcurrentHashMap<Integer, HomaSocket> sockets = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, SocketEndpoint> endpoints = new ConcurrentHashMap<>();
    private final AtomicInteger nextAutoPort = new AtomicInteger(MIN_AUTO_PORT);
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
        final ManyToOneRingBuffer ring = new ManyToOneRingBuffer(new UnsafeBuffer(BufferUtil.allocateDirectAligned(
            ctx.commandBufferBytes() + RingBufferDescriptor.TRAILER_LENGTH, 64)));
        this.commands = new CommandProxy(this, ring, ctx.clock());
        this.engine = new HomaEngine(ctx, ring, endpoints, sendPagesReserved);
        if (ctx.countersEnabled())
        {
            try
            {
                engine.countersFile(CountersFile.create(
                    Path.of(ctx.countersDir()), engine.roleName(), engine.metrics(), ctx.epochClock().time()));
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
            final IdleStrategy idle = null != ctx.idleStrategy() ? ctx.idleStrategy() : newIdleStrategy(true);
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
     * Open a socket. A socket on a port given here is a server and a client; one on a port the transport picks is a
     * client only: requests sent to it are refused, as the kernel refuses them for a socket it has not bound.
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
                if (attempts > MAX_PORT - MIN_AUTO_PORT)
                {
                    throw new HomaLimitException("no free port in " + MIN_AUTO_PORT + ".." + MAX_PORT);
                }
                chosen = nextAutoPort.getAndIncrement();
                if (chosen > MAX_PORT)
                {
                    nextAutoPort.compareAndSet(chosen + 1, MIN_AUTO_PORT);
                    continue;
                }
                socket = new HomaSocket(this, chosen, false);
                if (null == sockets.putIfAbsent(chosen, socket))
                {
                    if (claim(chosen))
                    {
                        break;
                    }
                    sockets.remove(chosen);
                }
            }
        }
        else
        {
            socket = new HomaSocket(this, chosen, true);
            if (null != sockets.putIfAbsent(chosen, socket))
            {
                throw new HomaException("port " + chosen + " is already bound on this transport");
            }
            if (!claim(chosen))
            {
                sockets.remove(chosen);
                throw new HomaException("port " + chosen + " is in use by another transport on the driver's " +
                    "network interface: choose another port");
            }
        }
        endpoints.put(chosen, socket.endpoint());
        offerControl(Commands.BIND, chosen, 0);
        return socket;
    }

    /**
     * Claim a port the transport has just taken against the driver's other users on its medium.
     *
     * @param port the port, already in {@code sockets}.
     * @return true if the driver gave it; false if another driver holds it.
     */
    private boolean claim(final int port)
    {
        try
        {
            return ctx.driver().claimPort(port);
        }
        catch (final RuntimeException ex)
        {
            sockets.remove(port);
            throw ex;
        }
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
        // Ports of a driver the transport does not own go back to the host (an owned one has closed with them).
        for (final Integer port : sockets.keySet())
        {
            ctx.driver().releasePort(port);
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
        return newIdleStrategy(false);
    }

    private ProtocolIdleStrategy newIdleStrategy(final boolean handOffs)
    {
        return new ProtocolIdleStrategy(engine, ctx.clock(), ctx.idleSpinNs(), MAX_IDLE_WAIT_NS, handOffs);
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

    CommandProxy commands()
    {
        return commands;
    }

    void removeSocket(final int port)
    {
        if (null != sockets.remove(port))
        {
            ctx.driver().releasePort(port);
        }
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

    /**
     * @param timeout how long an RPC may take, from now.
     * @param unit    unit of the timeout.
     * @return when it must end, on the transport's clock.
     * @throws HomaException if the timeout is not positive.
     */
    long deadlineNs(final long timeout, final TimeUnit unit)
    {
        if (timeout <= 0)
        {
            throw new HomaException("an RPC's timeout must be positive: " + timeout + " " + unit);
        }
        return ctx.clock().nanoTime() + unit.toNanos(timeout);
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
        commands.control(type, port, id, value);
    }

    /**
     * Configuration of a {@link HomaTransport} (after Aeron's {@code MediaDriver.Context}): fluent setters, each
     * setting's default from its system property ({@link Configuration}), validated and completed (derived values)
     * by {@link #conclude()}, then frozen. The settings are grouped by concept in the classes this one extends:
     * limits, timers, grants, pacer, priorities and the transport's own.
     */
    public static final class Context extends TransportSettings<Context>
    {
        /**
         * A context with every setting at its default (its system property, else the built-in value).
         */
        public Context()
        {
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
