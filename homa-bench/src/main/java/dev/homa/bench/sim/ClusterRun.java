package dev.homa.bench.sim;

import dev.homa.core.HomaTransport;
import dev.homa.core.priority.CutoffCalculator;
import dev.homa.core.priority.Cutoffs;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.nic.HostAddress;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricDriver;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.SwitchPort;
import dev.homa.nic.loopback.Topology;
import dev.homa.nic.time.VirtualClock;
import dev.homa.nic.time.VirtualTimeScheduler;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;

/**
 * One simulation: a cluster of hosts on a timed {@link Fabric} with one transport and one workload, run in virtual
 * time from the seed until every request of the measurement window has completed (or the drain limit passes).
 * <h2>Event-driven stepping</h2>
 * Two queues of work: the fabric's events (a frame finishing a link, arriving at a switch or a host) in its
 * {@link VirtualTimeScheduler}, and the hosts in a {@link HostQueue} keyed by when each next has to run. A host is
 * due when a packet lands in its receive queue (the driver's arrival listener wakes it at that instant), when its
 * transport's own deadline comes ({@code nextDeadlineNs()}: a pacer wake-up, a timer tick), or when its application
 * issues its next request. The loop takes whichever comes first, fabric events before hosts at the same instant,
 * so a host sees every packet that arrived at that nanosecond in one run. The transports know nothing of this: they
 * read the virtual clock and are called as an application's own loop would call them.
 */
final class ClusterRun
{
    private static final int FIRST_HOST_IPV4 = Fabric.FIRST_HOST_IPV4;
    /** Messages of the workload the cutoffs are computed from (the calculator's default window). */
    private static final int WORKLOAD_CUTOFF_SAMPLES = CutoffCalculator.WINDOW_MESSAGES_DEFAULT;
    /**
     * Bytes of each packet the fabric carries: every header of Homa's and pFabric's packets fits, and no one reads
     * the payload behind them.
     */
    private static final int CARRIED_BYTES = 128;

    private final RunSpec spec;
    private final Topology topology;
    private final Workload workload;
    private final Fabric fabric;
    private final VirtualTimeScheduler scheduler;
    private final VirtualClock clock;
    private final HostQueue queue;
    private final SimHost[] hosts;
    private final Measurements measurements;
    private final int payloadPerPacket;
    private final int packetOverhead;
    private final long responseWireBytes;
    private final IdleTimes idle;
    private final AliasedPoolMemory memory;
    private final Throwable[] errors = new Throwable[1];
    private RequestTrace trace;

