package dev.homa.nic.loopback;

import dev.homa.nic.Packet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class FabricSimulationTest
{
    private static final int FRAME_1500 = 1500 - Fabric.DEFAULT_WIRE_OVERHEAD_BYTES;

    /** Echoes every packet back to its source; the initiator counts round trips. */
    private static final class Echo implements Steppable
    {
        private final FabricDriver driver;
        private int received;

        Echo(final FabricDriver driver)
        {
            this.driver = driver;
        }

        @Override
        public int doWork()
        {
            return driver.poll(this::onPacket, 16);
        }

        private void onPacket(final Packet packet)
        {
            received++;
            driver.send(packet, packet.source(), 0);
            driver.flush();
            driver.release(packet);
        }
    }

    @Test
    void pingPongRoundTripsInExactVirtualTime()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(2).packetPoolSize(8)
            .propagationDelayNs(250).build();
        final Echo a = new Echo(fabric.driverAt(0));
        final Echo b = new Echo(fabric.driverAt(1));
        final FabricSimulation simulation = new FabricSimulation(fabric).add(a).add(b);

        final Packet first = fabric.driverAt(0).acquire().length(FRAME_1500);
        fabric.driverAt(0).send(first, fabric.driverAt(1).localAddress(), 0);
        fabric.driverAt(0).flush();
        fabric.driverAt(0).release(first);

        assertTrue(simulation.runUntil(() -> 10 == a.received, 1_000_000_000L));
        // One way: NIC 1200 + 250 + port 1200 + 250 = 2900 ns; a round trip 5800 ns.
        assertEquals(10 * 5800, simulation.nowNs());
        assertEquals(10, b.received);
    }

    @Test
    void advancesToAgentDeadlinesAndStopsAtTheTimeLimit()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).packetPoolSize(2).build();
        final long[] deadline = {1000};
        final int[] fired = new int[1];
        final Steppable timer = new Steppable()
        {
            @Override
            public int doWork()
            {
                if (fabric.clock().nanoTime() >= deadline[0])
                {
                    fired[0]++;
                    deadline[0] += 1000;
                    return 1;
                }
                return 0;
            }

            @Override
            public long nextDeadlineNs()
            {
                return deadline[0];
            }
        };
        final FabricSimulation simulation = new FabricSimulation(fabric).add(timer);
        assertFalse(simulation.runUntil(() -> false, 10_500));
        assertEquals(10, fired[0]);
        assertEquals(10_500, simulation.nowNs());
        simulation.runFor(2_000);
        assertEquals(12, fired[0]);
        assertEquals(12_500, simulation.nowNs());
    }

    @Test
    void returnsWhenNothingIsLeftToHappen()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(1).packetPoolSize(2).build();
        assertFalse(new FabricSimulation(fabric).add(() -> 0).runUntil(() -> false, 1_000_000));
        assertEquals(0, fabric.clock().nanoTime());
    }

    @Test
    void livelockGuardFailsABusyLoop()
    {
        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(1).packetPoolSize(2).build();
        final FabricSimulation spinning = new FabricSimulation(fabric).add(() -> 1).maxRoundsPerInstant(1000);
        assertThrows(IllegalStateException.class, () -> spinning.runUntil(() -> false, 1_000_000));

        final Steppable stale = new Steppable()
        {
            @Override
            public int doWork()
            {
                return 0;
            }

            @Override
            public long nextDeadlineNs()
            {
                return 0;
            }
        };
        final FabricSimulation stuck = new FabricSimulation(fabric).add(stale).maxRoundsPerInstant(1000);
        assertThrows(IllegalStateException.class, () -> stuck.runUntil(() -> false, 1_000_000));
    }
}
