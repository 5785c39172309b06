package dev.homa.nic.loopback;

import java.util.SplittableRandom;

/**
 * One switch of a {@link Topology}: picks the egress port of each frame that enters it. A ToR sends a frame for its
 * own rack down to the host and any other up to a spine chosen at random per packet (spraying); a spine sends it
 * down to the destination's ToR. With one rack the only ToR is the whole network's single switch.
 */
final class Switch
{
    private final int rack;
    private final int hostsPerRack;
    private final SplittableRandom spray;
    SwitchPort[] hostPorts;
    SwitchPort[] upPorts;
    SwitchPort[] downPorts;

    private Switch(final int rack, final int hostsPerRack, final long seed)
    {
        this.rack = rack;
        this.hostsPerRack = hostsPerRack;
        this.spray = new SplittableRandom(seed);
    }

    static Switch tor(final int rack, final Topology topology)
    {
        return new Switch(rack, topology.hostsPerRack(), topology.sprayingSeed() * 0x9E3779B97F4A7C15L + rack);
    }

    static Switch spine(final Topology topology)
    {
        return new Switch(-1, topology.hostsPerRack(), 0);
    }

    SwitchPort route(final Frame frame)
    {
        final int destinationRack = frame.destinationIndex / hostsPerRack;
        if (rack < 0)
        {
            return downPorts[destinationRack];
        }
        if (destinationRack == rack)
        {
            return hostPorts[frame.destinationIndex - rack * hostsPerRack];
        }
        return 1 == upPorts.length ? upPorts[0] : upPorts[spray.nextInt(upPorts.length)];
    }
}