    /**
     * @param spec what to run.
     */
    ClusterRun(final RunSpec spec)
    {
        this.spec = spec;
        this.workload = spec.workload();
        this.topology = spec.variant().topology(spec.topology(), spec.pfabricBufferBytes());
        this.scheduler = new VirtualTimeScheduler(new VirtualClock());
        this.clock = scheduler.clock();
        this.fabric = Fabric.builder().mode(FabricMode.TIMED).scheduler(scheduler).topology(topology)
            .packetPoolSize(512).maxFramesInFlight(1 << 20).carriedBytes(CARRIED_BYTES).build();
        this.payloadPerPacket = fabric.maxPacketLength() - DataHeaderFlyweight.HEADER_LENGTH;
        this.packetOverhead = DataHeaderFlyweight.HEADER_LENGTH + fabric.wireOverheadBytes();
        this.responseWireBytes = Workload.wireBytes(spec.responseBytes(), payloadPerPacket, packetOverhead);
        this.idle = new IdleTimes(topology, payloadPerPacket, packetOverhead, spec.responseBytes());
        final int hostCount = fabric.hostCount();
        this.hosts = new SimHost[hostCount];
        this.queue = new HostQueue(hosts);
        final SwitchPort[] downlinks = fabric.hostPorts().toArray(new SwitchPort[0]);
        final double linkBytesPerNs = topology.hostLinkBitsPerSecond() / 8e9;
        this.measurements = new Measurements(workload.bucketCount(), hostCount, (host) -> downlinks[host].busyPs(),
            spec.warmupNs(), spec.endNs(), linkBytesPerNs);

        // Requests and their responses together fill `load` of each host's link: every host sends requests at rate
        // r and, on average, answers r requests. An arrival issues `fanout` requests at once.
        final double wirePerRpc = workload.meanWireBytes(payloadPerPacket, packetOverhead) + responseWireBytes;
        final double meanGapNs = spec.fanout() * wirePerRpc / (spec.load() * linkBytesPerNs);

        final int maxMessage = Math.max(DataHeaderFlyweight.MAX_MESSAGE_LENGTH,
            Math.max(workload.maxBytes(), spec.responseBytes()));
        final long poolBytes = poolBytes(maxMessage);
        this.memory = spec.variant().isHoma() ? new AliasedPoolMemory(poolBytes) : null;
        final UnsafeBuffer payload = null == memory ? null : memory.allocate(maxMessage);
        final int[] workloadCutoffs = spec.variant().usesWorkloadCutoffs() ?
            workloadCutoffs(homaContext(fabric.driverAt(0), maxMessage, poolBytes).conclude(), maxMessage) : null;
        for (int i = 0; i < hostCount; i++)
        {
            final FabricDriver driver = fabric.driverAt(i);
            if (spec.variant().isHoma())
            {
                final HomaTransport.Context ctx = homaContext(driver, maxMessage, poolBytes);
                if (null != workloadCutoffs && null == ctx.staticCutoffs())
                {
                    ctx.staticCutoffs(workloadCutoffs);
                }
                spec.variant().configure(ctx, maxMessage);
                hosts[i] = new HomaHost(i, this, driver, ctx, payload, spec.responseBytes(), spec.seed(),
                    meanGapNs);
            }
            else
            {
                hosts[i] = new PfabricHost(i, this, driver, spec, payloadPerPacket, meanGapNs);
            }
            final SimHost host = hosts[i];
            driver.arrivalListener((d) -> queue.wake(host, clock.nanoTime()));
            queue.wake(host, host.firstDueNs());
        }
    }

    /**
     * The engine's settings for one host. Its NIC is the one pFabric's hosts have: two full packets queued at most
     * (unless the user sets {@code homa.max.nic.queue.bytes}), so a comparison measures the protocols rather than
     * the NIC queues. The kernel's 5 us backlog is 6,250 bytes at 10 Gb/s, a FIFO that a short message waits behind
     * on the sender's side whatever its priority. RESENDs go every resend interval, as the kernel's do (unless
     * the user sets {@code homa.resend.backoff}): the backoff saves hosts the system calls of RESEND and BUSY
     * packets, a cost the simulator does not model, and would only delay its recovery from loss.
     */
    private HomaTransport.Context homaContext(final FabricDriver driver, final int maxMessage, final long poolBytes)
    {
        final HomaTransport.Context ctx = new HomaTransport.Context();
        if (0 == ctx.maxNicQueueBytes())
        {
            ctx.maxNicQueueBytes(2 * (driver.maxPacketLength() + driver.wireOverheadBytes()));
        }
        if (null == System.getProperty(HomaTransport.Context.RESEND_BACKOFF_PROP_NAME))
        {
            ctx.resendBackoff(0);
        }
        return ctx
            .driver(driver)
            .clock(clock)
            .countersEnabled(false)
            .maxMessageLength(maxMessage)
            .receivePoolBytes(poolBytes)
            .sendPoolBytes(poolBytes)
            .poolMemory(memory)
            .commandBufferBytes(64 * 1024)
            .cutoffMinimumMessages(spec.cutoffMinimumMessages())
            .cutoffIntervalNs(spec.cutoffIntervalNs())
            .errorHandler(HomaHost.handler(errors));
    }

