package dev.homa.nic.raw;

import java.util.concurrent.TimeUnit;

import dev.homa.nic.HostAddress;
import dev.homa.test.ParentWatchdog;
import dev.homa.nic.Packet;

/**
 * Child-process echo host for the two-JVM test: opens the raw driver from a URI (with {@code netns=} it enters the
 * namespace itself), prints READY, and sends every received packet back to its source at the priority it arrived
 * with, until it has echoed the expected count, its standard input closes (the parent died) or a minute passes.
 * <p>
 * Arguments: driver URI, peer IPv4 address to resolve before READY, number of packets to echo.
 */
public final class RawEchoServer
{
    private static final int BURST = 64;

    private RawEchoServer()
    {
    }

    /**
     * @param args URI, peer address, count.
     */
    public static void main(final String[] args)
    {
        final long peer = HostAddress.parseIpv4(args[1]);
        final long expected = Long.parseLong(args[2]);
        ParentWatchdog.exitWhenParentEnds();

        try (RawEthernetDriver driver = RawEthernetDriver.fromUri(args[0]))
        {
            if (!driver.awaitNeighbour(peer, TimeUnit.SECONDS.toNanos(10)))
            {
                System.out.println("FAILED: cannot resolve " + args[1]);
                System.exit(3);
            }
            System.out.println("READY " + HostAddress.toString(driver.localAddress()));
            final Packet[] batch = new Packet[BURST];
            final int[] count = new int[1];
            long echoed = 0;
            final long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            while (echoed < expected && System.nanoTime() - deadline < 0)
            {
                count[0] = 0;
                driver.poll((packet) -> batch[count[0]++] = packet, BURST);
                for (int i = 0; i < count[0]; i++)
                {
                    driver.send(batch[i], batch[i].source(), batch[i].priority());
                }
                driver.flush();
                for (int i = 0; i < count[0]; i++)
                {
                    driver.release(batch[i]);
                }
                echoed += count[0];
            }
            System.out.println("ECHOED " + echoed + " " + driver.counters());
        }
        System.exit(0);
    }
}
