package dev.homa.examples;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.metrics.MetricsSnapshot;
import dev.homa.nic.HostAddress;
import dev.homa.nic.loopback.DropReason;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricSimulation;
import dev.homa.nic.loopback.Steppable;
import org.HdrHistogram.Histogram;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.SplittableRandom;

/**
 * The README's demo: echo clients and an echo server over the in-memory fabric in timed mode (10 Gb/s links, 250 ns
 * propagation, strict-priority switch ports), all transports in INVOKER mode driven by one simulation loop in
 * virtual time, so the run is deterministic and its latencies are those of the modelled network and protocol, not
 * of this machine. Four clients keep four RPCs each outstanding to one server with a mix of sizes from 100 bytes to
 * 1 MB; every response is checked byte for byte against its request. Prints latency percentiles per size (virtual
 * microseconds, HdrHistogram), the load on the server's link in each direction, and a metrics summary with what it
 * means: why there are retransmissions without loss, and that the server holds no RPC once the acks are in.
 * <p>
 * Properties: {@code homa.demo.rpcs} (default 4000), {@code homa.demo.seed} (default 1).
 */
public final class EchoDemo
{
    private static final int PORT = 80;
    private static final int CLIENTS = 4;
    private static final int WINDOW = 4;
    private static final int[] SIZES = { 100, 1_000, 10_000, 100_000, 1_000_000 };
    private static final int[] WEIGHTS = { 40, 30, 20, 9, 1 };

    private EchoDemo()
    {
    }

