package dev.homa.bench.sim;

import dev.homa.nic.loopback.Topology;

/**
 * Everything one simulation run needs: where (topology), what (workload, load, transport) and how long, all in
 * virtual time. Arrivals are Poisson per host at {@code load} of the host link's bandwidth counting each message's
 * bytes on the wire (payload, DATA headers, link overhead) and its response's.
 *
 * @param topology             the network as asked (a variant may change it: {@link Variant#topology}).
 * @param workload             message sizes.
 * @param load                 offered load per host link, 0 to 1.
 * @param variant              the transport.
 * @param seed                 seeds arrivals, sizes, destinations and spraying: the same seed gives the same run.
 * @param warmupNs             virtual time before measuring.
 * @param windowNs             measurement window: requests that arrive in it are measured.
 * @param drainNs              longest time after the window to wait for measured requests (arrivals go on).
 * @param responseBytes        bytes of each response.
 * @param fanout               requests each arrival issues at once, each to a different host.
 * @param cutoffMinimumMessages messages a Homa receiver sees before it computes cutoffs.
 * @param cutoffIntervalNs     how often a Homa receiver recomputes its cutoffs.
 * @param pfabricBufferBytes   pFabric's buffer per port.
 * @param pfabricWindowBytes   pFabric's window per message.
 * @param pfabricRtoNs         pFabric's retransmission timeout.
 */
record RunSpec(
    Topology topology,
    Workload workload,
    double load,
    Variant variant,
    long seed,
    long warmupNs,
    long windowNs,
    long drainNs,
    int responseBytes,
    int fanout,
    int cutoffMinimumMessages,
    long cutoffIntervalNs,
    long pfabricBufferBytes,
    int pfabricWindowBytes,
    long pfabricRtoNs)
{
    /**
     * @return end of the measurement window.
     */
    long endNs()
    {
        return warmupNs + windowNs;
    }

    /**
     * @return this run with another transport.
     * @param other the transport.
     */
    RunSpec with(final Variant other)
    {
        return new RunSpec(topology, workload, load, other, seed, warmupNs, windowNs, drainNs, responseBytes,
            fanout, cutoffMinimumMessages, cutoffIntervalNs, pfabricBufferBytes, pfabricWindowBytes, pfabricRtoNs);
    }

    /**
     * @return this run at another load.
     * @param otherLoad the load.
     */
    RunSpec withLoad(final double otherLoad)
    {
        return new RunSpec(topology, workload, otherLoad, variant, seed, warmupNs, windowNs, drainNs, responseBytes,
            fanout, cutoffMinimumMessages, cutoffIntervalNs, pfabricBufferBytes, pfabricWindowBytes, pfabricRtoNs);
    }
}
