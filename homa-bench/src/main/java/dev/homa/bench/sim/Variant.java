package dev.homa.bench.sim;

import dev.homa.core.HomaTransport;
import dev.homa.core.priority.Cutoffs;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.loopback.Topology;

import java.util.Locale;

/**
 * The transports a simulation compares on one topology and one workload: Homa with its defaults, each ablation of
 * the paper (one change from the defaults), pFabric as the near-ideal reference, and the ideal SRPT that both
 * approximate.
 */
enum Variant
{
    /** The engine's defaults, with the cutoffs its calculator converges to on the workload (see ClusterRun). */
    HOMA("homa", "Homa"),

    /** Switches with one queue: every packet at one priority. */
    ONE_LEVEL("homa-1level", "Homa, 1 priority level"),

    /** No overcommitment: one message granted at a time (K = 1). */
    K1("homa-k1", "Homa, K = 1"),

    /** Receivers grant the oldest message first instead of the one with the fewest bytes left. */
    FIFO_GRANTS("homa-fifo", "Homa, FIFO grants"),

    /** The kernel's static cutoffs (200 / 2,800 / 15,000 bytes) instead of cutoffs computed from the traffic. */
    STATIC_CUTOFFS("homa-static", "Homa, static cutoffs"),

    /** Each receiver computes its cutoffs online from the messages it has seen so far in the run. */
    ONLINE_CUTOFFS("homa-online", "Homa, online cutoffs"),

    /**
     * Incast handling on (the engine's default is off, as the kernel's): a client with more than
     * {@code homa.incast.threshold} RPCs outstanding marks its requests, and the server limits each marked response's
     * unscheduled bytes to {@code homa.incast.unscheduled.bytes}.
     */
    INCAST("homa-incast", "Homa, incast handling on"),

    /** pFabric: rank = bytes left, small buffers dropping the highest rank, line-rate senders, timeouts. */
    PFABRIC("pfabric", "pFabric"),

    /**
     * No transport: a central scheduler's greedy SRPT matching of senders to receivers on the host links, with
     * nothing lost to control, queues or latency beyond the idle network's ({@link IdealMatching}).
     */
    IDEAL("ideal", "Ideal SRPT");

    private final String id;
    private final String label;

    Variant(final String id, final String label)
    {
        this.id = id;
        this.label = label;
    }

    /**
     * @return the name on the command line and in the results.
     */
    String id()
    {
        return id;
    }

    /**
     * @return the name in plots.
     */
    String label()
    {
        return label;
    }

    /**
     * @return true for the Homa engine, false for pFabric and the ideal.
     */
    boolean isHoma()
    {
        return PFABRIC != this && IDEAL != this;
    }

    /**
     * @param spec a variant's id.
     * @return the variant.
     * @throws IllegalArgumentException naming the ids there are.
     */
    static Variant parse(final String spec)
    {
        final String lower = spec.trim().toLowerCase(Locale.ROOT);
        for (final Variant variant : values())
        {
            if (variant.id.equals(lower))
            {
                return variant;
            }
        }
        final StringBuilder ids = new StringBuilder();
        for (final Variant variant : values())
        {
            ids.append(0 == ids.length() ? "" : ", ").append(variant.id);
        }
        throw new IllegalArgumentException("no transport '" + spec + "': the transports are " + ids);
    }

    /**
     * @param base         the topology asked for.
     * @param pfabricBytes buffer of every port for pFabric.
     * @return the topology this variant runs on.
     */
    Topology topology(final Topology base, final long pfabricBytes)
    {
        final Topology.Builder builder = Topology.builder().racks(base.racks()).hostsPerRack(base.hostsPerRack())
            .spines(base.spines()).hostLinkBitsPerSecond(base.hostLinkBitsPerSecond())
            .fabricLinkBitsPerSecond(base.fabricLinkBitsPerSecond()).hostLinkDelayNs(base.hostLinkDelayNs())
            .fabricLinkDelayNs(base.fabricLinkDelayNs()).switchLatencyNs(base.switchLatencyNs())
            .hostPortBufferBytes(base.hostPortBufferBytes()).fabricPortBufferBytes(base.fabricPortBufferBytes())
            .priorityLevels(base.priorityLevels()).discipline(base.discipline()).sprayingSeed(base.sprayingSeed());
        switch (this)
        {
            case ONE_LEVEL -> builder.priorityLevels(1);
            case PFABRIC -> builder.discipline(Topology.QueueDiscipline.RANK).priorityLevels(1)
                .hostPortBufferBytes(pfabricBytes).fabricPortBufferBytes(pfabricBytes);
            default ->
            {
                // The topology as asked.
            }
        }
        return builder.build();
    }

    /**
     * @return true if the run installs the cutoffs computed from the workload on every host (unless the user
     * gave static cutoffs): every variant but those whose one change is the cutoffs.
     */
    boolean usesWorkloadCutoffs()
    {
        return isHoma() && STATIC_CUTOFFS != this && ONLINE_CUTOFFS != this;
    }

    /**
     * Apply this variant's one change to a Homa host's settings.
     *
     * @param ctx              the host's context.
     * @param maxMessageLength the longest message of the run.
     */
    void configure(final HomaTransport.Context ctx, final int maxMessageLength)
    {
        switch (this)
        {
            case K1 -> ctx.overcommit(1);
            case FIFO_GRANTS -> ctx.fifoGrantOrder(true);
            case STATIC_CUTOFFS ->
            {
                final Cutoffs kernel = Cutoffs.kernelDefaults(maxMessageLength);
                final int[] cutoffs = new int[PriorityMapping.LEVELS];
                for (int i = 0; i < cutoffs.length; i++)
                {
                    cutoffs[i] = kernel.cutoff(i);
                }
                ctx.staticCutoffs(cutoffs);
            }
            case INCAST -> ctx.incastEnabled(true);
            default ->
            {
                // Defaults.
            }
        }
    }
}
