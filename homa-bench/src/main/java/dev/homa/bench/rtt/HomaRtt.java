package dev.homa.bench.rtt;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Homa RPCs over a driver: a request and a response of the payload length each (one DATA packet apiece for small
 * sizes), both transports in {@link ThreadingMode#INVOKER} mode, driven by the measuring thread itself so that no
 * hand-off between threads is measured, and busy-spinning. The server echoes the request bytes as the response.
 */
final class HomaRtt
{
    /** Homa port of the server socket. */
    static final int SERVER_PORT = 99;

    private HomaRtt()
    {
    }

    static RttClient client(final String driverUri, final long server, final RttSetup setup)
    {
        return new Client(NicDrivers.open(driverUri), server, setup);
    }

    static RttServer server(final String driverUri, final RttSetup setup)
    {
        return new Server(NicDrivers.open(driverUri), setup);
    }

    static HomaTransport launch(final NicDriver driver)
    {
        try
        {
            return HomaTransport.launch(new HomaTransport.Context()
                .driver(driver)
                .threadingMode(ThreadingMode.INVOKER));
        }
        catch (final RuntimeException ex)
        {
            driver.close();
            throw ex;
        }
    }

    /**
     * Client side: {@code homaSend}, then run the duty cycle until {@code homaRecv} returns the response.
     */
    static final class Client implements RttClient
    {
        private final NicDriver driver;
        private final HomaTransport transport;
        private final HomaSocket socket;
        private final long server;
        private final int length;
        private final UnsafeBuffer request;
        private final UnsafeBuffer response;

        Client(final NicDriver driver, final long server, final RttSetup setup)
        {
            this.driver = driver;
            this.transport = launch(driver);
            this.socket = transport.openSocket(0);
            this.server = server;
            this.length = setup.payloadLength();
            this.request = new UnsafeBuffer(BufferUtil.allocateDirectAligned(BitUtil.align(length, 64), 64));
            this.response = new UnsafeBuffer(BufferUtil.allocateDirectAligned(BitUtil.align(length, 64), 64));
        }

        @Override
        public long roundTrip(final long sequence, final long timeoutNs)
        {
            final long start = System.nanoTime();
            RttPayload.stamp(request, 0, sequence, start);
            final long id = socket.homaSend(server, SERVER_PORT, request, 0, length, sequence);
            while (true)
            {
                transport.doWork();
                final HomaMessage message = socket.homaRecv(HomaSocket.RECV_RESPONSE);
                if (null != message)
                {
                    final long rttNs = check(message, sequence);
                    if (rttNs >= 0)
                    {
                        return rttNs;
                    }
                }
                else if (System.nanoTime() - start > timeoutNs)
                {
                    socket.abort(id);
                    return -1;
                }
            }
        }

        private long check(final HomaMessage message, final long sequence)
        {
            try
            {
                if (message.isError() || message.length() < RttPayload.MIN_PAYLOAD)
                {
                    return -1;
                }
                message.getBytes(0, response, 0, RttPayload.MIN_PAYLOAD);
                if (sequence != RttPayload.sequence(response, 0))
                {
                    return -1;
                }
                return System.nanoTime() - RttPayload.timestampNs(response, 0);
            }
            finally
            {
                message.release();
            }
        }

        @Override
        public void close()
        {
            // The transport does not own its driver: close both, transport first.
            socket.close();
            transport.close();
            driver.close();
        }
    }

    /**
     * Server side: answer each request with its own bytes.
     */
    static final class Server implements RttServer
    {
        private final NicDriver driver;
        private final HomaTransport transport;
        private final HomaSocket socket;
        private final UnsafeBuffer reply;
        private long answered;

        Server(final NicDriver driver, final RttSetup setup)
        {
            this.driver = driver;
            this.transport = launch(driver);
            this.socket = transport.openSocket(SERVER_PORT);
            final int capacity = BitUtil.align(Math.max(setup.payloadLength(), 64), 64);
            this.reply = new UnsafeBuffer(BufferUtil.allocateDirectAligned(capacity, 64));
        }

        @Override
        public int doWork()
        {
            int work = transport.doWork();
            final HomaMessage request = socket.homaRecv(HomaSocket.RECV_REQUEST);
            if (null != request)
            {
                try
                {
                    final int length = Math.min(request.length(), reply.capacity());
                    request.getBytes(0, reply, 0, length);
                    socket.homaReply(request, reply, 0, length);
                    answered++;
                    work++;
                }
                finally
                {
                    request.release();
                }
            }
            return work;
        }

        @Override
        public long answered()
        {
            return answered;
        }

        @Override
        public void close()
        {
            // The transport does not own its driver: close both, transport first.
            socket.close();
            transport.close();
            driver.close();
        }
    }
}
