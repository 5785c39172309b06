package dev.homa.core;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricDriver;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricRegistry;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Selecting the driver by URI, the transport owning and closing it on the protocol thread, and blocking receivers
 * idling on their own idle strategy instances.
 */
class DriverOwnershipTest
{
    @Test
    @Timeout(20)
    void driverUriOpensTheDriverAndTheProtocolThreadClosesIt()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build())
        {
            FabricRegistry.register("ownership-test", fabric);
            try
            {
                final FabricDriver driver = fabric.driverAt(0);
                final HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
                    .driverUri("loopback://ownership-test/198.18.0.1")
                    .threadingMode(ThreadingMode.DEDICATED)
                    .idleStrategy(new BackoffIdleStrategy()));
                assertSame(driver, transport.context().driver());
                assertTrue(transport.context().ownsDriver());
                transport.close();
                assertTrue(driver.isClosed(), "driver closed with the transport");
            }
            finally
            {
                FabricRegistry.unregister("ownership-test", fabric);
            }
        }
    }

    @Test
    @Timeout(10)
    void aDriverPassedInStaysTheApplicationsUnlessOwnershipIsGiven()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            final FabricDriver driver = fabric.driverAt(0);
            HomaTransport.launch(new HomaTransport.Context().driver(driver)).close();
            assertFalse(driver.isClosed(), "still open: the application owns it");
            HomaTransport.launch(new HomaTransport.Context().driver(driver).ownsDriver(true)).close();
            assertTrue(driver.isClosed());
        }
    }

    @Test
    @Timeout(10)
    void aBadDriverUriIsAConfigurationError()
    {
        final HomaConfigurationException ex = assertThrows(HomaConfigurationException.class,
            () -> HomaTransport.launch(new HomaTransport.Context().driverUri("carrier-pigeon://coop")));
        assertTrue(ex.getMessage().startsWith("driverUri: unknown driver scheme 'carrier-pigeon'"), ex.getMessage());
    }

    @Test
    @Timeout(20)
    void blockingReceiversIdleOnTheirOwnInstances() throws Exception
    {
        final Set<IdleStrategy> made = ConcurrentHashMap.newKeySet();
        final Set<Thread> threads = ConcurrentHashMap.newKeySet();
        final Supplier<IdleStrategy> supplier = () ->
        {
            threads.add(Thread.currentThread());
            final IdleStrategy idle = new BackoffIdleStrategy();
            made.add(idle);
            return idle;
        };
        final IdleStrategy protocolIdle = new BackoffIdleStrategy();
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build();
            HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
                .driver(fabric.driverAt(0))
                .threadingMode(ThreadingMode.DEDICATED)
                .idleStrategy(protocolIdle)
                .receiveIdleStrategySupplier(supplier)))
        {
            final HomaSocket socket = transport.openSocket(100);
            final Runnable receive = () -> socket.homaRecv(HomaSocket.RECV_ANY, 5, TimeUnit.MILLISECONDS);
            final Thread a = Thread.ofPlatform().start(receive);
            final Thread b = Thread.ofPlatform().start(receive);
            a.join();
            b.join();
            socket.homaRecv(HomaSocket.RECV_ANY, 1, TimeUnit.MILLISECONDS);
            socket.homaRecv(HomaSocket.RECV_ANY, 1, TimeUnit.MILLISECONDS);
            assertEquals(Set.of(a, b, Thread.currentThread()), threads, "one instance per receiving thread");
            assertEquals(3, made.size());
            assertFalse(made.contains(protocolIdle), "the protocol thread's strategy is never shared");
        }
    }
}
