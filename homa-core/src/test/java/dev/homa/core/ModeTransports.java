package dev.homa.core;

import dev.homa.nic.loopback.Fabric;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Tests that run one scenario in both threading modes: INVOKER transports on an in-memory fabric, stepped by the
 * test's thread (so its sends and replies run inline), and DEDICATED transports, each with its protocol thread, over
 * UDP on loopback (the fabric is stepped by one thread), so their work goes through the command ring.
 */
final class ModeTransports
{
    private ModeTransports()
    {
    }

    /**
     * @param mode   the threading mode.
     * @param fabric the fabric of INVOKER transports.
     * @param host   the fabric host of an INVOKER transport.
     * @return a launched transport.
     */
    static HomaTransport launch(final ThreadingMode mode, final Fabric fabric, final int host)
    {
        return HomaTransport.launch(ThreadingMode.INVOKER == mode ?
            new HomaTransport.Context().driver(fabric.driverAt(host)).threadingMode(mode) :
            new HomaTransport.Context().driverUri("udp://127.0.0.1:0").threadingMode(mode));
    }

    /**
     * Wait for a message: blocking in DEDICATED mode, stepping every transport's duty cycle in INVOKER mode.
     *
     * @param mode       the threading mode.
     * @param socket     where the message arrives.
     * @param flags      homaRecv flags.
     * @param transports the transports to step.
     * @return the message.
     */
    static HomaMessage receive(
        final ThreadingMode mode, final HomaSocket socket, final int flags, final HomaTransport... transports)
    {
        if (ThreadingMode.DEDICATED == mode)
        {
            final HomaMessage message = socket.homaRecv(flags, 10, TimeUnit.SECONDS);
            assertNotNull(message);
            return message;
        }
        for (int i = 0; i < 100_000; i++)
        {
            for (final HomaTransport transport : transports)
            {
                transport.doWork();
            }
            final HomaMessage message = socket.homaRecv(flags);
            if (null != message)
            {
                return message;
            }
        }
        throw new AssertionError("nothing received");
    }
}
