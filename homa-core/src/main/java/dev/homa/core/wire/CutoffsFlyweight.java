package dev.homa.core.wire;

import dev.homa.nic.frame.PriorityMapping;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Flyweight over a CUTOFFS packet (opcode 0x15, 62 bytes), byte for byte the kernel's
 * {@code struct homa_cutoffs_hdr}. Big-endian.
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Common header (28 bytes, type 0x15, doff 0x50)       |  0
 *  |                              ...                              |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Unscheduled Cutoff [0]                     | 28
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                             ...                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Unscheduled Cutoff [7]                     | 56
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |        Cutoff Version         |                                 60
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * Entry {@code i} is the largest message length that may use unscheduled priority {@code i}; entry 0 is ignored by
 * receivers of the packet and treated as unlimited.
 */
public final class CutoffsFlyweight extends HomaHeaderFlyweight
{
    /**
     * Offset of the first of eight u32 cutoffs.
     */
    public static final int CUTOFFS_OFFSET = 28;

    /**
     * Offset of the u16 cutoff version.
     */
    public static final int CUTOFF_VERSION_OFFSET = CUTOFFS_OFFSET + PriorityMapping.LEVELS * Integer.BYTES;

    /**
     * Bytes in a CUTOFFS packet.
     */
    public static final int LENGTH = CUTOFF_VERSION_OFFSET + Short.BYTES;

    /**
     * Same as {@link #LENGTH}, named like {@link DataHeaderFlyweight#HEADER_LENGTH}.
     */
    public static final int HEADER_LENGTH = LENGTH;

    /**
     * Create a flyweight that must be wrapped before use.
     */
    public CutoffsFlyweight()
    {
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public CutoffsFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        super.wrap(buffer, offset);
        return this;
    }

    /**
     * Write a fresh CUTOFFS: all 62 bytes zeroed, then type, doff, ports and sender id.
     *
     * @param type       must be {@link PacketType#CUTOFFS}.
     * @param sourcePort u16 source port.
     * @param destinationPort u16 destination port.
     * @param senderId   RPC id as known by the sender of the packet.
     * @return this.
     * @throws IllegalArgumentException if {@code type} is not CUTOFFS.
     */
    @Override
    public CutoffsFlyweight initialize(
        final int type, final int sourcePort, final int destinationPort, final long senderId)
    {
        if (PacketType.CUTOFFS != type)
        {
            throw new IllegalArgumentException("CutoffsFlyweight cannot write type " + PacketType.name(type));
        }
        super.initialize(type, sourcePort, destinationPort, senderId);
        return this;
    }

    /**
     * Read the cutoff of one priority level.
     *
     * @param level priority level 0..7.
     * @return u32 cutoff for that level, as a signed int.
     * @throws IndexOutOfBoundsException if {@code level} is outside 0..7.
     */
    public int cutoff(final int level)
    {
        return buffer.getInt(offset + cutoffOffset(level), BIG_ENDIAN);
    }

    /**
     * Write the cutoff of one priority level.
     *
     * @param level  priority level 0..7.
     * @param cutoff largest message length that may use that level.
     * @return this.
     * @throws IndexOutOfBoundsException if {@code level} is outside 0..7.
     */
    public CutoffsFlyweight cutoff(final int level, final int cutoff)
    {
        buffer.putInt(offset + cutoffOffset(level), cutoff, BIG_ENDIAN);
        return this;
    }

    /**
     * {@return u16 cutoff version}
     */
    public int cutoffVersion()
    {
        return buffer.getShort(offset + CUTOFF_VERSION_OFFSET, BIG_ENDIAN) & 0xFFFF;
    }

    /**
     * Write the cutoff version.
     *
     * @param version u16 cutoff version.
     * @return this.
     */
    public CutoffsFlyweight cutoffVersion(final int version)
    {
        buffer.putShort(offset + CUTOFF_VERSION_OFFSET, (short)version, BIG_ENDIAN);
        return this;
    }

    /**
     * Where a level's cutoff starts in the header.
     *
     * @param level priority level 0..7.
     * @return offset of that level's cutoff from the start of the header.
     * @throws IndexOutOfBoundsException if {@code level} is outside 0..7.
     */
    public static int cutoffOffset(final int level)
    {
        if (level < 0 || level >= PriorityMapping.LEVELS)
        {
            throw new IndexOutOfBoundsException(
                "cutoff level " + level + " outside 0.." + (PriorityMapping.LEVELS - 1));
        }
        return CUTOFFS_OFFSET + level * Integer.BYTES;
    }
}
