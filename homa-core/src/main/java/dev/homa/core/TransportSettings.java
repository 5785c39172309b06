package dev.homa.core;

import dev.homa.core.metrics.CountersFile;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.EpochClock;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemEpochClock;
import org.agrona.concurrent.SystemNanoClock;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The transport's own settings in its {@link HomaTransport.Context}: the driver, clock, threads and idling, the
 * command ring, the counters file; each with its system property and default. {@link #conclude()} opens the driver
 * named by URI, then checks every group of settings in turn (limits, timers, grants, pacer, priorities, these) and
 * freezes the context.
 *
 * @param <C> the concrete context, which every setter returns.
 */
abstract class TransportSettings<C extends TransportSettings<C>> extends PrioritySettings<C>
{
    /** System property of {@link #driverUri(String)}. */
    public static final String DRIVER_URI_PROP_NAME = "homa.driver.uri";

    /** System property of {@link #threadingMode(ThreadingMode)}. */
    public static final String THREADING_MODE_PROP_NAME = "homa.threading.mode";
    /** Default of {@link #threadingMode(ThreadingMode)}. */
    public static final ThreadingMode THREADING_MODE_DEFAULT = ThreadingMode.INVOKER;

    /** System property of {@link #idleSpinNs(long)}. */
    public static final String IDLE_SPIN_PROP_NAME = "homa.idle.spin";
    /** Default of {@link #idleSpinNs(long)}. */
    public static final long IDLE_SPIN_DEFAULT_NS = 50_000L;

    /** System property of {@link #commandBufferBytes(int)}. */
    public static final String COMMAND_BUFFER_BYTES_PROP_NAME = "homa.command.buffer.bytes";
    /** Default of {@link #commandBufferBytes(int)}. */
    public static final int COMMAND_BUFFER_BYTES_DEFAULT = 1024 * 1024;

    /** System property of {@link #commandTimeoutNs(long)}. */
    public static final String COMMAND_TIMEOUT_PROP_NAME = "homa.command.timeout";
    /** Default of {@link #commandTimeoutNs(long)}. */
    public static final long COMMAND_TIMEOUT_DEFAULT_NS = 1_000_000_000L;

    /** System property of {@link #completionQueueCapacity(int)}. */
    public static final String COMPLETION_QUEUE_CAPACITY_PROP_NAME = "homa.completion.queue.capacity";
    /** Default of {@link #completionQueueCapacity(int)}. */
    public static final int COMPLETION_QUEUE_CAPACITY_DEFAULT = 4096;

    /** System property of {@link #countersEnabled(boolean)}. */
    public static final String COUNTERS_ENABLED_PROP_NAME = "homa.counters.enabled";
    /** Default of {@link #countersEnabled(boolean)}. */
    public static final boolean COUNTERS_ENABLED_DEFAULT = true;

    /** System property of {@link #countersDir(String)}. */
    public static final String COUNTERS_DIR_PROP_NAME = "homa.counters.dir";

    /** System property of {@link #countersIntervalNs(long)}. */
    public static final String COUNTERS_INTERVAL_PROP_NAME = "homa.counters.interval";
    /** Default of {@link #countersIntervalNs(long)}. */
    public static final long COUNTERS_INTERVAL_DEFAULT_NS = 10_000_000L;

    /** System property of {@link #dutyCycleStallThresholdNs(long)}. */
    public static final String DUTY_CYCLE_STALL_THRESHOLD_PROP_NAME = "homa.duty.cycle.stall.threshold";
    /** Default of {@link #dutyCycleStallThresholdNs(long)}. */
    public static final long DUTY_CYCLE_STALL_THRESHOLD_DEFAULT_NS = 1_000_000L;

    /** System property of {@link #printConfiguration(boolean)}. */
    public static final String PRINT_CONFIGURATION_PROP_NAME = "homa.print.configuration";
    /** Default of {@link #printConfiguration(boolean)}. */
    public static final boolean PRINT_CONFIGURATION_DEFAULT = false;

    private NicDriver driver = null;
    private String driverUri = Configuration.stringValue(DRIVER_URI_PROP_NAME, null);
    private boolean ownsDriver = false;
    private NanoClock clock = null;
    private EpochClock epochClock = null;
    private ThreadingMode threadingMode =
        Configuration.enumValue(THREADING_MODE_PROP_NAME, ThreadingMode.class, THREADING_MODE_DEFAULT);
    private IdleStrategy idleStrategy = null;
    private Supplier<IdleStrategy> receiveIdleStrategySupplier = null;
    private long idleSpinNs = Configuration.durationNs(IDLE_SPIN_PROP_NAME, IDLE_SPIN_DEFAULT_NS);
    private ErrorHandler errorHandler = null;
    private int commandBufferBytes =
        Configuration.sizeInt(COMMAND_BUFFER_BYTES_PROP_NAME, COMMAND_BUFFER_BYTES_DEFAULT);
    private long commandTimeoutNs = Configuration.durationNs(COMMAND_TIMEOUT_PROP_NAME, COMMAND_TIMEOUT_DEFAULT_NS);
    private int completionQueueCapacity =
        Configuration.intValue(COMPLETION_QUEUE_CAPACITY_PROP_NAME, COMPLETION_QUEUE_CAPACITY_DEFAULT);
    private boolean countersEnabled = Configuration.boolValue(COUNTERS_ENABLED_PROP_NAME, COUNTERS_ENABLED_DEFAULT);
    private String countersDir = Configuration.stringValue(COUNTERS_DIR_PROP_NAME, null);
    private long countersIntervalNs =
        Configuration.durationNs(COUNTERS_INTERVAL_PROP_NAME, COUNTERS_INTERVAL_DEFAULT_NS);
    private long dutyCycleStallThresholdNs =
        Configuration.durationNs(DUTY_CYCLE_STALL_THRESHOLD_PROP_NAME, DUTY_CYCLE_STALL_THRESHOLD_DEFAULT_NS);
    private boolean printConfiguration =
        Configuration.boolValue(PRINT_CONFIGURATION_PROP_NAME, PRINT_CONFIGURATION_DEFAULT);

    TransportSettings()
    {
    }

    /**
     * Validate every setting and fill derived values (unscheduled bytes from link rate x RTT, NIC queue cap
     * from the packet size). Called by {@link HomaTransport#launch(HomaTransport.Context)}.
     *
     * @return this.
     * @throws HomaConfigurationException naming the first bad setting.
     */
    public C conclude()
    {
        if (isConcluded())
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
            return self();
        }
        concludeSettings();
        return self();
    }

    /**
     * Close the driver this context opened from its URI (launch failed after {@link #conclude()}).
     */
    final void closeOwnedDriver()
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
        if (null == epochClock)
        {
            epochClock = SystemEpochClock.INSTANCE;
        }
        if (null == errorHandler)
        {
            errorHandler = new LoggingErrorHandler(clock);
        }
        final int payload = maxPayload();
        if (payload < 1)
        {
            throw new HomaConfigurationException("driver.maxPacketLength() " + driver.maxPacketLength() +
                " leaves no payload after the " + DataHeaderFlyweight.HEADER_LENGTH + "-byte DATA header");
        }
        concludeLimits();
        concludeTimers();
        concludeGrants(payload, driver);
        concludePacer(driver);
        concludePriorities();
        check(idleSpinNs >= 0, "idleSpinNs", idleSpinNs, ">= 0");
        check(commandBufferBytes >= 4096 && Integer.bitCount(commandBufferBytes) == 1,
            "commandBufferBytes", commandBufferBytes, "a power of two >= 4096");
        check(commandTimeoutNs > 0, "commandTimeoutNs", commandTimeoutNs, "> 0");
        check(completionQueueCapacity >= 2, "completionQueueCapacity", completionQueueCapacity, ">= 2");
        check(countersIntervalNs > 0, "countersIntervalNs", countersIntervalNs, "> 0");
        check(dutyCycleStallThresholdNs > 0, "dutyCycleStallThresholdNs", dutyCycleStallThresholdNs, "> 0");
        if (null == countersDir || countersDir.isBlank())
        {
            countersDir = CountersFile.defaultDirectory().toString();
        }
        markConcluded();
    }

    /**
     * @return the DATA payload per packet: the driver's largest packet less the DATA header.
     */
    public int maxPayload()
    {
        return driver.maxPacketLength() - DataHeaderFlyweight.HEADER_LENGTH;
    }

    /**
     * @param driver the NIC driver (required).
     * @return this.
     */
    public C driver(final NicDriver driver)
    {
        checkMutable();
        this.driver = driver;
        return self();
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
    public C driverUri(final String driverUri)
    {
        checkMutable();
        this.driverUri = driverUri;
        return self();
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
    public C ownsDriver(final boolean ownsDriver)
    {
        checkMutable();
        this.ownsDriver = ownsDriver;
        return self();
    }

    /**
     * @return true if the transport closes the driver.
     */
    public boolean ownsDriver()
    {
        return ownsDriver;
    }

    /**
     * @param clock time source for all protocol timing (default {@link SystemNanoClock}; tests pass a
     *              virtual clock).
     * @return this.
     */
    public C clock(final NanoClock clock)
    {
        checkMutable();
        this.clock = clock;
        return self();
    }

    /**
     * @return the clock.
     */
    public NanoClock clock()
    {
        return clock;
    }

    /**
     * @param epochClock wall-clock time, read only for the counters file's start time and heartbeat, which other
     *                   processes compare with their own clocks (default {@link SystemEpochClock}).
     * @return this.
     */
    public C epochClock(final EpochClock epochClock)
    {
        checkMutable();
        this.epochClock = epochClock;
        return self();
    }

    /**
     * @return the wall clock.
     */
    public EpochClock epochClock()
    {
        return epochClock;
    }

    /**
     * @param threadingMode INVOKER (default) or DEDICATED.
     * @return this.
     */
    public C threadingMode(final ThreadingMode threadingMode)
    {
        checkMutable();
        this.threadingMode = threadingMode;
        return self();
    }

    /**
     * @return the threading mode.
     */
    public ThreadingMode threadingMode()
    {
        return threadingMode;
    }

    /**
     * @param idleStrategy idle strategy of the dedicated protocol thread; null (default) for a {@link
     *                     ProtocolIdleStrategy}, which sleeps in the driver once idle for {@link #idleSpinNs()}.
     * @return this.
     */
    public C idleStrategy(final IdleStrategy idleStrategy)
    {
        checkMutable();
        this.idleStrategy = idleStrategy;
        return self();
    }

    /**
     * @return the idle strategy, null for the default.
     */
    public IdleStrategy idleStrategy()
    {
        return idleStrategy;
    }

    /**
     * @param supplier makes the idle strategy each application thread uses while it blocks in
     *                 {@link HomaSocket#homaRecv(int, long, TimeUnit)}; null (default) polls for {@link
     *                 #idleSpinNs()} and then parks until the protocol thread queues a result.
     * @return this.
     */
    public C receiveIdleStrategySupplier(final Supplier<IdleStrategy> supplier)
    {
        checkMutable();
        this.receiveIdleStrategySupplier = supplier;
        return self();
    }

    /**
     * @return the supplier of blocking receivers' idle strategies.
     */
    public Supplier<IdleStrategy> receiveIdleStrategySupplier()
    {
        return receiveIdleStrategySupplier;
    }

    /**
     * @param idleSpinNs how long a thread that waits for the protocol keeps polling before it sleeps: the
     *                   protocol thread before it sleeps in the driver, an application thread in a blocking
     *                   {@code homaRecv} before it parks (default 50 us, the kernel's {@code poll_usecs}: a receiver
     *                   polls that long before it sleeps). Longer costs CPU while idle, shorter costs a wake-up
     *                   per message when the peer takes longer than that to send the next one.
     * @return this.
     */
    public C idleSpinNs(final long idleSpinNs)
    {
        checkMutable();
        this.idleSpinNs = idleSpinNs;
        return self();
    }

    /**
     * @return nanoseconds of polling before a waiting thread sleeps.
     */
    public long idleSpinNs()
    {
        return idleSpinNs;
    }

    /**
     * @param errorHandler receives exceptions thrown inside the duty cycle (they are also counted).
     * @return this.
     */
    public C errorHandler(final ErrorHandler errorHandler)
    {
        checkMutable();
        this.errorHandler = errorHandler;
        return self();
    }

    /**
     * @return the error handler.
     */
    public ErrorHandler errorHandler()
    {
        return errorHandler;
    }

    /**
     * @param commandBufferBytes ring buffer for application commands, power of two (default 1 MiB).
     * @return this.
     */
    public C commandBufferBytes(final int commandBufferBytes)
    {
        checkMutable();
        this.commandBufferBytes = commandBufferBytes;
        return self();
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
    public C commandTimeoutNs(final long commandTimeoutNs)
    {
        checkMutable();
        this.commandTimeoutNs = commandTimeoutNs;
        return self();
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
    public C completionQueueCapacity(final int completionQueueCapacity)
    {
        checkMutable();
        this.completionQueueCapacity = completionQueueCapacity;
        return self();
    }

    /**
     * @return completion queue capacity.
     */
    public int completionQueueCapacity()
    {
        return completionQueueCapacity;
    }

    /**
     * Publish the counters in a memory-mapped file that {@code homa-stat} reads from another process (as
     * Aeron's CnC file), one per transport, deleted when it closes. Default true
     * ({@code homa.counters.enabled}).
     *
     * @param countersEnabled false to keep the counters in the process only.
     * @return this.
     */
    public C countersEnabled(final boolean countersEnabled)
    {
        checkMutable();
        this.countersEnabled = countersEnabled;
        return self();
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
    public C countersDir(final String countersDir)
    {
        checkMutable();
        this.countersDir = countersDir;
        return self();
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
    public C countersIntervalNs(final long countersIntervalNs)
    {
        checkMutable();
        this.countersIntervalNs = countersIntervalNs;
        return self();
    }

    /**
     * @return how often the counters file is updated.
     */
    public long countersIntervalNs()
    {
        return countersIntervalNs;
    }

    /**
     * A duty cycle that does some work and takes longer than this counts as a stall of the protocol thread
     * ({@code duty_cycle_stalls}; {@code duty_cycle_max_ns} keeps the longest): a garbage collection, a page fault or
     * a core taken by another thread shows there. Default 1 ms ({@code homa.duty.cycle.stall.threshold}).
     *
     * @param dutyCycleStallThresholdNs nanoseconds, more than 0.
     * @return this.
     */
    public C dutyCycleStallThresholdNs(final long dutyCycleStallThresholdNs)
    {
        checkMutable();
        this.dutyCycleStallThresholdNs = dutyCycleStallThresholdNs;
        return self();
    }

    /**
     * @return the duty-cycle length past which a cycle counts as a stall.
     */
    public long dutyCycleStallThresholdNs()
    {
        return dutyCycleStallThresholdNs;
    }

    /**
     * @param printConfiguration print every setting, as concluded, to standard output at launch (default
     *                           false, {@code homa.print.configuration}).
     * @return this.
     */
    public C printConfiguration(final boolean printConfiguration)
    {
        checkMutable();
        this.printConfiguration = printConfiguration;
        return self();
    }

    /**
     * @return true if the configuration is printed at launch.
     */
    public boolean printConfiguration()
    {
        return printConfiguration;
    }
}