    /**
     * Run the demo and print its report.
     *
     * @param args ignored; see the class comment for properties.
     */
    public static void main(final String[] args)
    {
        final int rpcs = Integer.getInteger("homa.demo.rpcs", 4_000);
        final long seed = Long.getLong("homa.demo.seed", 1L);
        final long wallStartNs = System.nanoTime();

        final Fabric fabric = Fabric.builder().mode(FabricMode.TIMED).hosts(CLIENTS + 1).build();
        final FabricSimulation sim = new FabricSimulation(fabric);
        final HomaTransport[] transports = new HomaTransport[CLIENTS + 1];
        for (int i = 0; i <= CLIENTS; i++)
        {
            final HomaTransport transport = HomaTransport.launch(new HomaTransport.Context()
                .driver(fabric.driverAt(i))
                .clock(fabric.clock())
                .threadingMode(ThreadingMode.INVOKER)
                .receivePoolBytes(32L << 20)
                .sendPoolBytes(32L << 20));
            transports[i] = transport;
            sim.add(new Steppable()
            {
                public int doWork()
                {
                    return transport.doWork();
                }

                public long nextDeadlineNs()
                {
                    return transport.nextDeadlineNs();
                }
            });
        }

        final long serverAddress = Fabric.hostAddress(CLIENTS);
        sim.add(new EchoServer(transports[CLIENTS].openSocket(PORT)));
        final Histogram[] latency = new Histogram[SIZES.length];
        for (int i = 0; i < SIZES.length; i++)
        {
            latency[i] = new Histogram(3_600_000_000L, 3);
        }
        final UnsafeBuffer source = new UnsafeBuffer(new byte[1_000_000 + 4096]);
        final SplittableRandom fill = new SplittableRandom(seed);
        for (int i = 0; i < source.capacity(); i++)
        {
            source.putByte(i, (byte)fill.nextInt());
        }
        final int[] issued = new int[1];
        final int[] completed = new int[1];
        for (int c = 0; c < CLIENTS; c++)
        {
            sim.add(new EchoClient(transports[c].openSocket(0), serverAddress, sim, source,
                new SplittableRandom(seed * 31 + c), rpcs, issued, completed, latency));
        }

        final boolean done = sim.runUntil(() -> completed[0] == rpcs, 3_600_000_000_000L);
        final long virtualNs = sim.nowNs();
        // The last responses' acks are still on their way (a client piggybacks them on its next request, or answers
        // the server's NEED_ACK after 2 ticks): give them 10 ms so that the server's state is what it settles to.
        sim.runFor(10_000_000L);
        final long wallMs = (System.nanoTime() - wallStartNs) / 1_000_000;

        System.out.printf("Homa echo demo: %d RPCs from %d clients (%d outstanding each) to one server, in-memory " +
            "fabric, timed mode, %d Gb/s links, virtual time%n", completed[0], CLIENTS, WINDOW,
            fabric.linkBitsPerSecond() / 1_000_000_000L);
        System.out.println("Round-trip latency in virtual microseconds (request and echoed response, checked byte " +
            "for byte):");
        System.out.printf("%10s %7s %10s %10s %10s %10s %10s%n", "size", "count", "p50", "p90", "p99", "p99.9", "max");
        long payloadBytes = 0;
        for (int i = 0; i < SIZES.length; i++)
        {
            final Histogram h = latency[i];
            payloadBytes += 2L * SIZES[i] * h.getTotalCount();
            if (0 == h.getTotalCount())
            {
                continue;
            }
            System.out.printf("%10s %7d %10.1f %10.1f %10.1f %10.1f %10.1f%n", human(SIZES[i]), h.getTotalCount(),
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3);
        }
        // Every byte of payload crosses the server's link twice, in as a request and out as its echo: each direction
        // carries half of it, and a full-duplex link carries up to its rate each way.
        final double perDirectionGbps = payloadBytes / 2 * 8.0 / Math.max(1, virtualNs);
        System.out.printf("virtual time %.3f ms, payload %,d bytes both ways; the server's link carried %.2f Gb/s " +
            "in and %.2f Gb/s out of %d Gb/s each way; wall time %d ms%n", virtualNs / 1e6, payloadBytes,
            perDirectionGbps, perDirectionGbps, fabric.linkBitsPerSecond() / 1_000_000_000L, wallMs);

        final MetricsSnapshot server = transports[CLIENTS].metrics().snapshot();
        MetricsSnapshot clients = transports[0].metrics().snapshot();
        for (int c = 1; c < CLIENTS; c++)
        {
            clients = add(clients, transports[c].metrics().snapshot());
        }
        System.out.println("Metrics (server | all clients):");
        final String[] names = {
            "packets_sent.DATA", "packets_received.DATA", "packets_sent.GRANT", "packets_received.GRANT",
            "packets_sent.CUTOFFS", "packets_sent.RESEND", "packets_sent.BUSY", "packets_sent.NEED_ACK",
            "packets_sent.ACK", "packets_sent.priority7", "packets_sent.priority6", "packets_sent.priority5",
            "packets_sent.priority4", "packets_sent.priority0", "retransmitted_packets", "client_rpcs_completed",
            "server_rpcs_created", "server_rpcs_acked", "client_timeouts", "pacer_throttled", "incast_marked_requests",
            "errors" };
        for (final String name : names)
        {
            System.out.printf("  %-28s %12d | %12d%n", name, server.get(name), clients.get(name));
        }
        final long drops = fabric.drops();
        System.out.printf("The fabric dropped %d packets (%d at full switch ports). Retransmissions without loss are " +
            "Homa's own choice: a 1 MB request that SRPT holds back on its client behind shorter ones for %d ticks " +
            "draws RESENDs from the server, and part of what they ask for is already on its way (%,d duplicate " +
            "bytes reached the server).%n", drops, fabric.drops(DropReason.PORT_FULL),
            transports[CLIENTS].context().resendTicks(), server.get("duplicate_bytes"));
        System.out.printf("server after 10 ms more: %d live RPCs (each ends with its client's ack), %d receive " +
            "pages in use%n", transports[CLIENTS].metrics().get(HomaMetrics.ACTIVE_RPCS),
            transports[CLIENTS].metrics().get(HomaMetrics.RECEIVE_PAGES_IN_USE));

        for (final HomaTransport transport : transports)
        {
            transport.close();
        }
        fabric.close();
        if (!done)
        {
            throw new IllegalStateException("demo did not finish: " + completed[0] + "/" + rpcs + " RPCs");
        }
    }

