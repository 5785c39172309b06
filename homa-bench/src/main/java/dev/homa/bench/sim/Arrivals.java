package dev.homa.bench.sim;

import java.util.SplittableRandom;

/**
 * One host's requests: Poisson arrival times, and for each arrival the sizes and the distinct destinations of the
 * requests it issues at once (one, or the fan-out), drawn from a generator seeded by the run's seed and the host's
 * index alone, so that every transport of a run, and the {@link IdealMatching} bound, see exactly the same requests
 * at the same times.
 */
final class Arrivals
{
    private final int index;
    private final int hostCount;
    private final Workload workload;
    private final SplittableRandom random;
    private final double meanGapNs;
    private final int[] sizes;
    private final int[] destinations;
    private double nextExactNs;
    private long nextNs;

    /**
     * @param index     the host's index.
     * @param hostCount hosts in the cluster.
     * @param workload  where sizes come from.
     * @param seed      the run's seed.
     * @param meanGapNs mean time between arrivals.
     * @param fanout    requests per arrival, each to a different host.
     */
    Arrivals(final int index, final int hostCount, final Workload workload, final long seed, final double meanGapNs,
        final int fanout)
    {
        this.index = index;
        this.hostCount = hostCount;
        this.workload = workload;
        this.random = hostRandom(seed, index);
        this.meanGapNs = meanGapNs;
        this.sizes = new int[fanout];
        this.destinations = new int[fanout];
        nextExactNs = gapNs();
        nextNs = (long)Math.ceil(nextExactNs);
    }

    /**
     * The generator of one host's arrivals, sizes and destinations. A {@link SplittableRandom} walks its seed in
     * steps of one constant, so seeds that differ by a multiple of it (give or take the low bit) give one stream
     * shifted: the hosts would issue the same requests a few arrivals apart. Each host's seed is instead the
     * index-th draw of a generator seeded by the run's seed.
     *
     * @param seed  the run's seed.
     * @param index the host's index.
     * @return its generator.
     */
    static SplittableRandom hostRandom(final long seed, final int index)
    {
        final SplittableRandom root = new SplittableRandom(seed);
        long hostSeed = 0;
        for (int i = 0; i <= index; i++)
        {
            hostSeed = root.nextLong();
        }
        return new SplittableRandom(hostSeed);
    }

    /**
     * @return when the next arrival is due.
     */
    long nextNs()
    {
        return nextNs;
    }

    /**
     * @return requests per arrival.
     */
    int fanout()
    {
        return sizes.length;
    }

    /**
     * Draw the due arrival's requests ({@link #size(int)}, {@link #destination(int)}) and the time of the next one.
     */
    void draw()
    {
        for (int i = 0; i < sizes.length; i++)
        {
            sizes[i] = workload.sample(random.nextDouble());
            destinations[i] = destinationAfter(i);
        }
        nextExactNs += gapNs();
        nextNs = (long)Math.ceil(nextExactNs);
    }

    /**
     * @param request which of the arrival's requests.
     * @return its size, bytes.
     */
    int size(final int request)
    {
        return sizes[request];
    }

    /**
     * @param request which of the arrival's requests.
     * @return its destination's index.
     */
    int destination(final int request)
    {
        return destinations[request];
    }

    /**
     * A uniformly random host other than this one and the {@code taken} ones this arrival already sends to.
     */
    private int destinationAfter(final int taken)
    {
        while (true)
        {
            int destination = random.nextInt(hostCount - 1);
            if (destination >= index)
            {
                destination++;
            }
            boolean fresh = true;
            for (int i = 0; i < taken && fresh; i++)
            {
                fresh = destinations[i] != destination;
            }
            if (fresh)
            {
                return destination;
            }
        }
    }

    private double gapNs()
    {
        return -Math.log(1.0 - random.nextDouble()) * meanGapNs;
    }
}
