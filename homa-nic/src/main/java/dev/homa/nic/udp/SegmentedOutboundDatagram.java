package dev.homa.nic.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.unix.SegmentedDatagramPacket;

import java.net.InetSocketAddress;

/**
 * A reusable {@link SegmentedDatagramPacket} (UDP GSO): a run of equal-sized Homa packets to one destination,
 * copied back to back into a driver-owned 64 KiB staging buffer, which the kernel cuts into datagrams of
 * {@link #segmentSize()} bytes (the last may be shorter). Preallocated per staging buffer and re-aimed before every
 * write, for the same reason as {@link OutboundDatagram}; its reference count is inert because the driver owns the
 * staging memory.
 */
final class SegmentedOutboundDatagram extends SegmentedDatagramPacket
{
    private static final InetSocketAddress UNSET = new InetSocketAddress(0);

    private ByteBuf content;
    private InetSocketAddress recipient;
    private int segmentSize;

    SegmentedOutboundDatagram()
    {
        super(Unpooled.EMPTY_BUFFER, 1, UNSET);
        content = Unpooled.EMPTY_BUFFER;
        recipient = UNSET;
        segmentSize = 1;
    }

    SegmentedOutboundDatagram set(final ByteBuf content, final int segmentSize, final InetSocketAddress recipient)
    {
        this.content = content;
        this.segmentSize = segmentSize;
        this.recipient = recipient;
        return this;
    }

    void clear()
    {
        content = Unpooled.EMPTY_BUFFER;
        recipient = UNSET;
    }

    @Override
    public int segmentSize()
    {
        return segmentSize;
    }

    @Override
    public ByteBuf content()
    {
        return content;
    }

    @Override
    public InetSocketAddress recipient()
    {
        return recipient;
    }

    @Override
    public int refCnt()
    {
        return 1;
    }

    @Override
    public SegmentedDatagramPacket retain()
    {
        return this;
    }

    @Override
    public SegmentedDatagramPacket retain(final int increment)
    {
        return this;
    }

    @Override
    public boolean release()
    {
        return false;
    }

    @Override
    public boolean release(final int decrement)
    {
        return false;
    }

    @Override
    public SegmentedDatagramPacket touch()
    {
        return this;
    }

    @Override
    public SegmentedDatagramPacket touch(final Object hint)
    {
        return this;
    }
}
