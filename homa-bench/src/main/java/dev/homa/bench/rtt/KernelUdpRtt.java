package dev.homa.bench.rtt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * The kernel UDP floor: a connected, non-blocking {@link DatagramChannel} on each side, busy-polled with
 * {@code read}/{@code write} (no selector, no blocking wake-ups, no allocation per datagram). The datagram is as long
 * as the UDP driver's for the same payload: a stand-in Homa header plus the payload.
 */
public final class KernelUdpRtt
{
    private KernelUdpRtt()
    {
    }

    /**
     * Client side.
     */
    public static final class Client implements RttClient
    {
        private final DatagramChannel channel;
        private final ByteBuffer out;
        private final ByteBuffer in;
        private final UnsafeBuffer outView;
        private final UnsafeBuffer inView;

        /**
         * Open the client's channel, connected to the server.
         *
         * @param setup where the two sides are; opened in the calling thread's namespace.
         */
        public Client(final RttSetup setup)
        {
            channel = open(setup.clientIp(), setup.clientPort(), setup.serverIp(), setup.serverPort());
            out = ByteBuffer.allocateDirect(setup.homaPacketLength());
            in = ByteBuffer.allocateDirect(65_536);
            outView = new UnsafeBuffer(out);
            inView = new UnsafeBuffer(in);
        }

        @Override
        public long roundTrip(final long sequence, final long timeoutNs)
        {
            final long start = System.nanoTime();
            RttPayload.stamp(outView, RttPayload.HOMA_HEADER_LENGTH, sequence, start);
            try
            {
                out.clear();
                if (0 == channel.write(out))
                {
                    return -1;
                }
                while (true)
                {
                    in.clear();
                    final int length = channel.read(in);
                    if (length >= RttPayload.HOMA_HEADER_LENGTH + RttPayload.MIN_PAYLOAD)
                    {
                        if (sequence == RttPayload.sequence(inView, RttPayload.HOMA_HEADER_LENGTH))
                        {
                            return System.nanoTime() - RttPayload.timestampNs(inView, RttPayload.HOMA_HEADER_LENGTH);
                        }
                    }
                    else if (System.nanoTime() - start > timeoutNs)
                    {
                        return -1;
                    }
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }

        @Override
        public void close()
        {
            closeQuietly(channel);
        }
    }

    /**
     * Server side: echo every datagram.
     */
    public static final class Server implements RttServer
    {
        private final DatagramChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(65_536);
        private long answered;

        /**
         * Open the server's channel, connected to the client.
         *
         * @param setup where the two sides are; opened in the calling thread's namespace.
         */
        public Server(final RttSetup setup)
        {
            channel = open(setup.serverIp(), setup.serverPort(), setup.clientIp(), setup.clientPort());
        }

        @Override
        public int doWork()
        {
            try
            {
                buffer.clear();
                if (channel.read(buffer) <= 0)
                {
                    return 0;
                }
                buffer.flip();
                channel.write(buffer);
                answered++;
                return 1;
            }
            catch (final IOException ex)
            {
                // ECONNREFUSED from an ICMP port-unreachable while the client is not up yet: nothing to answer.
                return 0;
            }
        }

        @Override
        public long answered()
        {
            return answered;
        }

        @Override
        public void close()
        {
            closeQuietly(channel);
        }
    }

    private static DatagramChannel open(
        final String localIp, final int localPort, final String remoteIp, final int remotePort)
    {
        try
        {
            final DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET);
            channel.bind(new InetSocketAddress(localIp, localPort));
            channel.connect(new InetSocketAddress(remoteIp, remotePort));
            channel.configureBlocking(false);
            return channel;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot open UDP " + localIp + ":" + localPort + " -> " + remoteIp + ":" +
                remotePort, ex);
        }
    }

    private static void closeQuietly(final DatagramChannel channel)
    {
        try
        {
            channel.close();
        }
        catch (final IOException ignore)
        {
            // Closing a datagram channel does not fail in a way worth reporting at the end of a benchmark.
        }
    }
}
