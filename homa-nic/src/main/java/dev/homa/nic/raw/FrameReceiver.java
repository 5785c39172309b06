package dev.homa.nic.raw;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.HomaFrameReader;
import dev.homa.nic.linux.PacketPool;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The receive side of a raw Ethernet driver: walks the frames the kernel has handed to user space in the
 * {@link ReceiveRing}, keeps those the {@link ReceiveValidator} accepts and returns each frame (or block) to the kernel
 * with a release store. An accepted frame's Homa bytes are copied into a pool packet, or, for a sink that releases
 * before it returns, lent in place without a copy and consumed once the sink is done with them. No system calls.
 */
final class FrameReceiver
{
    private static final long RING_VIEW_HANDLE = -2;

    private final ReceiveRing ring;
    private final ReceiveValidator validator;
    private final HomaFrameReader frameReader;
    private final PacketPool pool;
    private final RawEthernetCounters counters;
    private final NanoClock clock;
    // Lent to sinks that release before they return: the Homa bytes of the current ring frame, in place.
    private final Packet ringView = new Packet(new UnsafeBuffer(0, 0), RING_VIEW_HANDLE);
    private boolean ringViewLent;
    private boolean frameIsDeliverable;
    private boolean drained;

    FrameReceiver(
        final ReceiveRing ring,
        final ReceiveValidator validator,
        final PacketPool pool,
        final NanoClock clock,
        final RawEthernetCounters counters)
    {
        this.ring = ring;
        this.validator = validator;
        this.frameReader = validator.frameReader();
        this.pool = pool;
        this.clock = clock;
        this.counters = counters;
    }

    /**
     * Deliver the Homa packets waiting in the ring.
     *
     * @param sink  receives them.
     * @param limit most packets to deliver.
     * @return packets delivered; {@link #drained()} says whether the ring was emptied.
     */
    int poll(final PacketSink sink, final int limit)
    {
        final ReceiveRing ring = this.ring;
        final boolean lend = sink.releasesBeforeReturn();
        // Frames found by this poll carry one receive time: read once, and only if there is a frame and the sink
        // wants it.
        boolean stampPending = sink.needsTimestamps();
        long nowNs = 0;
        int delivered = 0;
        drained = false;
        while (delivered < limit)
        {
            final int frame = ring.nextFrame();
            if (frame < 0)
            {
                drained = true;
                break;
            }
            if (stampPending)
            {
                // Read the clock only when there is something to stamp: an empty poll is two memory reads.
                stampPending = false;
                nowNs = clock.nanoTime();
            }
            if (lend)
            {
                delivered += lendFrame(sink, frame, nowNs);
                continue;
            }
            final Packet packet = accept(frame, nowNs);
            if (null == packet && frameIsDeliverable)
            {
                // Pool empty: leave the frame in the ring until the sink releases packets.
                break;
            }
            ring.consume();
            if (null != packet)
            {
                delivered++;
                sink.onPacket(packet);
            }
        }
        return delivered;
    }

    /**
     * @return true if the last {@link #poll} stopped because the ring had no more frames.
     */
    boolean drained()
    {
        return drained;
    }

    /**
     * Take back the packet lent by {@link #poll}, if it is that one.
     *
     * @param packet released by a sink.
     * @return true if it was the ring frame's view (nothing goes back to the pool).
     */
    boolean returnView(final Packet packet)
    {
        if (packet != ringView)
        {
            return false;
        }
        if (!ringViewLent)
        {
            throw new IllegalStateException("ring frame view released twice");
        }
        ringViewLent = false;
        return true;
    }

    /**
     * Validate one ring frame; on success copy its Homa bytes into a pool packet.
     *
     * @return the packet, or null if dropped (counted) or if the pool is empty ({@link #frameIsDeliverable} set).
     */
    private Packet accept(final int frame, final long nowNs)
    {
        frameIsDeliverable = false;
        if (!validator.validate(frame))
        {
            return null;
        }
        final Packet packet = pool.acquire();
        if (null == packet)
        {
            frameIsDeliverable = true;
            return null;
        }
        final int homaLength = frameReader.homaLength();
        ring.buffer().getBytes(frameReader.homaOffset(), packet.buffer(), 0, homaLength);
        return stamp(packet, homaLength, nowNs);
    }

    /**
     * Deliver one ring frame to a sink that releases before it returns: in place, without a pool packet or a
     * copy, and consumed only once the sink is done with it.
     *
     * @return 1 if delivered, 0 if dropped (counted).
     */
    private int lendFrame(final PacketSink sink, final int frame, final long nowNs)
    {
        try
        {
            if (!validator.validate(frame))
            {
                return 0;
            }
            final int homaLength = frameReader.homaLength();
            final Packet packet = ringView;
            packet.buffer().wrap(ring.buffer().addressOffset() + frameReader.homaOffset(), homaLength);
            stamp(packet, homaLength, nowNs);
            ringViewLent = true;
            sink.onPacket(packet);
            if (ringViewLent)
            {
                throw new IllegalStateException("a sink that releases before it returns kept a packet");
            }
            return 1;
        }
        finally
        {
            // The frame goes back to the kernel even if the sink failed: redelivering it would fail again.
            ringViewLent = false;
            ring.consume();
        }
    }

    private Packet stamp(final Packet packet, final int homaLength, final long nowNs)
    {
        packet.length(homaLength)
            .source(HostAddress.ipv4(frameReader.sourceIpv4()))
            .priority(validator.priority())
            .timestampNs(nowNs);
        counters.rxPackets++;
        counters.rxBytes += homaLength;
        return packet;
    }
}
