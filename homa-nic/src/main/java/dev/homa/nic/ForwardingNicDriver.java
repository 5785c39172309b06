package dev.homa.nic;

import java.util.Objects;

/**
 * Base for {@link NicDriver} decorators: every method forwards to the wrapped driver, so a decorator overrides only
 * what it changes (a capture records in {@code send} and {@code poll}, a test driver fails a {@code flush}).
 */
public abstract class ForwardingNicDriver implements NicDriver
{
    /** The driver that moves the packets. */
    protected final NicDriver delegate;

    /**
     * Wrap a driver.
     *
     * @param delegate the driver that moves the packets.
     */
    protected ForwardingNicDriver(final NicDriver delegate)
    {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /**
     * {@return the wrapped driver}
     */
    public NicDriver delegate()
    {
        return delegate;
    }

    @Override
    public int maxPacketLength()
    {
        return delegate.maxPacketLength();
    }

    @Override
    public int priorityLevels()
    {
        return delegate.priorityLevels();
    }

    @Override
    public long linkBitsPerSecond()
    {
        return delegate.linkBitsPerSecond();
    }

    @Override
    public int wireOverheadBytes()
    {
        return delegate.wireOverheadBytes();
    }

    @Override
    public int counterCount()
    {
        return delegate.counterCount();
    }

    @Override
    public String counterName(final int index)
    {
        return delegate.counterName(index);
    }

    @Override
    public long counterValue(final int index)
    {
        return delegate.counterValue(index);
    }

    @Override
    public String destinationError(final long destination)
    {
        return delegate.destinationError(destination);
    }

    @Override
    public long localAddress()
    {
        return delegate.localAddress();
    }

    @Override
    public boolean carriesIpProtocol146()
    {
        return delegate.carriesIpProtocol146();
    }

    @Override
    public boolean sendPortUnreachable(final Packet received)
    {
        return delegate.sendPortUnreachable(received);
    }

    @Override
    public long queuedBytes()
    {
        return delegate.queuedBytes();
    }

    @Override
    public boolean hasTransmitQueue()
    {
        return delegate.hasTransmitQueue();
    }

    @Override
    public long receiveQueueBytes()
    {
        return delegate.receiveQueueBytes();
    }

    @Override
    public long receiveDrops()
    {
        return delegate.receiveDrops();
    }

    @Override
    public boolean completesChecksum()
    {
        return delegate.completesChecksum();
    }

    @Override
    public boolean gathersPayload()
    {
        return delegate.gathersPayload();
    }

    @Override
    public boolean canAwaitReadable()
    {
        return delegate.canAwaitReadable();
    }

    @Override
    public int awaitReadable(final long maxWaitNs)
    {
        return delegate.awaitReadable(maxWaitNs);
    }

    @Override
    public void wakeup()
    {
        delegate.wakeup();
    }

    @Override
    public Packet acquire()
    {
        return delegate.acquire();
    }

    @Override
    public void release(final Packet packet)
    {
        delegate.release(packet);
    }

    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        return delegate.send(packet, destination, priority);
    }

    @Override
    public int flush()
    {
        return delegate.flush();
    }

    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        return delegate.poll(sink, limit);
    }

    @Override
    public void close()
    {
        delegate.close();
    }
}
