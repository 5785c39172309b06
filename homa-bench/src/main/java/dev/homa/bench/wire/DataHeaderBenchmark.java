package dev.homa.bench.wire;

import java.util.concurrent.TimeUnit;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketDecoder;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.RejectReason;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Cost of writing and of validating + reading a DATA header (56 bytes, kernel layout) over a preallocated
 * off-heap buffer, as the send and receive paths do once per packet; with {@code -prof gc} the
 * {@code gc.alloc.rate.norm} of every benchmark must be about 0 B/op.
 * <p>
 * {@link #baselinePutGetLong()} is the floor: one big-endian {@code putLong} and {@code getLong} on the same buffer.
 * <pre>
 * ./mvnw -B -q -pl homa-bench -am package -DskipTests
 * java -jar homa-bench/target/benchmarks.jar DataHeader -f 1 -wi 3 -i 5 -prof gc
 * </pre>
 * The segment offset and sender id change on every operation so the JIT cannot fold the header into constants.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class DataHeaderBenchmark
{
    private static final int MESSAGE_LENGTH = 1_000_000;
    private static final int PAYLOAD_LENGTH = 1400;
    private static final int PACKET_LENGTH = DataHeaderFlyweight.HEADER_LENGTH + PAYLOAD_LENGTH;
    private static final int LAST_SEGMENT_OFFSET = MESSAGE_LENGTH - PAYLOAD_LENGTH;

    private final DataHeaderFlyweight encoder = new DataHeaderFlyweight();
    private final DataHeaderFlyweight reader = new DataHeaderFlyweight();
    private final PacketDecoder decoder = new PacketDecoder(MESSAGE_LENGTH);
    private UnsafeBuffer buffer;
    private int segmentOffset;
    private long senderId;

    /**
     * Preallocate the packet buffer (cache-line aligned, off heap, as a driver's pool slot) and write one header so
     * that {@link #decode()} alone has a valid packet to read.
     */
    @Setup
    public void setup()
    {
        buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, 64));
        encoder.wrap(buffer, 0);
        reader.wrap(buffer, 0);
        senderId = 2;
        encode();
    }

    /**
     * Send side: a fresh DATA header with every field set.
     *
     * @return a value derived from the work, so it is not dead code.
     */
    @Benchmark
    public int encode()
    {
        final int offset = nextSegmentOffset();
        encoder
            .initialize(PacketType.DATA, 40_000, 4000, senderId)
            .messageLength(MESSAGE_LENGTH)
            .incoming(Math.min(offset + 40_000, MESSAGE_LENGTH))
            .ackClientId(senderId - 2)
            .ackServerPort(4000)
            .cutoffVersion(1)
            .retransmit(false)
            .segmentOffset(offset);
        return offset;
    }

    /**
     * Receive side: validate, then read every DATA field through the flyweight.
     *
     * @return a value derived from every field read.
     */
    @Benchmark
    public long decode()
    {
        if (RejectReason.NONE != decoder.validate(buffer, 0, PACKET_LENGTH))
        {
            return -1;
        }
        return readAll();
    }

    /**
     * Both sides on the same buffer, as a loopback hop does.
     *
     * @return a value derived from every field read.
     */
    @Benchmark
    public long encodeAndDecode()
    {
        encode();
        return decode();
    }

    /**
     * The floor: one big-endian put and get of a long on the same buffer.
     *
     * @return the value read back.
     */
    @Benchmark
    public long baselinePutGetLong()
    {
        buffer.putLong(HomaHeaderFlyweight.SENDER_ID_OFFSET, ++senderId, BIG_ENDIAN);
        return buffer.getLong(HomaHeaderFlyweight.SENDER_ID_OFFSET, BIG_ENDIAN);
    }

    private long readAll()
    {
        return reader.sourcePort() + reader.destinationPort() + reader.type() + reader.flags() + reader.senderId() +
            reader.messageLength() + reader.incoming() + reader.ackClientId() + reader.ackServerPort() +
            reader.cutoffVersion() + (reader.retransmit() ? 1 : 0) + reader.segmentOffset();
    }

    private int nextSegmentOffset()
    {
        senderId += 2;
        final int next = segmentOffset + PAYLOAD_LENGTH;
        segmentOffset = next > LAST_SEGMENT_OFFSET ? 0 : next;
        return segmentOffset;
    }
}
