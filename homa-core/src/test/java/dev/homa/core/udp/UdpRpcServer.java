package dev.homa.core.udp;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.nic.HostAddress;
import dev.homa.nic.udp.UdpCounters;
import dev.homa.nic.udp.UdpDriver;
import dev.homa.nic.udp.UdpDriverContext;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.TimeUnit;

/**
 * Child-JVM Homa echo server for {@link UdpRpcEndToEndTest}: a transport on the UDP driver that answers every
 * request with its own bytes until a 4-byte request 0xDEADBEEF says stop. Prints {@code READY} once listening.
 */
public final class UdpRpcServer
{
    /** Request body that stops the server. */
    public static final int STOP = 0xDEAD_BEEF;

    private UdpRpcServer()
    {
    }

    /**
     * @param args UDP bind address {@code a.b.c.d:port} and the Homa port to serve.
     * @throws Exception on failure (exit code 1).
     */
    public static void main(final String[] args) throws Exception
    {
        final UdpDriver driver = new UdpDriver(new UdpDriverContext().bindAddress(HostAddress.parseIpv4(args[0])));
        final int homaPort = Integer.parseInt(args[1]);
        int served = 0;
        try (HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
            .driver(driver)
            .threadingMode(ThreadingMode.DEDICATED)
            .idleStrategy(driver.idleStrategy(100, 50_000L))
            .receivePoolBytes(256L << 20)
            .sendPoolBytes(256L << 20)))
        {
            final HomaSocket socket = transport.openSocket(homaPort);
            final UnsafeBuffer scratch = new UnsafeBuffer(new byte[1_000_000]);
            System.out.println("READY");
            System.out.flush();
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
            while (System.nanoTime() < deadlineNs)
            {
                final HomaMessage request = socket.homaRecv(HomaSocket.RECV_REQUEST, 1, TimeUnit.SECONDS);
                if (null == request)
                {
                    continue;
                }
                final int length = request.length();
                request.getBytes(0, scratch, 0, length);
                if (4 == length && STOP == scratch.getInt(0))
                {
                    request.release();
                    break;
                }
                socket.homaReply(request, scratch, 0, length);
                request.release();
                served++;
            }
            final UdpCounters counters = driver.counters();
            System.out.println("DONE served=" + served + " sent=" + counters.packetsSent() + " received=" +
                counters.packetsReceived() + " gsoSends=" + counters.gsoSends() + " groSuperDatagrams=" +
                counters.groSuperDatagrams() + " drops=" +
                (counters.rxDroppedNoBuffer() + counters.rxDroppedOversize()));
        }
        System.exit(0);
    }
}
