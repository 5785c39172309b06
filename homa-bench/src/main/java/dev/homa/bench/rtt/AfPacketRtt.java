package dev.homa.bench.rtt;

import dev.homa.bench.driver.AfPacketSocket;
import dev.homa.nic.HostAddress;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.FrameRejectReason;
import dev.homa.nic.frame.HomaFrameReader;
import dev.homa.nic.frame.HomaFrameWriter;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The AF_PACKET floor: the raw driver's frames (Ethernet + 802.1Q tag + IPv4 protocol 146 + a Homa-sized packet),
 * sent with one {@code send(2)} and received from a {@code TPACKET_V2} ring (or with {@code recv(2, MSG_DONTWAIT)})
 * in a busy loop. The server parses the
 * frame with the same reader the driver uses (checksum included) and answers with a freshly written tagged frame, as
 * the driver would: the floor does the work any frame echo must do, nothing more.
 */
public final class AfPacketRtt
{
    /** Priority level of every frame (Homa sends small messages at the top level). */
    static final int PRIORITY = 7;

    private AfPacketRtt()
    {
    }

    /**
     * Client side.
     */
    public static final class Client implements RttClient
    {
        private final AfPacketSocket socket;
        private final HomaFrameReader reader = new HomaFrameReader();
        private final int frameLength;
        private final int payloadOffset;

        /**
         * Open the client's socket on its interface and write the frame it sends.
         *
         * @param setup  where the two sides are; opened in the calling thread's namespace.
         * @param rxRing receive from a TPACKET_V2 ring rather than with recv(2).
         */
        public Client(final RttSetup setup, final boolean rxRing)
        {
            socket = AfPacketSocket.open(setup.clientInterface(), true, rxRing);
            final UnsafeBuffer frame = socket.sendBuffer();
            final int homaLength = setup.homaPacketLength();
            new HomaFrameWriter().writeHeaders(frame, 0, RttPayload.parseMac(setup.serverMac()),
                RttPayload.parseMac(setup.clientMac()), ipv4(setup.clientIp()), ipv4(setup.serverIp()), homaLength,
                PRIORITY, 1);
            frame.setMemory(FrameLayout.TAGGED_HEADER_LENGTH, homaLength, (byte)0);
            frameLength = FrameLayout.TAGGED_HEADER_LENGTH + homaLength;
            payloadOffset = FrameLayout.TAGGED_HEADER_LENGTH + RttPayload.HOMA_HEADER_LENGTH;
        }

        @Override
        public long roundTrip(final long sequence, final long timeoutNs)
        {
            final long start = System.nanoTime();
            RttPayload.stamp(socket.sendBuffer(), payloadOffset, sequence, start);
            if (!socket.send(frameLength))
            {
                return -1;
            }
            final UnsafeBuffer in = socket.receiveBuffer();
            while (true)
            {
                final int length = socket.receive();
                if (length > 0 && FrameRejectReason.NONE == reader.read(in, 0, length))
                {
                    final int payload = reader.homaOffset() + RttPayload.HOMA_HEADER_LENGTH;
                    if (sequence == RttPayload.sequence(in, payload))
                    {
                        return System.nanoTime() - RttPayload.timestampNs(in, payload);
                    }
                }
                else if (System.nanoTime() - start > timeoutNs)
                {
                    return -1;
                }
            }
        }

        @Override
        public void close()
        {
            socket.close();
        }
    }

    /**
     * Server side: echo every Homa frame back to its sender.
     */
    public static final class Server implements RttServer
    {
        private final AfPacketSocket socket;
        private final HomaFrameReader reader = new HomaFrameReader();
        private final HomaFrameWriter writer = new HomaFrameWriter();
        private final int localIp;
        private int ipId;
        private long answered;

        /**
         * Open the server's socket on its interface.
         *
         * @param setup  where the two sides are; opened in the calling thread's namespace.
         * @param rxRing receive from a TPACKET_V2 ring rather than with recv(2).
         */
        public Server(final RttSetup setup, final boolean rxRing)
        {
            socket = AfPacketSocket.open(setup.serverInterface(), true, rxRing);
            localIp = ipv4(setup.serverIp());
        }

        @Override
        public int doWork()
        {
            final int length = socket.receive();
            if (0 == length)
            {
                return 0;
            }
            final UnsafeBuffer in = socket.receiveBuffer();
            if (FrameRejectReason.NONE != reader.read(in, 0, length) || localIp != reader.destinationIpv4())
            {
                return 0;
            }
            final UnsafeBuffer out = socket.sendBuffer();
            final int homaLength = reader.homaLength();
            writer.writeHeaders(out, 0, reader.sourceMac(), reader.destinationMac(), localIp, reader.sourceIpv4(),
                homaLength, PRIORITY, ipId++);
            out.putBytes(FrameLayout.TAGGED_HEADER_LENGTH, in, reader.homaOffset(), homaLength);
            socket.send(FrameLayout.TAGGED_HEADER_LENGTH + homaLength);
            answered++;
            return 1;
        }

        @Override
        public long answered()
        {
            return answered;
        }

        @Override
        public void close()
        {
            socket.close();
        }
    }

    static int ipv4(final String dotted)
    {
        return HostAddress.ipv4Of(HostAddress.parseIpv4(dotted));
    }
}