    /**
     * The cutoffs the engine's own calculator settles on for this workload: a receiver computes them online once
     * it has seen {@code homa.cutoff.minimum.messages} (10,000) messages, but a simulated host receives a few
     * hundred, from which the heavy-tailed workloads give cutoffs that swing between one and seven unscheduled
     * levels at each recomputation, and every swing leaves senders on stale cutoffs. Computed from a seeded sample
     * of the workload, as the paper computes them from its distribution, each request followed by its response: a
     * host receives both, and a response long enough to need its own level must not be put beside the requests.
     *
     * @param probe      a concluded context with the run's settings (for its unscheduled bytes and levels).
     * @param maxMessage the longest message of the run.
     * @return eight cutoffs.
     */
    private int[] workloadCutoffs(final HomaTransport.Context probe, final int maxMessage)
    {
        final CutoffCalculator calculator =
            new CutoffCalculator(PriorityMapping.LEVELS, probe.unscheduledBytes(), maxMessage)
                .windowMessages(4 * WORKLOAD_CUTOFF_SAMPLES)
                .minimumMessages(1)
                .forcedUnscheduledLevels(probe.unscheduledLevels());
        final SplittableRandom random = new SplittableRandom(spec.seed() ^ 0x5DEECE66DL);
        for (int i = 0; i < WORKLOAD_CUTOFF_SAMPLES; i++)
        {
            calculator.onMessageStarted(workload.sample(random.nextDouble()));
            calculator.onMessageStarted(spec.responseBytes());
        }
        final Cutoffs cutoffs = new Cutoffs();
        calculator.recompute(cutoffs);
        final int[] values = new int[PriorityMapping.LEVELS];
        for (int level = 0; level < values.length; level++)
        {
            values[level] = cutoffs.cutoff(level);
        }
        return values;
    }

    private static long poolBytes(final int maxMessage)
    {
        final long wanted = Math.max(64L << 20, 32L * maxMessage);
        return Math.min(1L << 30, (wanted + (64 << 10) - 1) / (64 << 10) * (64 << 10));
    }

    /** Trace the measured requests of a size range ({@code --trace-requests}) of a Homa run. */
    RequestTrace trace(final int minBytes, final int maxBytes)
    {
        trace = new RequestTrace(this, topology, measurements, fabric.wireOverheadBytes(), payloadPerPacket, minBytes,
            maxBytes);
        fabric.addTraceListener(trace);
        return trace;
    }

    /**
     * Run to the end.
     *
     * @return what it measured.
     */
    RunResult run()
    {
        final long[] receivedAtStart = new long[hosts.length];
        final long[] window = new long[2];
        final long[] secondHalf = new long[2];
        final Tier.Window tiers = new Tier.Window(fabric, spec.warmupNs(), spec.endNs());
        scheduler.schedule(spec.warmupNs() + spec.windowNs() / 2, (nowNs) ->
        {
            secondHalf[0] = -measurements.sentWireBytes();
            secondHalf[1] = -receivedWireBytes();
        });
        scheduler.schedule(spec.warmupNs(), (nowNs) ->
        {
            measurements.onWindowStart(nowNs);
            Tier.resetPeaks(fabric);
            for (int i = 0; i < hosts.length; i++)
            {
                receivedAtStart[i] = hosts[i].receivedWireBytes();
            }
        });
        scheduler.schedule(spec.endNs(), (nowNs) ->
        {
            measurements.onWindowEnd(nowNs);
            secondHalf[0] += measurements.sentWireBytes();
            secondHalf[1] += receivedWireBytes();
            for (int i = 0; i < hosts.length; i++)
            {
                window[0] += hosts[i].receivedWireBytes() - receivedAtStart[i];
                window[1] += (long)measurements.receivableWireBytes(i, receivedAtStart[i]);
            }
        });
        final long endNs = spec.endNs();
        final long stopNs = endNs + spec.drainNs();
        final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        final long cpuStart = threads.getCurrentThreadCpuTime();
        final long wallStart = System.nanoTime();
        try
        {
            while (true)
            {
                final long fabricNs = scheduler.nextDeadlineNs();
                final long hostNs = queue.firstDueNs();
                final long nextNs = Math.min(fabricNs, hostNs);
                if (nextNs > stopNs || (nextNs > endNs && 0 == measurements.measuredOutstanding()))
                {
                    break;
                }
                if (fabricNs <= hostNs)
                {
                    scheduler.runNext();
                }
                else
                {
                    clock.advanceTo(hostNs);
                    queue.next().activate(hostNs);
                }
                if (null != errors[0])
                {
                    throw new IllegalStateException("a transport failed in " + spec.variant().id() + " at t=" +
                        clock.nanoTime() + " ns", errors[0]);
                }
            }
            final long wallNs = System.nanoTime() - wallStart;
            return result(wallNs, threads.getCurrentThreadCpuTime() - cpuStart, window[0], window[1], secondHalf,
                tiers.shares());
        }
        finally
        {
            for (final SimHost host : hosts)
            {
                host.close();
            }
            fabric.close();
            if (null != memory)
            {
                memory.close();
            }
        }
    }

