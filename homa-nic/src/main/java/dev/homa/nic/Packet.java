package dev.homa.nic;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One packet buffer from a driver's off-heap pool. Index 0 of {@link #buffer()} is the first byte of the Homa
 * header; the driver keeps its own headroom for framing in front of it, out of the protocol's sight.
 * <p>
 * Instances are created once per pool slot by the driver and recycled, never allocated per packet. A packet
 * obtained from {@link NicDriver#acquire()} or delivered to a {@link PacketSink} belongs to the caller until it is
 * handed back with {@link NicDriver#release(Packet)}.
 */
public final class Packet
{
    private final UnsafeBuffer buffer;
    private final long handle;
    private int length;
    private long source;
    private int priority;
    private long timestampNs;

    /**
     * For drivers: wrap one pool slot.
     *
     * @param buffer view whose index 0 is the first Homa byte and whose capacity is the largest Homa packet.
     * @param handle opaque value the driver uses to find the slot again (an index, an address).
     */
    public Packet(final UnsafeBuffer buffer, final long handle)
    {
        this.buffer = buffer;
        this.handle = handle;
    }

    /**
     * @return the bytes of the Homa packet, index 0 = first header byte.
     */
    public MutableDirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * @return largest number of bytes this packet can hold.
     */
    public int capacity()
    {
        return buffer.capacity();
    }

    /**
     * @return number of valid Homa bytes (header and payload).
     */
    public int length()
    {
        return length;
    }

    /**
     * @param length number of valid Homa bytes.
     * @return this.
     */
    public Packet length(final int length)
    {
        if (length < 0 || length > buffer.capacity())
        {
            throw new IllegalArgumentException("length " + length + " outside 0.." + buffer.capacity());
        }
        this.length = length;
        return this;
    }

    /**
     * @return the driver's opaque slot handle.
     */
    public long handle()
    {
        return handle;
    }

    /**
     * @return on a received packet, the sender's {@link HostAddress}.
     */
    public long source()
    {
        return source;
    }

    /**
     * @param source for drivers: the sender's address.
     * @return this.
     */
    public Packet source(final long source)
    {
        this.source = source;
        return this;
    }

    /**
     * @return on a received packet, the Homa priority level it carried on the wire (PCP or DSCP mapped back), or
     * -1 if the driver cannot see it.
     */
    public int priority()
    {
        return priority;
    }

    /**
     * @param priority for drivers: the received priority level, -1 if unknown.
     * @return this.
     */
    public Packet priority(final int priority)
    {
        this.priority = priority;
        return this;
    }

    /**
     * @return on a received packet, the driver clock's time of arrival in nanoseconds.
     */
    public long timestampNs()
    {
        return timestampNs;
    }

    /**
     * @param timestampNs for drivers: arrival time.
     * @return this.
     */
    public Packet timestampNs(final long timestampNs)
    {
        this.timestampNs = timestampNs;
        return this;
    }
}
