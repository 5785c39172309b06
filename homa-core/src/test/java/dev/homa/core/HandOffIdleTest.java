package dev.homa.core;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link HomaEngine#expectsWorkSoon(boolean)} with hand-offs, and the DEDICATED protocol thread's idle spell: while a
 * client awaits its response, or a request is with the server's application, a DEDICATED protocol thread polls
 * instead of sleeping in its driver (the result, or the reply, passes between it and an application thread), where
 * an INVOKER loop, which passes nothing, sleeps; once the RPC is over both sleep again. In virtual time, with drivers
 * that count the sleeps the engine asks of them instead of taking them.
 */
class HandOffIdleTest
{
    private static final int PORT = 100;
    private static final long NEVER_SPIN = 0;
    private static final long MAX_WAIT_NS = 1_000_000;
    /** Long enough for the sockets' commands to be handled, so that an idle step finds nothing due. */
    private static final long SETTLE_NS = 100_000;

    @Test
    @Timeout(60)
    void aDedicatedProtocolThreadPollsWhileAResponseIsAwaitedOrARequestIsWithTheApplication()
    {
        final SleepDriver[] drivers = new SleepDriver[2];
        try (Cluster cluster = new Cluster(Fabric.builder().mode(FabricMode.TIMED).hosts(2).build(), 2, ctx -> {},
            (host, driver) -> drivers[host] = new SleepDriver(driver, true, false)))
        {
            final HomaSocket server = cluster.transport(1).openSocket(PORT);
            final HomaSocket client = cluster.transport(0).openSocket(0);
            cluster.runUntil(() -> false, SETTLE_NS);
            assertFalse(cluster.engine(0).expectsWorkSoon(true), "nothing under way");
            assertEquals(1, sleepsOfOneIdleStep(cluster, drivers, 0, true), "an idle DEDICATED thread sleeps");

            final UnsafeBuffer payload = new UnsafeBuffer(new byte[100]);
            client.homaSend(cluster.address(1), PORT, payload, 0, payload.capacity(), 0);
            final HomaMessage[] request = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (request[0] = server.homaRecv(HomaSocket.RECV_REQUEST)),
                1_000_000_000L));
            assertFalse(cluster.engine(0).expectsWorkSoon(false), "the request is in; no packet is due");
            assertTrue(cluster.engine(0).expectsWorkSoon(true), "the client awaits its response");
            assertTrue(cluster.engine(1).expectsWorkSoon(true), "the request is with the server's application");
            assertEquals(0, sleepsOfOneIdleStep(cluster, drivers, 0, true), "the client's DEDICATED thread polls");
            assertEquals(0, sleepsOfOneIdleStep(cluster, drivers, 1, true), "the server's DEDICATED thread polls");
            assertEquals(1, sleepsOfOneIdleStep(cluster, drivers, 0, false), "an INVOKER loop sleeps");
            assertEquals(1, sleepsOfOneIdleStep(cluster, drivers, 1, false), "an INVOKER loop sleeps");

            server.homaReply(request[0], payload, 0, payload.capacity());
            request[0].release();
            final HomaMessage[] response = new HomaMessage[1];
            assertTrue(cluster.runUntil(() -> null != (response[0] = client.homaRecv(HomaSocket.RECV_RESPONSE)),
                1_000_000_000L));
            response[0].release();
            cluster.runUntil(() -> false, SETTLE_NS);
            assertFalse(cluster.engine(0).expectsWorkSoon(true), "the response was handed over");
            assertFalse(cluster.engine(1).expectsWorkSoon(true), "the reply left the application");
            assertEquals(1, sleepsOfOneIdleStep(cluster, drivers, 0, true), "the RPC is over: it sleeps again");
            assertEquals(1, sleepsOfOneIdleStep(cluster, drivers, 1, true), "the RPC is over: it sleeps again");
            cluster.assertNoErrors();
        }
    }

    /**
     * @return how often the first idle step of a fresh spell, with no idle spin of its own, slept in the driver.
     */
    private static int sleepsOfOneIdleStep(
        final Cluster cluster, final SleepDriver[] drivers, final int host, final boolean handOffs)
    {
        final ProtocolIdleStrategy idle = new ProtocolIdleStrategy(
            cluster.engine(host), cluster.transport(host).context().clock(), NEVER_SPIN, MAX_WAIT_NS, handOffs);
        final int before = drivers[host].sleeps.get();
        idle.idle(0);
        return drivers[host].sleeps.get() - before;
    }
}
