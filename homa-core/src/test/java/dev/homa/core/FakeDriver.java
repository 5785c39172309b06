package dev.homa.core;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A driver for unit tests of one engine concept: what the engine sends is recorded as decoded headers and dropped,
 * nothing arrives unless the test queues it, and the transmit queue holds as many bytes as the test says, so a test
 * can put the pacer or the timer in any state. Allocates freely: scaffolding, not a model of a real driver.
 */
final class FakeDriver implements NicDriver
{
    /** One packet the engine sent. */
    record Sent(int type, long id, int offset, int priority, long destination, byte[] bytes)
    {
        /**
         * @return the ack a DATA packet carries: the acknowledged client RPC id, 0 for none.
         */
        long ackId()
        {
            return new DataHeaderFlyweight().wrap(new UnsafeBuffer(bytes), 0).ackClientId();
        }
    }

    static final int MAX_PACKET_LENGTH = 1480;
    static final long LOCAL_ADDRESS = HostAddress.parseIpv4("10.0.0.1");

    final List<Sent> sent = new ArrayList<>();
    final ArrayDeque<Packet> inbound = new ArrayDeque<>();
    /** What {@link #queuedBytes()} answers. */
    long queuedBytes;
    /** A software path: no transmit queue ({@link #hasTransmitQueue()}). */
    boolean software;
    /**
     * Whether to ask the sink where each DATA payload goes before handing the packet over, as the UDP driver does
     * with large datagrams ({@link PacketSink#placePayload}), and copy the payload there.
     */
    boolean placing;
    /** Packets whose payload went where the sink said. */
    int placedPackets;
    /** The sink of the last poll: the engine's. */
    PacketSink sink;
    private final UnsafeBuffer placeView = new UnsafeBuffer(0, 0);
    private final DataHeaderFlyweight data = new DataHeaderFlyweight();
    private long nextHandle;

    /**
     * Queue a packet for the engine's next poll.
     *
     * @param bytes  the Homa packet, from position 0 to its capacity.
     * @param source the host it comes from.
     */
    void deliver(final ByteBuffer bytes, final long source)
    {
        final Packet packet = new Packet(new UnsafeBuffer(new byte[MAX_PACKET_LENGTH]), nextHandle++);
        packet.buffer().putBytes(0, bytes, 0, bytes.capacity());
        inbound.add(packet.length(bytes.capacity()).source(source));
    }

    /**
     * @param type a {@link PacketType}.
     * @return the packets of that type sent so far, in order.
     */
    List<Sent> sent(final int type)
    {
        return sent.stream().filter((packet) -> type == packet.type()).toList();
    }

    @Override
    public int maxPacketLength()
    {
        return MAX_PACKET_LENGTH;
    }

    @Override
    public int priorityLevels()
    {
        return 8;
    }

    @Override
    public boolean hasTransmitQueue()
    {
        return !software;
    }

    @Override
    public long linkBitsPerSecond()
    {
        return 10_000_000_000L;
    }

    @Override
    public int wireOverheadBytes()
    {
        return 62;
    }

    @Override
    public long localAddress()
    {
        return LOCAL_ADDRESS;
    }

    @Override
    public long queuedBytes()
    {
        return queuedBytes;
    }

    @Override
    public Packet acquire()
    {
        return new Packet(new UnsafeBuffer(new byte[MAX_PACKET_LENGTH]), nextHandle++).length(0);
    }

    @Override
    public void release(final Packet packet)
    {
    }

    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        final int type = HomaHeaderFlyweight.typeOf(packet.buffer(), 0);
        final int offset = PacketType.DATA == type ? data.wrap(packet.buffer(), 0).segmentOffset() : -1;
        final byte[] bytes = new byte[packet.length()];
        packet.buffer().getBytes(0, bytes);
        sent.add(new Sent(type, HomaHeaderFlyweight.senderIdOf(packet.buffer(), 0), offset, priority, destination,
            bytes));
        return true;
    }

    @Override
    public int flush()
    {
        return 0;
    }

    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        this.sink = sink;
        int count = 0;
        while (count < limit && !inbound.isEmpty())
        {
            final Packet packet = inbound.poll();
            if (placing && packet.placeFor(sink, placeView))
            {
                placedPackets++;
            }
            sink.onPacket(packet);
            count++;
        }
        return count;
    }

    @Override
    public void close()
    {
    }
}
