package dev.homa.bench.sim;

import java.util.Arrays;
import java.util.function.IntToLongFunction;

/**
 * What a run measures while it goes: the slowdown of every request that arrived in the window (by size bucket);
 * the wire bytes of those RPCs (request and response) and how many of them were delivered by the end of the run;
 * and the time each receiver's downlink sat idle while a message for it was on its way (wasted bandwidth). The
 * workload reports events; nothing here looks inside a transport.
 * <p>
 * Delivered load counts, of the RPCs that began in the window, the bytes that arrived before the run stopped (it
 * goes on, load included, until they all have, or the drain limit passes): a network that keeps up delivers them
 * all; one that does not falls behind for good, and the RPCs it starves stay undelivered. The bytes received
 * within the window, partial messages included, are the run's other measure ({@link RunResult#receivedLoad()},
 * from the transports): it swings with the few long messages in flight at the window's edges, but does not wait
 * for the messages SRPT serves last.
 */
final class Measurements
{
    private final long windowStartNs;
    private final long windowEndNs;
    private final double[][] slowdowns;
    private final int[] counts;
    private double[] rpcSlowdowns = new double[256];
    private int rpcCount;
    private final long[] incomplete;
    private final int[] pending;
    private final long[] idleFromNs;
    private final long[] busyFromPs;
    private final IntToLongFunction downlinkBusyPs;
    private final long[] sentTo;
    private final long[] sentToAtStart;
    private final double[] reachableInWindow;
    private final double linkBytesPerNs;
    private long measuredOutstanding;
    private long sentWireBytes;
    private long offeredWireBytes;
    private long deliveredWireBytes;
    private long measuredRequests;
    private long wastedPs;
    private long refused;
    private long failed;
    private boolean inWindow;

    /**
     * @param buckets       size buckets of the workload.
     * @param hosts          hosts in the cluster.
     * @param downlinkBusyPs by host index, the time its downlink has spent transmitting so far, picoseconds.
     * @param windowStartNs start of the measurement window.
     * @param windowEndNs   its end.
     * @param linkBytesPerNs a host link's rate.
     */
    Measurements(
        final int buckets,
        final int hosts,
        final IntToLongFunction downlinkBusyPs,
        final long windowStartNs,
        final long windowEndNs,
        final double linkBytesPerNs)
    {
        this.linkBytesPerNs = linkBytesPerNs;
        this.windowStartNs = windowStartNs;
        this.windowEndNs = windowEndNs;
        this.downlinkBusyPs = downlinkBusyPs;
        slowdowns = new double[buckets][];
        counts = new int[buckets];
        incomplete = new long[buckets];
        for (int i = 0; i < buckets; i++)
        {
            slowdowns[i] = new double[256];
        }
        pending = new int[hosts];
        sentTo = new long[hosts];
        sentToAtStart = new long[hosts];
        reachableInWindow = new double[hosts];
        idleFromNs = new long[hosts];
        busyFromPs = new long[hosts];
    }

    /**
     * @param atNs a time.
     * @return true if a request arriving then is measured.
     */
    boolean measures(final long atNs)
    {
        return atNs >= windowStartNs && atNs < windowEndNs;
    }

    /**
     * The window opens: downlinks already waiting start to count.
     *
     * @param nowNs the window's start.
     */
    void onWindowStart(final long nowNs)
    {
        inWindow = true;
        System.arraycopy(sentTo, 0, sentToAtStart, 0, sentTo.length);
        for (int host = 0; host < pending.length; host++)
        {
            if (pending[host] > 0)
            {
                startWaiting(host, nowNs);
            }
        }
    }

    /**
     * The window closes: waiting downlinks stop counting.
     *
     * @param nowNs the window's end.
     */
    void onWindowEnd(final long nowNs)
    {
        for (int host = 0; host < pending.length; host++)
        {
            if (pending[host] > 0)
            {
                stopWaiting(host, nowNs);
            }
        }
        inWindow = false;
    }