    private long receivedWireBytes()
    {
        long sum = 0;
        for (final SimHost host : hosts)
        {
            sum += host.receivedWireBytes();
        }
        return sum;
    }

    private RunResult result(
        final long wallNs,
        final long cpuNs,
        final long windowReceivedWireBytes,
        final long windowReceivableWireBytes,
        final long[] secondHalf,
        final double[] tierBusy)
    {
        final long nowNs = clock.nanoTime();
        // Requests of the window still in flight count with the time they have waited so far.
        for (final SimHost host : hosts)
        {
            host.forEachOutstanding((slot) ->
            {
                final long startNs = host.ledger.startNs(slot);
                if (measurements.measures(startNs))
                {
                    final int bytes = host.ledger.bytes(slot);
                    final int server = host.ledger.destination(slot);
                    if (!host.ledger.isDelivered(slot))
                    {
                        measurements.onMeasuredIncomplete(workload.bucketOf(bytes),
                            idle.slowdown(nowNs - startNs, bytes, host.index, server));
                    }
                    measurements.onMeasuredRpc(idle.rpcSlowdown(nowNs - startNs, bytes, host.index, server));
                }
            });
        }
        final long[] hostPeaks = new long[SwitchPort.LEVELS];
        final long[] fabricPeaks = new long[SwitchPort.LEVELS];
        long drops = 0;
        for (final SwitchPort port : fabric.hostPorts())
        {
            drops += port.drops();
            for (int level = 0; level < SwitchPort.LEVELS; level++)
            {
                hostPeaks[level] = Math.max(hostPeaks[level], port.peakDepthBytes(level));
            }
        }
        for (final java.util.List<SwitchPort> ports : java.util.List.of(fabric.torUplinks(), fabric.spineDownlinks()))
        {
            for (final SwitchPort port : ports)
            {
                drops += port.drops();
                for (int level = 0; level < SwitchPort.LEVELS; level++)
                {
                    fabricPeaks[level] = Math.max(fabricPeaks[level], port.peakDepthBytes(level));
                }
            }
        }
        long packets = 0;
        final java.util.Map<String, Long> counters = new java.util.LinkedHashMap<>();
        for (final SimHost host : hosts)
        {
            packets += host.packetsSent();
            host.addCounters(counters);
        }
        counters.put("fabric.drops", fabric.drops());
        return measurements.result(spec, workload, fabric.hostCount(), windowReceivedWireBytes,
            windowReceivableWireBytes, secondHalf, hostPeaks, fabricPeaks, tierBusy, drops, packets, nowNs, wallNs,
            cpuNs, counters);
    }

    // ------------------------------------------------------------------------------------------------------------
    // For the hosts

    Workload workload()
    {
        return workload;
    }

    Measurements measurements()
    {
        return measurements;
    }

    int fanout()
    {
        return spec.fanout();
    }

    int hostCount()
    {
        return hosts.length;
    }

    long address(final int host)
    {
        return fabric.driverAt(host).localAddress();
    }

    int indexOf(final long address)
    {
        return HostAddress.ipv4Of(address) - FIRST_HOST_IPV4;
    }

