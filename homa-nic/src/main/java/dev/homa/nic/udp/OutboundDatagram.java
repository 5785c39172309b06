package dev.homa.nic.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.socket.DatagramPacket;

import java.net.InetSocketAddress;

/**
 * A reusable {@link DatagramPacket}: Netty's envelope is immutable, which would cost one allocation per packet
 * sent. This one is preallocated per transmit-queue slot and re-aimed before every write: its content is a view of
 * a driver pool slot and its recipient comes from the driver's address cache.
 * <p>
 * Netty releases an outbound message once written; the driver owns the memory, so {@link #release()} does
 * nothing and the reference count stays at 1. Netty's write path reads the envelope only through
 * {@link #content()} and {@link #recipient()}, both overridden here.
 */
final class OutboundDatagram extends DatagramPacket
{
    private static final InetSocketAddress UNSET = new InetSocketAddress(0);

    private ByteBuf content;
    private InetSocketAddress recipient;

    OutboundDatagram()
    {
        super(Unpooled.EMPTY_BUFFER, UNSET);
        content = Unpooled.EMPTY_BUFFER;
        recipient = UNSET;
    }

    OutboundDatagram set(final ByteBuf content, final InetSocketAddress recipient)
    {
        this.content = content;
        this.recipient = recipient;
        return this;
    }

    void clear()
    {
        content = Unpooled.EMPTY_BUFFER;
        recipient = UNSET;
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
    public DatagramPacket retain()
    {
        return this;
    }

    @Override
    public DatagramPacket retain(final int increment)
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
    public DatagramPacket touch()
    {
        return this;
    }

    @Override
    public DatagramPacket touch(final Object hint)
    {
        return this;
    }
}
