package dev.homa.bench.engine;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The protocol engine's CPU cost of one small RPC, end to end and on one thread: client {@code homaSend}, both
 * engines' duty cycles, server {@code homaRecv} + {@code homaReply}, client {@code homaRecv}, over an
 * {@link FabricMode#INSTANT} in-memory fabric (a flushed packet is in the peer's queue at once, no wire, no kernel).
 * This is what the engine adds to a round trip on a real network, where the driver benchmark
 * ({@code DriverRttBenchmark}) cannot split it from the kernel's share.
 * <ul>
 * <li>{@link #homaRoundTrip}: the RPC as above, both transports in {@link ThreadingMode#INVOKER} mode.</li>
 * <li>{@link #echoFloor}: the same two packets over the same fabric as a bare driver echo (send, flush, poll on
 * each side, payload copied once per hop): the fabric's own share, so {@code homaRoundTrip - echoFloor} is the
 * engine's.</li>
 * </ul>
 * <p>
 * {@code evictBytes} (default 0) writes one word per cache line of that many bytes after each hop, in both
 * benchmarks alike: on a real network each host's own {@code send(2)} runs the kernel's network stack and leaves
 * the engine's data out of L1, which the hot loop here never sees. {@code homaRoundTrip - echoFloor} at the same
 * {@code evictBytes} is then the engine's cost with the caches as a round trip over veth leaves them.
 * <pre>
 * java -jar homa-bench/target/benchmarks.jar RpcRoundTrip -f 1 -wi 3 -i 5 -prof gc
 * java -jar homa-bench/target/benchmarks.jar 'RpcRoundTrip.*(homaRoundTrip|echoFloor)' -p evictBytes=0,65536,262144
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class RpcRoundTripBenchmark
{
    private static final int SERVER_PORT = 99;
    private static final int PRIORITY = 7;
    private static final int CACHE_LINE_WORDS = 8;

    /**
     * Dirty every cache line of {@code lines}: what a host's own system call does to its caches between two hops.
     */
    static void evict(final long[] lines)
    {
        for (int i = 0; i < lines.length; i += CACHE_LINE_WORDS)
        {
            lines[i]++;
        }
    }

    /**
     * Two hosts on an instant fabric.
     */
    @State(Scope.Thread)
    public static class Hosts
    {
        @Param({"100"})
        int size;

        @Param({"0"})
        int evictBytes;

        long[] evicted;
        Fabric fabric;
        HomaTransport client;
        HomaTransport server;
        HomaSocket clientSocket;
        HomaSocket serverSocket;
        long serverAddress;
        UnsafeBuffer request;
        UnsafeBuffer reply;
        long sequence;

        /**
         * Build the fabric and both transports.
         */
        @Setup(Level.Trial)
        public void setup()
        {
            evicted = new long[evictBytes / Long.BYTES];
            fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
            serverAddress = Fabric.hostAddress(1);
            client = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(0))
                .clock(fabric.clock()).threadingMode(ThreadingMode.INVOKER));
            server = HomaTransport.launch(new HomaTransport.Context().driver(fabric.driverAt(1))
                .clock(fabric.clock()).threadingMode(ThreadingMode.INVOKER));
            clientSocket = client.openSocket(0);
            serverSocket = server.openSocket(SERVER_PORT);
            request = new UnsafeBuffer(BufferUtil.allocateDirectAligned(Math.max(64, size), 64));
            reply = new UnsafeBuffer(BufferUtil.allocateDirectAligned(Math.max(64, size), 64));
        }

        /**
         * Stop both.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            client.close();
            server.close();
            fabric.close();
        }
    }

    /**
     * Make one RPC from the client to the server and back, driving both engines until the response arrives.
     *
     * @param h the hosts.
     * @return the sequence number the response echoes (its first 8 bytes).
     */
    @Benchmark
    public long homaRoundTrip(final Hosts h)
    {
        final long sequence = ++h.sequence;
        h.request.putLong(0, sequence);
        h.clientSocket.homaSend(h.serverAddress, SERVER_PORT, h.request, 0, h.size, sequence);
        evict(h.evicted);
        while (true)
        {
            h.client.doWork();
            h.server.doWork();
            final HomaMessage request = h.serverSocket.homaRecv(HomaSocket.RECV_REQUEST);
            if (null != request)
            {
                try
                {
                    request.getBytes(0, h.reply, 0, request.length());
                    h.serverSocket.homaReply(request, h.reply, 0, request.length());
                }
                finally
                {
                    request.release();
                }
                evict(h.evicted);
                h.server.doWork();
            }
            h.client.doWork();
            final HomaMessage response = h.clientSocket.homaRecv(HomaSocket.RECV_RESPONSE);
            if (null != response)
            {
                try
                {
                    final long echoed = response.segment(0).getLong(0);
                    if (echoed != sequence)
                    {
                        throw new IllegalStateException("response " + echoed + " for request " + sequence);
                    }
                    return echoed;
                }
                finally
                {
                    response.release();
                }
            }
        }
    }

    /**
     * One turn of an idle INVOKER-mode receive loop, {@code doWork} then {@code homaRecv} with nothing arriving: the
     * period at which a busy-polling application looks for a packet, so half of it is the mean delay between a
     * packet's arrival and the engine seeing it.
     *
     * @param h the hosts.
     * @return the work count, for the blackhole.
     */
    @Benchmark
    public long idleTurn(final Hosts h)
    {
        final int work = h.server.doWork();
        return null == h.serverSocket.homaRecv(HomaSocket.RECV_REQUEST) ? work : -1;
    }

    /**
     * The fabric alone: the same two hops as a bare driver echo.
     */
    @State(Scope.Thread)
    public static class Echo implements PacketSink
    {
        @Param({"100"})
        int size;

        @Param({"0"})
        int evictBytes;

        long[] evicted;
        Fabric fabric;
        NicDriver clientDriver;
        NicDriver serverDriver;
        long serverAddress;
        long clientAddress;
        long returned;

        /**
         * Build the fabric.
         */
        @Setup(Level.Trial)
        public void setup()
        {
            evicted = new long[evictBytes / Long.BYTES];
            fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(2).build();
            clientAddress = Fabric.hostAddress(0);
            serverAddress = Fabric.hostAddress(1);
            clientDriver = fabric.driverAt(0);
            serverDriver = fabric.driverAt(1);
        }

        /**
         * Stop it.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            fabric.close();
        }

        @Override
        public void onPacket(final Packet packet)
        {
            if (packet.source() == clientAddress)
            {
                final Packet out = serverDriver.acquire();
                out.buffer().putBytes(0, packet.buffer(), 0, packet.length());
                out.length(packet.length());
                serverDriver.send(out, clientAddress, PRIORITY);
                serverDriver.flush();
                serverDriver.release(out);
                evict(evicted);
            }
            else
            {
                returned = packet.buffer().getLong(0);
            }
            (packet.source() == clientAddress ? serverDriver : clientDriver).release(packet);
        }
    }

    /**
     * Send one packet from the client's driver to the server's and back.
     *
     * @param e the fabric.
     * @return the echoed word.
     */
    @Benchmark
    public long echoFloor(final Echo e)
    {
        final Packet out = e.clientDriver.acquire();
        out.buffer().putLong(0, e.returned + 1);
        out.length(56 + e.size);
        e.clientDriver.send(out, e.serverAddress, PRIORITY);
        e.clientDriver.flush();
        e.clientDriver.release(out);
        evict(e.evicted);
        while (0 == e.serverDriver.poll(e, 16))
        {
            Thread.onSpinWait();
        }
        while (0 == e.clientDriver.poll(e, 16))
        {
            Thread.onSpinWait();
        }
        return e.returned;
    }
}
