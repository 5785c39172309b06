package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;

/**
 * Child-JVM echo host for {@link UdpTwoProcessTest}: sends every packet back to its source at the priority it
 * arrived with, until a one-byte packet 0xFF says stop. Prints {@code READY} once bound; gives up after 120 s.
 */
public final class UdpEchoServer
{
    private static final Packet[] HELD = new Packet[256];
    private static int held;
    private static boolean stop;

    private UdpEchoServer()
    {
    }

    /**
     * @param args bind address {@code a.b.c.d:port} and datapath name.
     */
    public static void main(final String[] args)
    {
        final UdpDriverContext context = new UdpDriverContext()
            .bindAddress(HostAddress.parseIpv4(args[0]))
            .datapath(UdpDriverContext.Datapath.valueOf(args[1]));
        try (UdpDriver driver = new UdpDriver(context))
        {
            System.out.println("READY " + HostAddress.toString(driver.localAddress()));
            System.out.flush();
            final long deadlineNs = System.nanoTime() + 120_000_000_000L;
            while (!stop && System.nanoTime() < deadlineNs)
            {
                driver.poll(packet ->
                {
                    if (1 == packet.length() && (byte)0xFF == packet.buffer().getByte(0))
                    {
                        stop = true;
                        driver.release(packet);
                        return;
                    }
                    driver.send(packet, packet.source(), Math.max(0, packet.priority()));
                    HELD[held++] = packet;
                }, HELD.length);
                if (held > 0)
                {
                    driver.flush();
                    for (int i = 0; i < held; i++)
                    {
                        driver.release(HELD[i]);
                        HELD[i] = null;
                    }
                    held = 0;
                }
            }
            final UdpCounters counters = driver.counters();
            System.out.println("DONE sent=" + counters.packetsSent() + " received=" + counters.packetsReceived() +
                " gsoSends=" + counters.gsoSends() + " groSuperDatagrams=" + counters.groSuperDatagrams() +
                " drops=" + (counters.rxDroppedNoBuffer() + counters.rxDroppedOversize()));
        }
        System.exit(stop ? 0 : 4);
    }
}
