package dev.homa.core;

import dev.homa.core.wire.PacketType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pacer over a fake driver: DATA waits while the NIC queue is at its cap and then leaves shortest message first;
 * a message below {@code smallMessageBytes} leaves at once whatever the queue holds.
 */
@Timeout(30)
final class PacerTest
{
    private static final long FULL = 1L << 30;

    @Test
    void dataWaitsForTheNicQueueThenLeavesShortestFirst()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            host.driver.queuedBytes = FULL;
            final long longer = host.send(200_000);
            final long shorter = host.send(40_000);
            host.cycle();
            assertEquals(List.of(), host.driver.sent(PacketType.DATA), "nothing paced while the NIC queue is full");

            host.driver.queuedBytes = 0;
            host.cycle();
            host.cycle();
            final List<Long> ids = host.driver.sent(PacketType.DATA).stream().map(FakeDriver.Sent::id).toList();
            final int shorterPackets = (int)ids.stream().filter((id) -> shorter == id).count();
            assertTrue(shorterPackets > 1 && ids.size() > shorterPackets, ids.toString());
            assertEquals(List.of(shorter), ids.subList(0, shorterPackets).stream().distinct().toList(),
                "the shorter message's unscheduled packets go first");
            assertEquals(List.of(longer), ids.subList(shorterPackets, ids.size()).stream().distinct().toList());
        }
    }

    @Test
    void aSmallMessageBypassesAFullNicQueue()
    {
        try (FakeHost host = new FakeHost((ctx) -> ctx.smallMessageBytes(1000)))
        {
            host.driver.queuedBytes = FULL;
            final long small = host.send(999);
            final long large = host.send(5_000);
            host.cycle();
            final List<Long> ids = host.driver.sent(PacketType.DATA).stream().map(FakeDriver.Sent::id).toList();
            assertEquals(List.of(small), ids, "only the small message left");
        }
    }
}
