package dev.homa.bench.engine;

import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.wire.AckFlyweight;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import org.agrona.BufferUtil;
import org.agrona.concurrent.NanoClock;
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
 * Steady-state cost per packet of the protocol engine's two data paths, each measured as one full duty cycle
 * ({@code transport.doWork()}: command drain, driver poll, timer check, pacer, flush) around one packet, on a
 * {@link BenchDriver} with no medium and a clock advanced by one 10 Gb/s packet time per operation:
 * <ul>
 * <li>{@link #receiveDataPacket(Receiver)}: a 1,400-byte DATA packet of a 1 MB request is validated, placed into the
 * receive pool (reassembly bookkeeping by byte offset), handed to the grant scheduler and a GRANT decided and
 * written. Every 715 packets the request completes, is delivered zero-copy, released, and the fake client's ACK
 * frees the RPC; that per-message work is amortized into the figure.</li>
 * <li>{@link #sendDataPacket(Sender)}: the pacer picks the SRPT head and one 1,424-byte DATA packet of a 1 MB
 * request is built (header + payload copied out of the send pool, or with {@code gather=true} the header only and
 * the payload handed over as pieces of the send pool, as to the UDP driver) and handed to the driver. After the last
 * packet the fake server's 1-byte response completes the RPC and the next request is submitted through the command ring
 * (the 1 MB copy in is amortized too).</li>
 * <li>{@link #memcpyFloor(Floor)}: copying one packet's payload between two off-heap buffers, the least any path must
 * do; the ratio path/floor is the protocol's overhead.</li>
 * </ul>
 * With {@code -prof gc}, {@code gc.alloc.rate.norm} shows the allocation per packet (the goal is 0 B/op).
 * <pre>
 * ./mvnw -B -q -pl homa-bench -am package -DskipTests
 * java -jar homa-bench/target/benchmarks.jar Engine -f 1 -wi 3 -i 5 -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class EngineBenchmark
{
    private static final int PORT = 100;
    private static final int CLIENT_PORT = 40_000;
    private static final int MESSAGE = 1_000_000;
    private static final int PAYLOAD = 1400;
    private static final long PACKET_NS = (PAYLOAD + 56 + 62) * 8L / 10;

    /** A settable clock: virtual time for the engine. */
    static final class ManualClock implements NanoClock
    {
        long nowNs;

        public long nanoTime()
        {
            return nowNs;
        }
    }

    /**
     * Receive side: the engine is a server; the benchmark is a client that streams DATA (ignoring grants, which
     * the engine still computes and sends) and ACKs each completed request.
     */
    @State(Scope.Thread)
    public static class Receiver
    {
        final ManualClock clock = new ManualClock();
        final DataHeaderFlyweight data = new DataHeaderFlyweight();
        final AckFlyweight ack = new AckFlyweight();
        BenchDriver driver;
        HomaTransport transport;
        HomaSocket socket;
        long clientId = 2;
        int offset;
        boolean ackNext;

        /**
         * Build the engine.
         */
        @Setup(Level.Trial)
        public void setup()
        {
            driver = new BenchDriver(HostAddress.ipv4(0xC6120002));
            transport = HomaTransport.launch(new HomaTransport.Context().driver(driver).clock(clock)
                .threadingMode(ThreadingMode.INVOKER).receivePoolBytes(16L << 20).sendPoolBytes(4L << 20));
            socket = transport.openSocket(PORT);
            transport.doWork();
        }

        /**
         * Stop the engine.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            transport.close();
        }
    }

    /**
     * Feed the engine one DATA packet, or the ACK of a completed request, and run one duty cycle.
     *
     * @param s state.
     * @return work done.
     */
    @Benchmark
    public int receiveDataPacket(final Receiver s)
    {
        final Packet rx = s.driver.rx;
        if (s.ackNext)
        {
            s.ack.wrap(rx.buffer(), 0);
            s.ack.initialize(PacketType.ACK, CLIENT_PORT, PORT, s.clientId);
            s.ack.numAcks(0);
            rx.length(AckFlyweight.LENGTH);
            s.ackNext = false;
            s.clientId += 2;
        }
        else
        {
            final int length = Math.min(PAYLOAD, MESSAGE - s.offset);
            final DataHeaderFlyweight data = s.data;
            data.wrap(rx.buffer(), 0);
            data.initialize(PacketType.DATA, CLIENT_PORT, PORT, s.clientId);
            data.messageLength(MESSAGE);
            data.incoming(11_200);
            data.cutoffVersion(1);
            data.segmentOffset(s.offset);
            rx.length(DataHeaderFlyweight.HEADER_LENGTH + length);
            s.offset += length;
        }
        rx.source(HostAddress.ipv4(0xC6120001)).priority(0);
        s.driver.rxReady = true;
        s.clock.nowNs += PACKET_NS;
        final int work = s.transport.doWork();
        if (s.offset >= MESSAGE)
        {
            final HomaMessage request = s.socket.homaRecv(HomaSocket.RECV_REQUEST);
            if (null == request)
            {
                throw new IllegalStateException("request not delivered");
            }
            request.release();
            s.offset = 0;
            s.ackNext = true;
        }
        return work;
    }

    /**
     * Send side: the engine is a client; the benchmark plays a server that answers each fully received request with
     * a one-byte response (unscheduled bytes are set to the whole message so no grants are needed).
     */
    @State(Scope.Thread)
    public static class Sender
    {
        final ManualClock clock = new ManualClock();
        final DataHeaderFlyweight data = new DataHeaderFlyweight();
        final DataHeaderFlyweight observed = new DataHeaderFlyweight();
        BenchDriver driver;
        HomaTransport transport;
        HomaSocket socket;
        UnsafeBuffer payload;
        long inFlightId;
        boolean respond;
        long respondTo;

        /** The payload copied into the packet (false) or handed over from the send pool as gathered pieces. */
        @Param({"false", "true"})
        boolean gather;

        /**
         * Build the engine.
         */
        @Setup(Level.Trial)
        public void setup()
        {
            driver = new BenchDriver(HostAddress.ipv4(0xC6120001));
            driver.gather = gather;
            transport = HomaTransport.launch(new HomaTransport.Context().driver(driver).clock(clock)
                .threadingMode(ThreadingMode.INVOKER).unscheduledBytes(MESSAGE).maxSendBurst(1)
                .receivePoolBytes(4L << 20).sendPoolBytes(16L << 20));
            socket = transport.openSocket(CLIENT_PORT);
            payload = new UnsafeBuffer(BufferUtil.allocateDirectAligned(MESSAGE, 64));
            driver.observer = (packet, destination, priority) ->
            {
                observed.wrap(packet.buffer(), 0);
                if (PacketType.DATA == observed.type() &&
                    observed.segmentOffset() + packet.length() - DataHeaderFlyweight.HEADER_LENGTH >= MESSAGE)
                {
                    respond = true;
                    respondTo = observed.senderId();
                }
            };
            transport.doWork();
        }

        /**
         * Stop the engine.
         */
        @TearDown(Level.Trial)
        public void tearDown()
        {
            transport.close();
        }
    }

    /**
     * Run one duty cycle of the sending engine, first submitting a new request or feeding the response when due.
     *
     * @param s state.
     * @return work done.
     */
    @Benchmark
    public int sendDataPacket(final Sender s)
    {
        if (0 == s.inFlightId)
        {
            s.inFlightId = s.socket.homaSend(HostAddress.ipv4(0xC6120002), PORT, s.payload, 0, MESSAGE, 0);
        }
        if (s.respond)
        {
            final Packet rx = s.driver.rx;
            final DataHeaderFlyweight data = s.data;
            data.wrap(rx.buffer(), 0);
            data.initialize(PacketType.DATA, PORT, CLIENT_PORT, s.respondTo | 1);
            data.messageLength(1);
            data.incoming(1);
            data.cutoffVersion(1);
            data.segmentOffset(0);
            rx.length(DataHeaderFlyweight.HEADER_LENGTH + 1);
            rx.source(HostAddress.ipv4(0xC6120002)).priority(7);
            s.driver.rxReady = true;
            s.respond = false;
        }
        s.clock.nowNs += PACKET_NS;
        final int work = s.transport.doWork();
        final HomaMessage response = s.socket.homaRecv(HomaSocket.RECV_RESPONSE);
        if (null != response)
        {
            response.release();
            s.inFlightId = 0;
        }
        return work;
    }

    /**
     * The floor: copy one packet's payload between off-heap buffers.
     */
    @State(Scope.Thread)
    public static class Floor
    {
        UnsafeBuffer src;
        UnsafeBuffer dst;
        int offset;

        /**
         * Allocate.
         */
        @Setup(Level.Trial)
        public void setup()
        {
            src = new UnsafeBuffer(BufferUtil.allocateDirectAligned(1 << 20, 64));
            dst = new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, 64));
        }
    }

    /**
     * Copy one packet's payload.
     *
     * @param s state.
     * @return a byte of the copy.
     */
    @Benchmark
    public byte memcpyFloor(final Floor s)
    {
        s.offset = (s.offset + PAYLOAD) & ((1 << 19) - 1);
        s.dst.putBytes(0, s.src, s.offset, PAYLOAD);
        return s.dst.getByte(s.offset & 1023);
    }
}
