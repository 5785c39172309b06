package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;

/**
 * Child-JVM body for {@link UdpUnprivilegedTest}: two drivers on loopback exchange one packet per level and check
 * the priority received. Prints {@code OK ...} and exits 0, or {@code FAILED: ...} and exits 3.
 */
public final class UdpUnprivilegedProbe
{
    private UdpUnprivilegedProbe()
    {
    }

    /**
     * @param args ignored.
     */
    public static void main(final String[] args)
    {
        final long loopback = HostAddress.parseIpv4("127.0.0.1");
        try (UdpDriver a = new UdpDriver(new UdpDriverContext().bindAddress(loopback));
            UdpDriver b = new UdpDriver(new UdpDriverContext().bindAddress(loopback)))
        {
            for (int level = 0; level < UdpDriver.PRIORITY_LEVELS; level++)
            {
                final Packet packet = a.acquire().length(40 + level);
                a.send(packet, b.localAddress(), level);
                a.flush();
                a.release(packet);
            }
            final int[] seen = new int[1];
            final long deadlineNs = System.nanoTime() + 10_000_000_000L;
            while (seen[0] < UdpDriver.PRIORITY_LEVELS)
            {
                b.poll(packet ->
                {
                    if (packet.length() - 40 != packet.priority())
                    {
                        throw new IllegalStateException("level " + (packet.length() - 40) + " arrived as " +
                            packet.priority());
                    }
                    seen[0]++;
                    b.release(packet);
                }, 16);
                if (System.nanoTime() > deadlineNs)
                {
                    throw new IllegalStateException("only " + seen[0] + " packets arrived");
                }
            }
            System.out.println("OK steering=" + b.prioritySteering() + " gso=" + a.gsoEnabled() +
                " gro=" + b.groEnabled() + " soPriority7=" + a.socketPriority(7) + " tos7=" + a.socketTos(7) +
                " rcvbuf=" + a.socketReceiveBufferBytes() + ";");
        }
        catch (final Throwable ex)
        {
            System.out.println("FAILED: " + ex + (null == ex.getCause() ? "" : " caused by " + ex.getCause()));
            ex.printStackTrace(System.out);
            System.exit(3);
        }
        System.exit(0);
    }
}
