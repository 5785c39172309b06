package dev.homa.nic.capture;

import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal driver for capture tests: sends are recorded, received packets are whatever the test queued with
 * {@link #deliver}. Allocates freely; it is test scaffolding, not a model of a real driver.
 */
class FakeNicDriver implements NicDriver
{
    record Sent(Packet packet, long destination, int priority)
    {
    }

    static final int MAX_PACKET_LENGTH = 1480;

    final List<Sent> sent = new ArrayList<>();
    final List<Packet> released = new ArrayList<>();
    final ArrayDeque<Packet> inbound = new ArrayDeque<>();
    boolean refuseSends;
    int flushes;
    boolean closed;
    private final long localAddress;
    private long nextHandle;

    FakeNicDriver(final long localAddress)
    {
        this.localAddress = localAddress;
    }

    void deliver(final Packet packet)
    {
        inbound.add(packet);
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
        return localAddress;
    }

    @Override
    public long queuedBytes()
    {
        return 0;
    }

    @Override
    public Packet acquire()
    {
        return new Packet(new UnsafeBuffer(new byte[MAX_PACKET_LENGTH]), nextHandle++).length(0);
    }

    @Override
    public void release(final Packet packet)
    {
        released.add(packet);
    }

    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        if (refuseSends)
        {
            return false;
        }
        sent.add(new Sent(packet, destination, priority));
        return true;
    }

    @Override
    public int flush()
    {
        flushes++;
        return 0;
    }

    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        int count = 0;
        while (count < limit && !inbound.isEmpty())
        {
            sink.onPacket(inbound.poll());
            count++;
        }
        return count;
    }

    @Override
    public void close()
    {
        closed = true;
    }
}