    private static MetricsSnapshot add(final MetricsSnapshot a, final MetricsSnapshot b)
    {
        // a + b == a - (0 - b): MetricsSnapshot only offers minus.
        return a.minus(b.minus(b).minus(b));
    }

    private static String human(final int bytes)
    {
        return bytes >= 1_000_000 ? bytes / 1_000_000 + " MB" : bytes >= 1_000 ? bytes / 1_000 + " KB" : bytes + " B";
    }

    private static int sample(final SplittableRandom random)
    {
        int pick = random.nextInt(100);
        for (int i = 0; i < WEIGHTS.length; i++)
        {
            pick -= WEIGHTS[i];
            if (pick < 0)
            {
                return i;
            }
        }
        return 0;
    }

    private static final class EchoServer implements Steppable
    {
        private final HomaSocket socket;
        private final UnsafeBuffer scratch = new UnsafeBuffer(new byte[1_000_000]);

        EchoServer(final HomaSocket socket)
        {
            this.socket = socket;
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage request;
            while (null != (request = socket.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                final int length = request.length();
                request.getBytes(0, scratch, 0, length);
                socket.homaReply(request, scratch, 0, length);
                request.release();
                work++;
            }
            return work;
        }
    }

    private static final class EchoClient implements Steppable
    {
        private final HomaSocket socket;
        private final long server;
        private final FabricSimulation sim;
        private final UnsafeBuffer source;
        private final SplittableRandom random;
        private final int total;
        private final int[] issued;
        private final int[] completed;
        private final Histogram[] latency;
        private final Long2LongHashMap startNs = new Long2LongHashMap(-1);
        private final Long2LongHashMap offsetAndClass = new Long2LongHashMap(-1);

        EchoClient(
            final HomaSocket socket,
            final long server,
            final FabricSimulation sim,
            final UnsafeBuffer source,
            final SplittableRandom random,
            final int total,
            final int[] issued,
            final int[] completed,
            final Histogram[] latency)
        {
            this.socket = socket;
            this.server = server;
            this.sim = sim;
            this.source = source;
            this.random = random;
            this.total = total;
            this.issued = issued;
            this.completed = completed;
            this.latency = latency;
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage response;
            while (null != (response = socket.homaRecv(HomaSocket.RECV_RESPONSE)))
            {
                if (response.isError())
                {
                    throw new IllegalStateException("RPC failed: " + response, response.error());
                }
                final long id = response.id();
                final long packed = offsetAndClass.remove(id);
                final int sizeClass = (int)(packed & 0xFF);
                final int offset = (int)(packed >>> 8);
                verify(response, offset, SIZES[sizeClass]);
                latency[sizeClass].recordValue(sim.nowNs() - startNs.remove(id));
                response.release();
                completed[0]++;
                work++;
            }
            while (startNs.size() < WINDOW && issued[0] < total)
            {
                final int sizeClass = sample(random);
                final int offset = random.nextInt(4096);
                final long id = socket.homaSend(server, PORT, source, offset, SIZES[sizeClass], 0);
                startNs.put(id, sim.nowNs());
                offsetAndClass.put(id, ((long)offset << 8) | sizeClass);
                issued[0]++;
                work++;
            }
            return work;
        }

        private void verify(final HomaMessage response, final int offset, final int length)
        {
            if (response.length() != length)
            {
                throw new IllegalStateException("response length " + response.length() + " != " + length);
            }
            int position = 0;
            for (int s = 0; s < response.segmentCount(); s++)
            {
                final org.agrona.DirectBuffer segment = response.segment(s);
                final int n = segment.capacity();
                int i = 0;
                for (; i + 8 <= n; i += 8)
                {
                    if (segment.getLong(i) != source.getLong(offset + position + i))
                    {
                        throw new IllegalStateException("response differs near byte " + (position + i) + " from " +
                            HostAddress.toString(server));
                    }
                }
                for (; i < n; i++)
                {
                    if (segment.getByte(i) != source.getByte(offset + position + i))
                    {
                        throw new IllegalStateException("response differs at byte " + (position + i));
                    }
                }
                position += n;
            }
        }
    }
}
