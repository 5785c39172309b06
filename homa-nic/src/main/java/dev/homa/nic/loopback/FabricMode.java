package dev.homa.nic.loopback;

/**
 * How the {@link Fabric} moves packets.
 */
public enum FabricMode
{
    /**
     * A flushed packet is in the destination's receive queue at once and is seen by its next poll. No bandwidth, no
     * queues, no delay: for protocol logic tests that care about order, not timing.
     */
    INSTANT,

    /**
     * Packets move in virtual time: serialized by the host NIC at link rate, propagation delay to the switch,
     * strict-priority egress port draining at link rate, propagation delay to the destination.
     */
    TIMED
}
