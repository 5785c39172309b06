package dev.homa.nic.frame;

import org.agrona.MutableDirectBuffer;

/**
 * What every frame-header flyweight shares: the buffer and offset it is wrapped over. A flyweight holds no copy of
 * the frame; one instance is re-wrapped over each frame, so parsing and writing headers never allocates.
 *
 * @param <T> the concrete flyweight, so that {@link #wrap} chains into its own setters.
 */
public abstract sealed class FrameFlyweight<T extends FrameFlyweight<T>>
    permits EthernetFlyweight, VlanTagFlyweight, Ipv4Flyweight
{
    /** The wrapped buffer. */
    protected MutableDirectBuffer buffer;
    /** Offset of the header's first byte in {@link #buffer}. */
    protected int offset;

    /**
     * Only the permitted flyweights extend this.
     */
    protected FrameFlyweight()
    {
    }

    /**
     * Point this flyweight at a header.
     *
     * @param buffer holding the frame.
     * @param offset of the header's first byte.
     * @return this.
     */
    @SuppressWarnings("unchecked")
    public final T wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return (T)this;
    }

    /**
     * {@return the wrapped buffer}
     */
    public final MutableDirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * {@return offset of the header in the wrapped buffer}
     */
    public final int offset()
    {
        return offset;
    }
}