    void reschedule(final SimHost host, final long atNs)
    {
        queue.reschedule(host, atNs);
    }

    /**
     * The application of a host issues a request.
     */
    void onArrival(final SimHost client, final int server, final int bytes, final long nowNs)
    {
        final long id = client.send(server, bytes, nowNs);
        if (id < 0)
        {
            measurements.onRefused();
            return;
        }
        client.ledger.add(id, nowNs, bytes, server);
        if (null != trace)
        {
            trace.onIssued(client.index, id, bytes, server, nowNs);
        }
        final long wireBytes = Workload.wireBytes(bytes, payloadPerPacket, packetOverhead);
        measurements.onSent(server, wireBytes, nowNs);
        if (measurements.measures(nowNs))
        {
            measurements.onMeasuredRequest(wireBytes + responseWireBytes);
        }
    }

    /**
     * A request reached the server's application.
     */
    void onRequestDelivered(final SimHost server, final int clientIndex, final long clientId, final long nowNs)
    {
        final SimHost client = hosts[clientIndex];
        final int slot = client.ledger.find(clientId);
        if (slot < 0 || !client.ledger.markDelivered(slot))
        {
            return;
        }
        final int bytes = client.ledger.bytes(slot);
        if (null != trace)
        {
            trace.onDelivered(clientIndex, clientId, nowNs);
        }
        measurements.onDelivered(server.index, nowNs);
        final long startNs = client.ledger.startNs(slot);
        if (measurements.measures(startNs))
        {
            measurements.onMeasuredBytes(Workload.wireBytes(bytes, payloadPerPacket, packetOverhead));
            measurements.onMeasuredDone(workload.bucketOf(bytes),
                idle.slowdown(nowNs - startNs, bytes, clientIndex, server.index));
        }
    }

    /**
     * A server answered a request.
     */
    void onResponseSent(final int clientIndex, final long nowNs)
    {
        measurements.onSent(clientIndex, responseWireBytes, nowNs);
    }

    /**
     * A response reached the client's application: the RPC is over.
     */
    void onResponseDelivered(final SimHost client, final long id, final long nowNs)
    {
        final int slot = client.ledger.find(id);
        if (slot < 0)
        {
            return;
        }
        measurements.onDelivered(client.index, nowNs);
        final long startNs = client.ledger.startNs(slot);
        if (measurements.measures(startNs))
        {
            measurements.onMeasuredBytes(responseWireBytes);
            measurements.onMeasuredRpcEnded();
            measurements.onMeasuredRpc(
                idle.rpcSlowdown(nowNs - startNs, client.ledger.bytes(slot), client.index,
                    client.ledger.destination(slot)));
        }
        client.ledger.remove(slot);
    }

    /**
     * An RPC ended with an error: whatever of it was on its way will not arrive.
     */
    void onFailed(final SimHost client, final long id, final long nowNs)
    {
        measurements.onFailed();
        final int slot = client.ledger.find(id);
        if (slot < 0)
        {
            return;
        }
        final int bytes = client.ledger.bytes(slot);
        final int server = client.ledger.destination(slot);
        final long startNs = client.ledger.startNs(slot);
        if (client.ledger.isDelivered(slot))
        {
            measurements.onDelivered(client.index, nowNs);
        }
        else
        {
            measurements.onDelivered(server, nowNs);
            if (measurements.measures(startNs))
            {
                measurements.onMeasuredIncomplete(workload.bucketOf(bytes),
                    idle.slowdown(nowNs - startNs, bytes, client.index, server));
            }
        }
        if (measurements.measures(startNs))
        {
            measurements.onMeasuredRpcEnded();
            measurements.onMeasuredRpc(idle.rpcSlowdown(nowNs - startNs, bytes, client.index, server));
        }
        client.ledger.remove(slot);
    }

    /**
     * @return the idle network's times, the denominators of this run's slowdowns.
     */
    IdleTimes idleTimes()
    {
        return idle;
    }
}
