package dev.homa.nic.raw;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.HomaFrameReader;
import dev.homa.nic.frame.HomaFrameWriter;
import dev.homa.nic.linux.PacketPool;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import static dev.homa.nic.raw.OffloadRun.DATA_HEADER_LENGTH;
import static dev.homa.nic.raw.OffloadRun.DATA_TYPE;
import static dev.homa.nic.raw.OffloadRun.OFFSET_IN_SEQUENCE;
import static dev.homa.nic.raw.OffloadRun.SEGMENT_OFFSET_OFFSET;
import static dev.homa.nic.raw.OffloadRun.SEQUENCE_OFFSET;
import static dev.homa.nic.raw.OffloadRun.TYPE_OFFSET;
import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * The receive side of a raw Ethernet driver: walks the frames the kernel has handed to user space in the
 * {@link ReceiveRing}, keeps those the {@link ReceiveValidator} accepts and returns each frame (or block) to the kernel
 * with a release store. An accepted frame's Homa bytes are copied into a pool packet, or, for a sink that releases
 * before it returns, lent in place without a copy and consumed once the sink is done with them. No system calls.
 * <p>
 * A segmentation-offload frame from a veth peer (a run of DATA packets under one header, up to 64 KiB) is lent
 * whole, as the engine takes a DATA packet of any length; for a sink that keeps packets it is cut back into packets
 * that fit a pool slot, each with a copy of the header and its own offset, as a NIC's segmentation would have.
 */
final class FrameReceiver
{
    private static final long RING_VIEW_HANDLE = -2;

    private final ReceiveRing ring;
    private final ReceiveValidator validator;
    private final HomaFrameReader frameReader;
    private final PacketPool pool;
    private final KnownPeers knownPeers;
    private final RawEthernetCounters counters;
    private final NanoClock clock;
    // Lent to sinks that release before they return: the Homa bytes of the current ring frame, in place.
    private final Packet ringView = new Packet(new UnsafeBuffer(0, 0), RING_VIEW_HANDLE);
    private final Packet[] pieces;
    private boolean ringViewLent;
    private boolean drained;

    FrameReceiver(
        final ReceiveRing ring,
        final ReceiveValidator validator,
        final PacketPool pool,
        final KnownPeers knownPeers,
        final NanoClock clock,
        final RawEthernetCounters counters)
    {
        this.ring = ring;
        this.validator = validator;
        this.frameReader = validator.frameReader();
        this.pool = pool;
        this.knownPeers = knownPeers;
        this.clock = clock;
        this.counters = counters;
        final int chunk = Math.max(1, pool.capacity() - DATA_HEADER_LENGTH);
        this.pieces = new Packet[HomaFrameWriter.MAX_HOMA_LENGTH / chunk + 1];
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
            final int accepted = accept(frame, nowNs);
            if (accepted < 0)
            {
                // Pool empty: leave the frame in the ring until the sink releases packets.
                break;
            }
            ring.consume();
            for (int i = 0; i < accepted; i++)
            {
                final Packet packet = pieces[i];
                pieces[i] = null;
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
     * Validate one ring frame; on success copy its Homa bytes into {@link #pieces}: one pool packet, or for a
     * segmentation-offload frame longer than a slot as many as its payload fills.
     *
     * @return packets in {@link #pieces}, 0 if dropped (counted), or -1 if the pool cannot take the frame yet.
     */
    private int accept(final int frame, final long nowNs)
    {
        if (!validator.validate(frame))
        {
            return 0;
        }
        final int homaLength = frameReader.homaLength();
        final int capacity = pool.capacity();
        if (homaLength <= capacity)
        {
            final Packet packet = pool.acquire();
            if (null == packet)
            {
                return -1;
            }
            ring.buffer().getBytes(frameReader.homaOffset(), packet.buffer(), 0, homaLength);
            pieces[0] = stamp(packet, homaLength, nowNs);
            return 1;
        }
        final UnsafeBuffer frameBuffer = ring.buffer();
        final int homaOffset = frameReader.homaOffset();
        if (DATA_TYPE != (frameBuffer.getByte(homaOffset + TYPE_OFFSET) & 0xFF) || capacity <= DATA_HEADER_LENGTH)
        {
            counters.rxTooLong++;
            return 0;
        }
        final int chunk = capacity - DATA_HEADER_LENGTH;
        final int payload = homaLength - DATA_HEADER_LENGTH;
        final int count = (payload + chunk - 1) / chunk;
        if (count > pool.size())
        {
            // More pieces than the whole pool holds: waiting for releases would wait forever.
            counters.rxTooLong++;
            return 0;
        }
        if (pool.available() < count)
        {
            return -1;
        }
        final int segmentOffset = frameBuffer.getInt(homaOffset + SEGMENT_OFFSET_OFFSET, BIG_ENDIAN);
        final boolean offsetInSequence = OFFSET_IN_SEQUENCE == segmentOffset;
        final int base =
            offsetInSequence ? frameBuffer.getInt(homaOffset + SEQUENCE_OFFSET, BIG_ENDIAN) : segmentOffset;
        for (int i = 0; i < count; i++)
        {
            final Packet packet = pool.acquire();
            final MutableDirectBuffer buffer = packet.buffer();
            final int bytes = Math.min(chunk, payload - i * chunk);
            frameBuffer.getBytes(homaOffset, buffer, 0, DATA_HEADER_LENGTH);
            frameBuffer.getBytes(homaOffset + DATA_HEADER_LENGTH + i * chunk, buffer, DATA_HEADER_LENGTH, bytes);
            buffer.putInt(SEQUENCE_OFFSET, base + i * chunk, BIG_ENDIAN);
            if (!offsetInSequence)
            {
                buffer.putInt(SEGMENT_OFFSET_OFFSET, base + i * chunk, BIG_ENDIAN);
            }
            pieces[i] = stamp(packet, DATA_HEADER_LENGTH + bytes, nowNs);
        }
        return count;
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
        knownPeers.heard(frameReader.sourceIpv4());
        packet.length(homaLength)
            .source(HostAddress.ipv4(frameReader.sourceIpv4()))
            .priority(validator.priority())
            .timestampNs(nowNs);
        counters.rxPackets++;
        counters.rxBytes += homaLength;
        return packet;
    }
}