    /**
     * A message left its application for a host.
     *
     * @param destination the receiving host.
     * @param wireBytes   its bytes on the wire.
     * @param nowNs       now.
     */
    void onSent(final int destination, final long wireBytes, final long nowNs)
    {
        sentTo[destination] += wireBytes;
        sentWireBytes += wireBytes;
        if (inWindow)
        {
            reachableInWindow[destination] += Math.min(wireBytes, linkBytesPerNs * (windowEndNs - nowNs));
        }
        if (0 == pending[destination]++ && inWindow)
        {
            startWaiting(destination, nowNs);
        }
    }

    /**
     * A message reached its application (or will not: its RPC failed).
     *
     * @param destination the receiving host.
     * @param nowNs       now.
     */
    void onDelivered(final int destination, final long nowNs)
    {
        if (0 == --pending[destination] && inWindow)
        {
            stopWaiting(destination, nowNs);
        }
    }

    /**
     * An RPC of the window began.
     *
     * @param wireBytes its request's and its response's bytes on the wire.
     */
    void onMeasuredRequest(final long wireBytes)
    {
        measuredOutstanding++;
        measuredRequests++;
        offeredWireBytes += wireBytes;
    }

    /**
     * A message of an RPC of the window arrived.
     *
     * @param wireBytes its bytes on the wire.
     */
    void onMeasuredBytes(final long wireBytes)
    {
        deliveredWireBytes += wireBytes;
    }

    /**
     * An RPC of the window is over: its response arrived, or it failed.
     */
    void onMeasuredRpcEnded()
    {
        measuredOutstanding--;
    }

    /**
     * A measured request reached the server application.
     *
     * @param bucket   its size bucket.
     * @param slowdown its completion time over the best possible.
     */
    void onMeasuredDone(final int bucket, final double slowdown)
    {
        if (counts[bucket] == slowdowns[bucket].length)
        {
            slowdowns[bucket] = Arrays.copyOf(slowdowns[bucket], counts[bucket] << 1);
        }
        slowdowns[bucket][counts[bucket]++] = slowdown;
    }

    /**
     * A measured RPC is over (its response reached the client), or the run stopped first.
     *
     * @param slowdown its time from the request's issue to the response's delivery (or to the run's end) over the
     *                 best possible.
     */
    void onMeasuredRpc(final double slowdown)
    {
        if (rpcCount == rpcSlowdowns.length)
        {
            rpcSlowdowns = Arrays.copyOf(rpcSlowdowns, rpcCount << 1);
        }
        rpcSlowdowns[rpcCount++] = slowdown;
    }

    /**
     * A measured request never completed: it counts with the time it had waited when the run stopped (a lower bound
     * on its slowdown).
     *
     * @param bucket   its size bucket.
     * @param slowdown its slowdown so far.
     */
    void onMeasuredIncomplete(final int bucket, final double slowdown)
    {
        onMeasuredDone(bucket, slowdown);
        incomplete[bucket]++;
    }

    /**
     * The transport refused a request (a limit such as the send pool or RPCs per socket).
     */
    void onRefused()
    {
        refused++;
    }

    /**
     * An RPC ended with an error.
     */
    void onFailed()
    {
        failed++;
    }

    /**
     * @return RPCs of the window not yet over.
     */
    long measuredOutstanding()
    {
        return measuredOutstanding;
    }

    /**
     * The most a host could have received in the window: what had been sent to it and had not arrived when the
     * window opened, plus of each message sent to it in the window what one link could carry before the window
     * closed, up to its downlink's capacity for the window. The senders' links are not counted against it, so a
     * network can come close but need not reach it.
     *
     * @param host                a host.
     * @param receivedAtStartBytes the wire bytes it had received when the window opened.
     * @return wire bytes.
     */
    double receivableWireBytes(final int host, final long receivedAtStartBytes)
    {
        final double backlog = Math.max(0, sentToAtStart[host] - receivedAtStartBytes);
        return Math.min(linkBytesPerNs * (windowEndNs - windowStartNs), backlog + reachableInWindow[host]);
    }

    /**
     * @return wire bytes of every message handed to a transport so far, to any host, whenever it began.
     */
    long sentWireBytes()
    {
        return sentWireBytes;
    }

