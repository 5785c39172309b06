package dev.homa.bench.sim;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.SwitchPort;

/**
 * The links of the network by tier, in the order a packet between racks crosses them, and how busy each tier is
 * during a window: the share of it that its links spent transmitting (wire bytes of anything: data, control, resent).
 */
enum Tier
{
    /** Each host's link to its ToR (its NIC's transmit side). */
    HOST_UPLINK("uplink"),
    /** Each ToR's ports towards the spines. */
    TOR_UPLINK("tor_up"),
    /** Each spine's ports towards the ToRs. */
    SPINE_DOWNLINK("spine_down"),
    /** Each ToR's port towards a host. */
    HOST_DOWNLINK("downlink");

    /** The name of its columns in {@code summary.csv}. */
    final String column;

    Tier(final String column)
    {
        this.column = column;
    }

    /**
     * @param fabric the network.
     * @return picoseconds each of this tier's links has spent transmitting so far.
     */
    long[] busyPs(final Fabric fabric)
    {
        return switch (this)
        {
            case HOST_UPLINK ->
            {
                final long[] busy = new long[fabric.hostCount()];
                for (int i = 0; i < busy.length; i++)
                {
                    busy[i] = fabric.driverAt(i).nicBusyNs() * 1000L;
                }
                yield busy;
            }
            case TOR_UPLINK -> fabric.torUplinks().stream().mapToLong(SwitchPort::busyPs).toArray();
            case SPINE_DOWNLINK -> fabric.spineDownlinks().stream().mapToLong(SwitchPort::busyPs).toArray();
            case HOST_DOWNLINK -> fabric.hostPorts().stream().mapToLong(SwitchPort::busyPs).toArray();
        };
    }

    /**
     * Restart the peak depths of every switch port (the hosts' and the ToR-spine links').
     *
     * @param fabric the network.
     */
    static void resetPeaks(final Fabric fabric)
    {
        fabric.hostPorts().forEach(SwitchPort::resetPeaks);
        fabric.torUplinks().forEach(SwitchPort::resetPeaks);
        fabric.spineDownlinks().forEach(SwitchPort::resetPeaks);
    }

    /**
     * The busy shares of every tier over one window, taken by events on the fabric's scheduler at its ends.
     */
    static final class Window
    {
        private final Fabric fabric;
        private final long[][] atOpen = new long[values().length][];
        private final double[] shares = new double[2 * values().length];

        /**
         * @param fabric  the network.
         * @param openNs  when the window opens.
         * @param closeNs when it closes.
         */
        Window(final Fabric fabric, final long openNs, final long closeNs)
        {
            this.fabric = fabric;
            fabric.scheduler().schedule(openNs, (nowNs) ->
            {
                for (final Tier tier : values())
                {
                    atOpen[tier.ordinal()] = tier.busyPs(fabric);
                }
            });
            fabric.scheduler().schedule(closeNs, (nowNs) -> close(closeNs - openNs));
        }

        private void close(final long windowNs)
        {
            for (final Tier tier : values())
            {
                final long[] busy = tier.busyPs(fabric);
                double sum = 0;
                double max = 0;
                for (int i = 0; i < busy.length; i++)
                {
                    final double share = (busy[i] - atOpen[tier.ordinal()][i]) / (windowNs * 1000.0);
                    sum += share;
                    max = Math.max(max, share);
                }
                shares[2 * tier.ordinal()] = 0 == busy.length ? 0 : sum / busy.length;
                shares[2 * tier.ordinal() + 1] = max;
            }
        }

        /**
         * @return per tier, in order: the mean busy share of its links over the window, then the largest of one of
         * them (0 for a tier without links; all 0 until the window has closed).
         */
        double[] shares()
        {
            return shares.clone();
        }
    }
}
