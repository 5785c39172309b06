package dev.homa.core;

import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;

import java.util.function.Consumer;

/**
 * A driver that describes its path as a test sets it (a transmit queue or none, the link rate, the packet size, what
 * the receive queue holds; each as the wrapped driver has it until set) and shows each packet it sends to an
 * observer first.
 */
final class PathDriver extends ForwardingNicDriver
{
    private boolean transmitQueue;
    private long linkBitsPerSecond;
    private int maxPacketLength;
    private long receiveQueueBytes;
    private Consumer<Packet> sent = (packet) -> { };

    PathDriver(final NicDriver delegate)
    {
        super(delegate);
        transmitQueue = delegate.hasTransmitQueue();
        linkBitsPerSecond = delegate.linkBitsPerSecond();
        maxPacketLength = delegate.maxPacketLength();
        receiveQueueBytes = delegate.receiveQueueBytes();
    }

    PathDriver transmitQueue(final boolean transmitQueue)
    {
        this.transmitQueue = transmitQueue;
        return this;
    }

    PathDriver linkBitsPerSecond(final long linkBitsPerSecond)
    {
        this.linkBitsPerSecond = linkBitsPerSecond;
        return this;
    }

    PathDriver maxPacketLength(final int maxPacketLength)
    {
        this.maxPacketLength = maxPacketLength;
        return this;
    }

    PathDriver receiveQueueBytes(final long receiveQueueBytes)
    {
        this.receiveQueueBytes = receiveQueueBytes;
        return this;
    }

    PathDriver onSend(final Consumer<Packet> sent)
    {
        this.sent = sent;
        return this;
    }

    @Override
    public boolean hasTransmitQueue()
    {
        return transmitQueue;
    }

    @Override
    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    @Override
    public int maxPacketLength()
    {
        return maxPacketLength;
    }

    @Override
    public long receiveQueueBytes()
    {
        return receiveQueueBytes;
    }

    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        sent.accept(packet);
        return super.send(packet, destination, priority);
    }
}
