package dev.homa.bench.sim;

/**
 * One simulated host: an application that issues requests to random other hosts at Poisson times (one request per
 * arrival, or with a fan-out several at once, each to a different host) and answers every request it receives with
 * a response, over some transport. The {@link ClusterRun} runs a host only when it
 * is due: a packet reached it, its transport's own deadline came, or its next request is due.
 * <p>
 * Arrivals, sizes and destinations come from {@link Arrivals}, seeded by the run's seed and the host's index alone,
 * so every transport of a run sees exactly the same requests at the same times.
 */
abstract class SimHost
{
    final int index;
    final ClusterRun run;
    final RpcLedger ledger = new RpcLedger();
    /** When the {@link HostQueue} runs this host next. */
    long dueNs;
    /** This host's place in the {@link HostQueue}, -1 when it is not due. */
    int queueSlot = -1;
    /** True while it runs: it stays first in the {@link HostQueue}, and a wake-up then only lowers {@link #wokenNs}. */
    boolean running;
    /** The earliest wake-up while it ran. */
    long wokenNs;
    private final Arrivals arrivals;

    /**
     * @param index       host index in the fabric.
     * @param run         the run.
     * @param seed        the run's seed.
     * @param meanGapNs   mean time between this host's arrivals.
     */
    SimHost(final int index, final ClusterRun run, final long seed, final double meanGapNs)
    {
        this.index = index;
        this.run = run;
        this.arrivals = new Arrivals(index, run.hostCount(), run.workload(), seed, meanGapNs, run.fanout());
    }

    /**
     * @return when this host's next request is due.
     */
    final long nextArrivalNs()
    {
        return arrivals.nextNs();
    }

    /**
     * Run the host: issue the requests that are due, then let the transport work until it has nothing more to do
     * now, and tell the run when to come back.
     *
     * @param nowNs now.
     */
    final void activate(final long nowNs)
    {
        while (arrivals.nextNs() <= nowNs)
        {
            arrivals.draw();
            for (int i = 0; i < arrivals.fanout(); i++)
            {
                run.onArrival(this, arrivals.destination(i), arrivals.size(i), nowNs);
            }
        }
        running = true;
        wokenNs = Long.MAX_VALUE;
        final long deadlineNs = work(nowNs);
        running = false;
        run.reschedule(this, Math.min(wokenNs, Math.max(nowNs + 1, Math.min(deadlineNs, arrivals.nextNs()))));
    }

    /**
     * @return when the run first activates this host: its first request, unless its transport has work before.
     */
    long firstDueNs()
    {
        return arrivals.nextNs();
    }

    /**
     * @param action called with the ledger slot of every RPC in flight.
     */
    final void forEachOutstanding(final java.util.function.IntConsumer action)
    {
        ledger.forEach(action);
    }

    /**
     * Hand a request to the transport.
     *
     * @param destination server host index.
     * @param bytes       request length.
     * @param nowNs       now.
     * @return the RPC's id, or -1 if the transport refused it.
     */
    abstract long send(int destination, int bytes, long nowNs);

    /**
     * Let the transport do everything due now, delivering what arrives to the run.
     *
     * @param nowNs now.
     * @return when the transport next needs to run without new input; after now.
     */
    abstract long work(long nowNs);

    /**
     * @return packets this host's transport handed to the network.
     */
    abstract long packetsSent();

    /**
     * @return wire bytes (headers and Ethernet overhead included) of the message data that has reached this host's
     * transport so far, whole messages or not, each packet once: what the network delivered to it.
     */
    abstract long receivedWireBytes();

    /**
     * Add this host's transport counters (packets by type, retransmissions, timeouts) to a run's totals.
     *
     * @param totals counter name to value, in a fixed order.
     */
    abstract void addCounters(java.util.Map<String, Long> totals);

    /**
     * Release what the transport holds.
     */
    abstract void close();
}
