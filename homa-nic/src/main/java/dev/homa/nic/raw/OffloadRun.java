package dev.homa.nic.raw;

import dev.homa.nic.Packet;
import dev.homa.nic.frame.TcpHijack;
import org.agrona.concurrent.UnsafeBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * A run of DATA packets on its way to becoming one segmentation-offload frame: which packet may begin one, which may
 * continue it, and what the frame will hold. Segmentation writes a copy of the first packet's header in front of
 * every segment, with {@code sequence} advanced by the segment size, so a run takes only first transmissions
 * ({@code seg.offset} -1, the offset in {@code sequence}) of one message to one host at one level, whose headers
 * match but for {@code sequence}, checksum and an ack only the first carries, every one but the last a full
 * segment. The headers are a kernel's {@code struct homa_data_hdr} (56 bytes, {@code doff} 14 words).
 * Single-threaded: the transmitter's.
 */
final class OffloadRun
{
    /** Bytes of the DATA header, replicated in front of each segment. */
    static final int DATA_HEADER_LENGTH = 56;
    /** Packets in one frame at most: a NIC's usual {@code gso_max_segs}. */
    static final int MAX_PACKETS = 64;

    /** The type byte of DATA, at {@link #TYPE_OFFSET}. */
    static final int DATA_TYPE = 0x10;
    /** Offset of the type byte in the common header. */
    static final int TYPE_OFFSET = 11;
    /** Offset of {@code sequence}, the offset of the packet's first byte when {@code seg.offset} is -1. */
    static final int SEQUENCE_OFFSET = 4;
    /** Offset of {@code seg.offset} in the DATA header. */
    static final int SEGMENT_OFFSET_OFFSET = 52;
    /** {@code seg.offset} of a packet whose offset is in {@code sequence}. */
    static final int OFFSET_IN_SEQUENCE = -1;

    private static final int DOFF_OFFSET = 12;
    private static final int DATA_DOFF = (DATA_HEADER_LENGTH / 4) << 4;
    private static final int ACK_OFFSET = 36;
    private static final int CUTOFF_VERSION_OFFSET = 46;

    private final int maxHomaLength;
    private int entry = -1;
    private boolean extendable;
    private int prefixOffset;
    private int homaOffset;
    private int homaLength;
    private int segment;
    private int nextSequence;
    private int packets;
    private int destinationIp;
    private long destinationMac;
    private int priority;

    /**
     * @param maxHomaLength Homa bytes one frame may hold.
     */
    OffloadRun(final int maxHomaLength)
    {
        this.maxHomaLength = maxHomaLength;
    }

    /**
     * @param region     the pool's memory.
     * @param packet     a packet in it.
     * @param homaOffset where its Homa bytes start in the region.
     * @return true if the packet can begin a run: a first transmission of DATA with a whole kernel DATA header, the
     *         hijacking marks and some payload.
     */
    static boolean canStart(final UnsafeBuffer region, final Packet packet, final int homaOffset)
    {
        return packet.length() >= DATA_HEADER_LENGTH &&
            packet.wireLength() > DATA_HEADER_LENGTH &&
            DATA_TYPE == (region.getByte(homaOffset + TYPE_OFFSET) & 0xFF) &&
            DATA_DOFF == (region.getByte(homaOffset + DOFF_OFFSET) & 0xFF) &&
            OFFSET_IN_SEQUENCE == region.getInt(homaOffset + SEGMENT_OFFSET_OFFSET) &&
            TcpHijack.isMarked(region, homaOffset);
    }

    /**
     * Begin a run with a packet {@link #canStart} accepted.
     */
    void open(
        final UnsafeBuffer region, final int entry, final int prefixOffset, final int homaOffset, final int homaLength,
        final int destinationIp, final long destinationMac, final int priority)
    {
        this.entry = entry;
        this.extendable = true;
        this.prefixOffset = prefixOffset;
        this.homaOffset = homaOffset;
        this.homaLength = homaLength;
        this.segment = homaLength - DATA_HEADER_LENGTH;
        this.nextSequence = region.getInt(homaOffset + SEQUENCE_OFFSET, BIG_ENDIAN) + segment;
        this.packets = 1;
        this.destinationIp = destinationIp;
        this.destinationMac = destinationMac;
        this.priority = priority;
    }

    /**
     * @return true if a packet can still join the run (its last packet was a full segment).
     */
    boolean extendable()
    {
        return extendable;
    }

    /**
     * @return true if the packet continues the run: the next bytes of the same message, to the same place at the same
     *         level, with the same header but for {@code sequence} and checksum (and an ack of its own only if it has
     *         none), no longer than a segment and within the frame's limits.
     */
    boolean continuedBy(
        final UnsafeBuffer region, final Packet packet, final int homaOffset, final int destinationIp,
        final long destinationMac, final int priority)
    {
        final int payload = packet.wireLength() - DATA_HEADER_LENGTH;
        final int first = this.homaOffset;
        return destinationIp == this.destinationIp && destinationMac == this.destinationMac &&
            priority == this.priority && packets < MAX_PACKETS &&
            packet.length() >= DATA_HEADER_LENGTH && payload > 0 && payload <= segment &&
            homaLength + payload <= maxHomaLength &&
            nextSequence == region.getInt(homaOffset + SEQUENCE_OFFSET, BIG_ENDIAN) &&
            region.getInt(homaOffset) == region.getInt(first) &&
            region.getLong(homaOffset + 8) == region.getLong(first + 8) &&
            region.getShort(homaOffset + TcpHijack.URGENT_OFFSET) == region.getShort(first + TcpHijack.URGENT_OFFSET) &&
            region.getLong(homaOffset + 20) == region.getLong(first + 20) &&
            region.getLong(homaOffset + 28) == region.getLong(first + 28) &&
            sameOrNoAck(region, homaOffset, first) &&
            region.getLong(homaOffset + CUTOFF_VERSION_OFFSET) == region.getLong(first + CUTOFF_VERSION_OFFSET) &&
            region.getShort(homaOffset + CUTOFF_VERSION_OFFSET + 8) ==
                region.getShort(first + CUTOFF_VERSION_OFFSET + 8);
    }

    /**
     * Count a packet's payload into the run; a short one ends what may join, as segmentation cuts full segments only.
     *
     * @param payload its payload bytes.
     */
    void append(final int payload)
    {
        homaLength += payload;
        nextSequence += payload;
        packets++;
        extendable = payload == segment;
    }

    /**
     * @return the batch entry of the run's frame, or -1 if no run is open.
     */
    int entry()
    {
        return entry;
    }

    /**
     * End the run: nothing more joins it and {@link #entry()} is -1; its figures stay readable until the next
     * {@link #open}.
     */
    void close()
    {
        entry = -1;
        extendable = false;
    }

    int prefixOffset()
    {
        return prefixOffset;
    }

    int homaOffset()
    {
        return homaOffset;
    }

    int homaLength()
    {
        return homaLength;
    }

    int segment()
    {
        return segment;
    }

    int packets()
    {
        return packets;
    }

    int destinationIp()
    {
        return destinationIp;
    }

    long destinationMac()
    {
        return destinationMac;
    }

    int priority()
    {
        return priority;
    }

    private static boolean sameOrNoAck(final UnsafeBuffer region, final int homaOffset, final int first)
    {
        final long id = region.getLong(homaOffset + ACK_OFFSET);
        final short port = region.getShort(homaOffset + ACK_OFFSET + 8);
        return (0 == id && 0 == port) ||
            (id == region.getLong(first + ACK_OFFSET) && port == region.getShort(first + ACK_OFFSET + 8));
    }
}
