package dev.homa.bench.sim;

/**
 * The outcome of one run. Everything but {@link #wallNs()} and {@link #cpuNs()} follows from the spec and its seed
 * alone.
 *
 * @param spec                what ran.
 * @param bucketMaxBytes      the largest size of each bucket.
 * @param bucketCounts        measured requests per bucket.
 * @param p50                 median slowdown per bucket.
 * @param p99                 99th percentile slowdown per bucket.
 * @param incomplete          measured requests per bucket that had not completed when the run stopped.
 * @param rpcP50              median slowdown of the window's RPCs: from the request's issue to the response's
 *                            delivery, over the best time for the request and then the response on an idle network.
 * @param rpcP99              99th percentile of the same.
 * @param offeredLoad         wire bytes handed to the transports in the window over the host links' capacity.
 * @param deliveredLoad       wire bytes of the window's RPCs whose whole message reached its application before
 *                            the run stopped, over the same capacity.
 * @param receivedLoad        wire bytes of message data that reached the receiving hosts during the window, whole
 *                            messages or not and whenever they were sent, over the same capacity: the throughput
 *                            of the network in the window.
 * @param receivableLoad      the most the receiving hosts could have received in the window over the same capacity:
 *                            per host, what had been sent to it and had not arrived when the window opened, up to
 *                            its downlink's capacity for the window.
 * @param lateSentLoad        wire bytes of the messages handed to the transports in the window's second half (any
 *                            RPC's, measured or not) over the host links' capacity for that half.
 * @param lateReceivedLoad    wire bytes of message data that reached the receiving hosts in the window's second half,
 *                            over the same capacity: below {@code lateSentLoad} by what the backlog (sent and not yet
 *                            received) grew in that half.
 * @param wastedDownlink      share of the window's downlink time spent idle while a message for that host was on
 *                            its way.
 * @param hostPortPeakBytes   per priority level: the deepest any ToR port towards a host got, wire bytes.
 * @param fabricPortPeakBytes per priority level: the deepest any port between a ToR and a spine got.
 * @param tierBusy            per {@link Tier}: the mean share of the window its links spent transmitting
 *                            (anything: data, control, resent), then the largest share of one of them.
 * @param drops               frames the switches dropped (buffer full).
 * @param refused             requests or responses the transport refused (a limit).
 * @param failed              RPCs that ended with an error.
 * @param measuredRequests    requests that arrived in the window.
 * @param packets             packets the hosts handed to the network, whole run.
 * @param simulatedNs         virtual time the run covered.
 * @param wallNs              wall-clock time of the event loop.
 * @param cpuNs               CPU time of the event loop's thread (its wall time on a core of its own).
 * @param counters            the transports' counters summed over hosts, whole run.
 */
record RunResult(
    RunSpec spec,
    int[] bucketMaxBytes,
    long[] bucketCounts,
    double[] p50,
    double[] p99,
    long[] incomplete,
    double rpcP50,
    double rpcP99,
    double offeredLoad,
    double deliveredLoad,
    double receivedLoad,
    double receivableLoad,
    double lateSentLoad,
    double lateReceivedLoad,
    double wastedDownlink,
    long[] hostPortPeakBytes,
    long[] fabricPortPeakBytes,
    double[] tierBusy,
    long drops,
    long refused,
    long failed,
    long measuredRequests,
    long packets,
    long simulatedNs,
    long wallNs,
    long cpuNs,
    java.util.Map<String, Long> counters)
{
    /**
     * @return simulated packets per second of wall-clock time.
     */
    double packetsPerSecond()
    {
        return 0 == wallNs ? 0 : packets * 1e9 / wallNs;
    }

    /**
     * @return simulated packets per second of the event loop's CPU time.
     */
    double packetsPerCpuSecond()
    {
        return 0 == cpuNs ? 0 : packets * 1e9 / cpuNs;
    }

    /**
     * @return delivered over offered load.
     */
    double deliveredShare()
    {
        return 0 == offeredLoad ? 0 : deliveredLoad / offeredLoad;
    }

    /**
     * @return bytes received in the window over bytes offered in it.
     */
    double receivedShare()
    {
        return 0 == offeredLoad ? 0 : receivedLoad / offeredLoad;
    }

    /**
     * @return bytes received in the window's second half over bytes sent in it: 1 less the backlog's growth over
     * that half as a share of what was sent.
     */
    double lateReceivedShare()
    {
        return 0 == lateSentLoad ? 0 : lateReceivedLoad / lateSentLoad;
    }

    /**
     * @return bytes received in the window over the most the receivers could have received in it.
     */
    double receivedOfReceivable()
    {
        return 0 == receivableLoad ? 0 : receivedLoad / receivableLoad;
    }

    /**
     * @return incomplete measured requests in all buckets.
     */
    long incompleteTotal()
    {
        long sum = 0;
        for (final long value : incomplete)
        {
            sum += value;
        }
        return sum;
    }
}