    /**
     * The result of a run from these measurements and the network's own figures, which only the caller has (a packet
     * network's queues, drops and tiers; none for the ideal), so that every transport's result is computed alike.
     *
     * @param spec                  what ran.
     * @param workload              its workload.
     * @param hosts                 hosts in the cluster.
     * @param windowReceivedBytes   wire bytes the hosts received in the window.
     * @param windowReceivableBytes the most they could have received in it.
     * @param secondHalf            wire bytes sent, then received, in the window's second half.
     * @param hostPeaks             per level, the deepest queue at a port towards a host.
     * @param fabricPeaks           per level, the deepest queue at a port between a ToR and a spine.
     * @param tierBusy              per tier, the mean and largest busy share of its links.
     * @param drops                 frames the switches dropped.
     * @param packets               packets the hosts sent.
     * @param simulatedNs           virtual time covered.
     * @param wallNs                wall-clock time of the event loop.
     * @param cpuNs                 CPU time of the event loop.
     * @param counters              the transports' counters.
     * @return the result.
     */
    RunResult result(
        final RunSpec spec,
        final Workload workload,
        final int hosts,
        final long windowReceivedBytes,
        final long windowReceivableBytes,
        final long[] secondHalf,
        final long[] hostPeaks,
        final long[] fabricPeaks,
        final double[] tierBusy,
        final long drops,
        final long packets,
        final long simulatedNs,
        final long wallNs,
        final long cpuNs,
        final java.util.Map<String, Long> counters)
    {
        final int buckets = workload.bucketCount();
        final int[] bucketMax = new int[buckets];
        final long[] bucketCounts = new long[buckets];
        final double[] p50 = new double[buckets];
        final double[] p99 = new double[buckets];
        final long[] incompleteCounts = new long[buckets];
        for (int b = 0; b < buckets; b++)
        {
            bucketMax[b] = workload.bucketMaxBytes(b);
            bucketCounts[b] = counts[b];
            p50[b] = percentile(b, 50);
            p99[b] = percentile(b, 99);
            incompleteCounts[b] = incomplete[b];
        }
        final double capacityBytes = hosts * linkBytesPerNs * spec.windowNs();
        return new RunResult(spec, bucketMax, bucketCounts, p50, p99, incompleteCounts, rpcPercentile(50),
            rpcPercentile(99), offeredWireBytes / capacityBytes, deliveredWireBytes / capacityBytes,
            windowReceivedBytes / capacityBytes, windowReceivableBytes / capacityBytes,
            secondHalf[0] / (capacityBytes / 2), secondHalf[1] / (capacityBytes / 2),
            wastedPs / 1000.0 / (hosts * (double)spec.windowNs()), hostPeaks, fabricPeaks, tierBusy, drops, refused,
            failed, measuredRequests, packets, simulatedNs, wallNs, cpuNs, counters);
    }

    /**
     * @param bucket     a size bucket.
     * @param percentile 0 to 100.
     * @return that percentile of the bucket's slowdowns (nearest rank), NaN if it has none.
     */
    double percentile(final int bucket, final double percentile)
    {
        return percentile(slowdowns[bucket], counts[bucket], percentile);
    }

    /**
     * @param percentile 0 to 100.
     * @return that percentile of the measured RPCs' slowdowns (nearest rank), NaN if there are none.
     */
    double rpcPercentile(final double percentile)
    {
        return percentile(rpcSlowdowns, rpcCount, percentile);
    }

    /**
     * Sorts the first {@code n} values in place (their order means nothing else), so the next percentile of the same
     * values sorts an array already in order, at a fraction of the first sort's cost.
     */
    private static double percentile(final double[] values, final int n, final double percentile)
    {
        if (0 == n)
        {
            return Double.NaN;
        }
        Arrays.sort(values, 0, n);
        final int rank = (int)Math.ceil(percentile / 100.0 * n);
        return values[Math.max(0, Math.min(n - 1, rank - 1))];
    }

    private void startWaiting(final int host, final long nowNs)
    {
        idleFromNs[host] = nowNs;
        busyFromPs[host] = downlinkBusyPs.applyAsLong(host);
    }

    private void stopWaiting(final int host, final long nowNs)
    {
        final long busyPs = downlinkBusyPs.applyAsLong(host) - busyFromPs[host];
        wastedPs += Math.max(0, (nowNs - idleFromNs[host]) * 1000L - busyPs);
    }
}
