package dev.homa.bench.load;

import dev.homa.nic.PacketSink;

/**
 * A sink that reads each packet where the driver lends it and wants no receive timestamps: the least work per packet,
 * for the runners that measure a driver without a protocol.
 */
abstract class InPlaceSink implements PacketSink
{
    @Override
    public boolean needsTimestamps()
    {
        return false;
    }

    @Override
    public boolean releasesBeforeReturn()
    {
        return true;
    }
}
