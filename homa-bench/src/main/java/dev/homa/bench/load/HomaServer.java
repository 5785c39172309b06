package dev.homa.bench.load;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.nic.HostAddress;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The Homa echo server: one transport, one socket on a Homa port. INVOKER threading (default): one thread runs the
 * protocol and answers between duty cycles, sleeping in the driver when idle, as the TCP servers' one thread sleeps
 * in epoll. DEDICATED: the transport's protocol thread and a thread blocking in {@code homaRecv}. An echo replies
 * with the request itself ({@code homaReply(request, request)}: its receive-pool pages, no copy), as the TCP servers
 * write back the buffer they read into; any other length replies with the server's pattern buffer under the
 * request's header.
 */
final class HomaServer implements AutoCloseable
{
    private final HomaTransport transport;
    private final HomaSocket socket;
    private final UnsafeBuffer echo;
    private final UnsafeBuffer own;
    private final boolean dedicated;

    /**
     * @param uri        the driver URI (udp://IP:PORT, raw://IFNAME).
     * @param homaPort   the server socket's Homa port.
     * @param maxMessage largest request or response.
     * @param dedicated  use the transport's own protocol thread.
     */
    HomaServer(final String uri, final int homaPort, final int maxMessage, final boolean dedicated)
    {
        this.dedicated = dedicated;
        transport = HomaTransport.launch(new HomaTransport.Context().driverUri(uri)
            .threadingMode(dedicated ? ThreadingMode.DEDICATED : ThreadingMode.INVOKER));
        socket = transport.openSocket(homaPort);
        final int capacity = BitUtil.align(maxMessage, 64);
        echo = new UnsafeBuffer(BufferUtil.allocateDirectAligned(capacity, 64));
        own = new UnsafeBuffer(BufferUtil.allocateDirectAligned(capacity, 64));
        LoadMessage.fill(own, capacity, LoadMessage.SERVER_SLOT);
    }

    /**
     * Serve until told to stop.
     *
     * @param stop checked between steps.
     */
    void run(final BooleanSupplier stop)
    {
        if (dedicated)
        {
            while (!stop.getAsBoolean())
            {
                final HomaMessage request = socket.homaRecv(HomaSocket.RECV_REQUEST, 100, TimeUnit.MILLISECONDS);
                if (null != request)
                {
                    answer(request);
                }
            }
            return;
        }
        final IdleStrategy idle = transport.newIdleStrategy();
        while (!stop.getAsBoolean())
        {
            int work = transport.doWork();
            HomaMessage request;
            while (null != (request = socket.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                answer(request);
                work++;
            }
            idle.idle(work);
        }
    }

    private void answer(final HomaMessage request)
    {
        final int length = request.length();
        request.getBytes(0, echo, 0, Math.min(length, LoadMessage.HEADER_LENGTH));
        final int responseLength = length >= LoadMessage.HEADER_LENGTH ? LoadMessage.responseLength(echo, 0) : 0;
        if (responseLength == length)
        {
            // The echo hands the request back as the response: its receive-pool pages go out again, no copy.
            socket.homaReply(request, request);
            return;
        }
        try
        {
            if (responseLength >= LoadMessage.HEADER_LENGTH && responseLength <= own.capacity())
            {
                own.putBytes(0, echo, 0, LoadMessage.HEADER_LENGTH);
                socket.homaReply(request, own, 0, responseLength);
            }
        }
        finally
        {
            request.release();
        }
    }

    /**
     * @return the driver's port (UDP), 0 where the driver has none (raw Ethernet).
     */
    int driverPort()
    {
        return HostAddress.portOf(transport.context().driver().localAddress());
    }

    /**
     * @return the transport's counters.
     */
    HomaMetrics metrics()
    {
        return transport.metrics();
    }

    @Override
    public void close()
    {
        socket.close();
        transport.close();
    }
}
