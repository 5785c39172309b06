package dev.homa.bench.rtt;

import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;

/**
 * A {@link NicDriver} used as a bare echo, without the Homa protocol: the client sends one packet holding a stand-in
 * Homa header and the stamped payload, the server sends each packet it receives back to its source. The difference
 * to the matching floor is the driver's own cost (rings, pools, batching), with nothing of the engine in it.
 */
public final class DriverEchoRtt
{
    /** Priority level of every packet. */
    static final int PRIORITY = 7;
    private static final int POLL_LIMIT = 64;

    private DriverEchoRtt()
    {
    }

    /**
     * Client side.
     */
    public static final class Client implements RttClient, PacketSink
    {
        private final NicDriver driver;
        private final long server;
        private final int packetLength;
        private long expected;
        private long rttNs;

        /**
         * A client that sends its packets through a driver.
         *
         * @param driver opened in the client's namespace, on the thread that will call {@link #roundTrip}.
         * @param server {@link dev.homa.nic.HostAddress} of the server (with the port for UDP).
         * @param setup  sizes.
         */
        public Client(final NicDriver driver, final long server, final RttSetup setup)
        {
            this.driver = driver;
            this.server = server;
            this.packetLength = setup.homaPacketLength();
            if (packetLength > driver.maxPacketLength())
            {
                throw new IllegalArgumentException("packet of " + packetLength + " bytes exceeds the driver's " +
                    driver.maxPacketLength());
            }
        }

        @Override
        public long roundTrip(final long sequence, final long timeoutNs)
        {
            final Packet packet = driver.acquire();
            if (null == packet)
            {
                return -1;
            }
            final long start = System.nanoTime();
            packet.buffer().setMemory(0, RttPayload.HOMA_HEADER_LENGTH, (byte)0);
            RttPayload.stamp(packet.buffer(), RttPayload.HOMA_HEADER_LENGTH, sequence, start);
            packet.length(packetLength);
            expected = sequence;
            rttNs = -1;
            driver.send(packet, server, PRIORITY);
            driver.flush();
            driver.release(packet);
            while (rttNs < 0)
            {
                if (0 == driver.poll(this, POLL_LIMIT) && System.nanoTime() - start > timeoutNs)
                {
                    return -1;
                }
            }
            return rttNs;
        }

        @Override
        public void onPacket(final Packet packet)
        {
            if (packet.length() >= RttPayload.HOMA_HEADER_LENGTH + RttPayload.MIN_PAYLOAD &&
                expected == RttPayload.sequence(packet.buffer(), RttPayload.HOMA_HEADER_LENGTH))
            {
                rttNs = System.nanoTime() - RttPayload.timestampNs(packet.buffer(), RttPayload.HOMA_HEADER_LENGTH);
            }
            driver.release(packet);
        }

        @Override
        public void close()
        {
            driver.close();
        }
    }

    /**
     * Server side: every received packet goes back to its source, flushed once per poll burst.
     */
    public static final class Server implements RttServer, PacketSink
    {
        private final NicDriver driver;
        private final Packet[] held = new Packet[POLL_LIMIT];
        private int heldCount;
        private long answered;

        /**
         * A server that echoes through a driver.
         *
         * @param driver opened in the server's namespace, on the thread that will call {@link #doWork()}.
         */
        public Server(final NicDriver driver)
        {
            this.driver = driver;
        }

        @Override
        public int doWork()
        {
            final int received = driver.poll(this, POLL_LIMIT);
            if (heldCount > 0)
            {
                driver.flush();
                for (int i = 0; i < heldCount; i++)
                {
                    driver.release(held[i]);
                    held[i] = null;
                }
                heldCount = 0;
            }
            return received;
        }

        @Override
        public void onPacket(final Packet packet)
        {
            // send() does not take ownership and wants the bytes stable until the flush: hold them until then.
            driver.send(packet, packet.source(), PRIORITY);
            held[heldCount++] = packet;
            answered++;
        }

        @Override
        public long answered()
        {
            return answered;
        }

        @Override
        public void close()
        {
            driver.close();
        }
    }
}
