package dev.homa.nic;

import java.util.function.Consumer;

/**
 * Packet sinks for driver tests that declare what a driver may do for them.
 */
public final class TestSinks
{
    private TestSinks()
    {
    }

    /**
     * @param body                 what to do with each packet (it must release it if it says so below).
     * @param releasesBeforeReturn the sink's {@link PacketSink#releasesBeforeReturn()}.
     * @param needsTimestamps      the sink's {@link PacketSink#needsTimestamps()}.
     * @return the sink.
     */
    public static PacketSink sink(
        final Consumer<Packet> body, final boolean releasesBeforeReturn, final boolean needsTimestamps)
    {
        return new PacketSink()
        {
            @Override
            public void onPacket(final Packet packet)
            {
                body.accept(packet);
            }

            @Override
            public boolean releasesBeforeReturn()
            {
                return releasesBeforeReturn;
            }

            @Override
            public boolean needsTimestamps()
            {
                return needsTimestamps;
            }
        };
    }
}
