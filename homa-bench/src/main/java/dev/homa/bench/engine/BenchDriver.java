package dev.homa.bench.engine;

import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A driver with no medium, for benchmarks: {@link #poll} hands the engine the one packet the benchmark prepared,
 * {@link #send} only counts (and lets an observer look), the pool is a fixed stack of preallocated packets. Nothing
 * allocates after construction.
 */
final class BenchDriver implements NicDriver
{
    /** Looks at every packet the engine sends. */
    interface SendObserver
    {
        void onSend(Packet packet, long destination, int priority);
    }

    static final int MAX_PACKET_LENGTH = 1480;

    private final long address;
    private final Packet[] free = new Packet[256];
    private int freeCount;
    final Packet rx;
    boolean rxReady;
    long sent;
    long sentBytes;
    SendObserver observer;
    /** Whether the engine hands DATA payloads over as gathered pieces (as the UDP driver takes them). */
    boolean gather;

    BenchDriver(final long address)
    {
        this.address = address;
        for (int i = 0; i < free.length; i++)
        {
            free[freeCount++] = new Packet(new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, 64), 0,
                MAX_PACKET_LENGTH), i);
        }
        rx = new Packet(new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, 64), 0, MAX_PACKET_LENGTH), -1);
    }

    public int maxPacketLength()
    {
        return MAX_PACKET_LENGTH;
    }

    public int priorityLevels()
    {
        return 8;
    }

    public long linkBitsPerSecond()
    {
        return 10_000_000_000L;
    }

    public int wireOverheadBytes()
    {
        return 62;
    }

    public long localAddress()
    {
        return address;
    }

    public long queuedBytes()
    {
        return 0;
    }

    public boolean gathersPayload()
    {
        return gather;
    }

    public Packet acquire()
    {
        return 0 == freeCount ? null : free[--freeCount].length(0).clearPayload();
    }

    public void release(final Packet packet)
    {
        if (packet != rx)
        {
            free[freeCount++] = packet;
        }
    }

    public boolean send(final Packet packet, final long destination, final int priority)
    {
        sent++;
        sentBytes += packet.wireLength();
        if (null != observer)
        {
            observer.onSend(packet, destination, priority);
        }
        return true;
    }

    public int flush()
    {
        return 0;
    }

    public int poll(final PacketSink sink, final int limit)
    {
        if (!rxReady || limit < 1)
        {
            return 0;
        }
        rxReady = false;
        sink.onPacket(rx);
        return 1;
    }

    public void close()
    {
    }
}
