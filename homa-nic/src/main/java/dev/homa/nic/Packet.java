package dev.homa.nic;

import org.agrona.MutableDirectBuffer;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One packet buffer from a driver's off-heap pool. Index 0 of {@link #buffer()} is the first byte of the Homa
 * header; the driver keeps its own headroom for framing in front of it, out of the protocol's sight.
 * <p>
 * Instances are created once per pool slot by the driver and recycled, never allocated per packet. A packet
 * obtained from {@link NicDriver#acquire()} or delivered to a {@link PacketSink} belongs to the caller until it is
 * handed back with {@link NicDriver#release(Packet)}.
 * <p>
 * A packet to send may carry, after its own {@link #length()} bytes, up to {@value #MAX_PAYLOAD_SEGMENTS} pieces of
 * native memory that the driver gathers onto the wire without copying them ({@link #appendPayload}), where the
 * driver offers it ({@link NicDriver#gathersPayload()}): the protocol then writes only its header into the packet
 * and lets the message's bytes go straight from where they wait for retransmission. They must stay valid and
 * unchanged until the driver's next {@link NicDriver#flush()} returns.
 * <p>
 * A received packet may likewise arrive with bytes already placed where its sink asked ({@link #placedBytes()}).
 */
public final class Packet
{
    private final UnsafeBuffer buffer;
    private final long handle;
    private int length;
    private long source;
    private int priority;
    private long timestampNs;
    private final long[] payloadAddresses = new long[MAX_PAYLOAD_SEGMENTS];
    private final int[] payloadLengths = new int[MAX_PAYLOAD_SEGMENTS];
    private int payloadSegments;
    private int payloadBytes;
    private int placedBytes;

    /** Most pieces of gathered payload one packet carries. */
    public static final int MAX_PAYLOAD_SEGMENTS = 4;

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
     * {@return the bytes of the Homa packet, index 0 = first header byte}
     */
    public MutableDirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * {@return largest number of bytes this packet can hold}
     */
    public int capacity()
    {
        return buffer.capacity();
    }

    /**
     * {@return number of valid Homa bytes (header and payload)}
     */
    public int length()
    {
        return length;
    }

    /**
     * Set the packet's own length.
     *
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
     * Add a piece of native memory to go on the wire after the packet's own bytes and the pieces added before.
     *
     * @param address first byte.
     * @param length  bytes, at least 1.
     * @return false (nothing added) if the packet holds {@value #MAX_PAYLOAD_SEGMENTS} pieces already.
     */
    public boolean appendPayload(final long address, final int length)
    {
        if (MAX_PAYLOAD_SEGMENTS == payloadSegments)
        {
            return false;
        }
        payloadAddresses[payloadSegments] = address;
        payloadLengths[payloadSegments] = length;
        payloadSegments++;
        payloadBytes += length;
        return true;
    }

    /**
     * For a driver that has a packet's bytes in hand: ask a sink that releases before returning where the payload goes
     * ({@link PacketSink#placePayload}) and move it there ({@link #moveTailToPayload}), as a driver that reads into
     * the sink's memory would; a packet the sink does not place stays whole.
     *
     * @param sink the sink the packet is for.
     * @param view any buffer, wrapped around each piece in turn.
     * @return true if the payload was placed.
     */
    public boolean placeFor(final PacketSink sink, final UnsafeBuffer view)
    {
        clearPayload();
        final int headerLength = Math.min(length, sink.placementHeaderLength());
        final int keep = 0 == headerLength || !sink.releasesBeforeReturn() ? -1 :
            sink.placePayload(buffer, headerLength, length, source, this);
        if (keep < 0)
        {
            clearPayload();
            return false;
        }
        moveTailToPayload(keep, view);
        return true;
    }

    /**
     * For a driver that has a packet's bytes in hand rather than reading them straight to where its sink named: move
     * the bytes after the first {@code keep} into the pieces {@link PacketSink#placePayload} appended, in order, and
     * leave the packet as if they had been read there ({@link #length()} {@code keep}, {@link #placedBytes()} the
     * rest).
     *
     * @param keep leading bytes that stay in the packet, the sink's answer; the pieces take exactly the rest.
     * @param view any buffer, wrapped around each piece in turn.
     * @return this.
     * @throws IllegalArgumentException if the pieces do not hold exactly the bytes after {@code keep}.
     */
    public Packet moveTailToPayload(final int keep, final UnsafeBuffer view)
    {
        if (keep < 0 || keep > length || payloadBytes != length - keep)
        {
            throw new IllegalArgumentException("pieces of " + payloadBytes + " bytes for the " +
                (length - keep) + " bytes after " + keep + " of a " + length + "-byte packet");
        }
        int from = keep;
        for (int i = 0; i < payloadSegments; i++)
        {
            view.wrap(payloadAddresses[i], payloadLengths[i]);
            view.putBytes(0, buffer, from, payloadLengths[i]);
            from += payloadLengths[i];
        }
        placedBytes = length - keep;
        length = keep;
        return this;
    }

    /**
     * Drop the gathered pieces (drivers do so when they hand a packet out).
     *
     * @return this.
     */
    public Packet clearPayload()
    {
        payloadSegments = 0;
        payloadBytes = 0;
        placedBytes = 0;
        return this;
    }

    /**
     * {@return on a received packet, bytes that followed its own {@link #length()} on the wire and that the driver
     * wrote straight to where the sink's {@link PacketSink#placePayload} named; 0 for a packet received whole}
     */
    public int placedBytes()
    {
        return placedBytes;
    }

    /**
     * Set the placed bytes of a received packet.
     *
     * @param placedBytes for drivers: see {@link #placedBytes()}.
     * @return this.
     */
    public Packet placedBytes(final int placedBytes)
    {
        this.placedBytes = placedBytes;
        return this;
    }

    /**
     * {@return pieces of gathered payload}
     */
    public int payloadSegments()
    {
        return payloadSegments;
    }

    /**
     * Address of one gathered piece.
     *
     * @param i piece index.
     * @return its address.
     */
    public long payloadAddress(final int i)
    {
        return payloadAddresses[i];
    }

    /**
     * Length of one gathered piece.
     *
     * @param i piece index.
     * @return its length.
     */
    public int payloadLength(final int i)
    {
        return payloadLengths[i];
    }

    /**
     * {@return bytes of all gathered pieces together}
     */
    public int payloadBytes()
    {
        return payloadBytes;
    }

    /**
     * Copies the packet as it goes on the wire, its own bytes and then its gathered payload, into one buffer.
     *
     * @param to    where the bytes go.
     * @param index where in {@code to} they start.
     * @return {@link #wireLength()}, the bytes copied.
     */
    public int copyWireBytes(final MutableDirectBuffer to, final int index)
    {
        to.boundsCheck(index, wireLength());
        to.putBytes(index, buffer, 0, length);
        long at = to.addressOffset() + index + length;
        for (int i = 0; i < payloadSegments; i++)
        {
            UnsafeApi.copyMemory(null, payloadAddresses[i], to.byteArray(), at, payloadLengths[i]);
            at += payloadLengths[i];
        }
        return wireLength();
    }

    /**
     * {@return bytes the packet puts on the wire: its own and the gathered ones}
     */
    public int wireLength()
    {
        return length + payloadBytes;
    }

    /**
     * {@return the driver's opaque slot handle}
     */
    public long handle()
    {
        return handle;
    }

    /**
     * {@return on a received packet, the sender's {@link HostAddress}}
     */
    public long source()
    {
        return source;
    }

    /**
     * Set the sender of a received packet.
     *
     * @param source for drivers: the sender's address.
     * @return this.
     */
    public Packet source(final long source)
    {
        this.source = source;
        return this;
    }

    /**
     * {@return on a received packet, the Homa priority level it carried on the wire (PCP or DSCP mapped back), or -1 if
     * the driver cannot see it}
     */
    public int priority()
    {
        return priority;
    }

    /**
     * Set the priority level of a received packet.
     *
     * @param priority for drivers: the received priority level, -1 if unknown.
     * @return this.
     */
    public Packet priority(final int priority)
    {
        this.priority = priority;
        return this;
    }

    /**
     * {@return on a received packet, the driver clock's time of arrival in nanoseconds}
     */
    public long timestampNs()
    {
        return timestampNs;
    }

    /**
     * Set the arrival time of a received packet.
     *
     * @param timestampNs for drivers: arrival time.
     * @return this.
     */
    public Packet timestampNs(final long timestampNs)
    {
        this.timestampNs = timestampNs;
        return this;
    }
}
