package dev.homa.core.wire;

import dev.homa.nic.frame.PriorityMapping;
import java.util.Arrays;

import dev.homa.nic.Packet;
import org.agrona.DirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Validates received Homa packets before any flyweight reads them: every packet is either accepted or rejected
 * with a {@link RejectReason}, and counted either way. {@link #validate} never throws on any bytes, whatever the
 * offset and length the caller passes, so the receive path can hand it raw frames from the wire.
 * <p>
 * What an accepted packet guarantees to the engine (every flyweight getter is then safe to call):
 * <ul>
 *     <li>the buffer holds at least {@link PacketType#headerLength(int)} bytes for its known type;</li>
 *     <li>DATA: {@code 1 <= messageLength <= maxMessageLength}, at least one payload byte, and
 *     {@code segmentOffset + payload <= messageLength} (the offset as {@link DataHeaderFlyweight#segmentOffset()}
 *     resolves it);</li>
 *     <li>GRANT: {@code 0 <= offset <= maxMessageLength}, {@code priority <= 7};</li>
 *     <li>RESEND: {@code 0 <= offset <= maxMessageLength}, {@code length == -1} or
 *     {@code 1 <= length} with {@code offset + length <= maxMessageLength}, {@code priority <= 7};</li>
 *     <li>ACK: {@code numAcks <= 5}.</li>
 * </ul>
 * Deliberate choices where the kernel (HomaModule) is lenient or silent:
 * <ul>
 *     <li><b>doff</b>: kernel receivers never read it, and kernels have written different values over time
 *     (current: DATA 14 words, or 13 for a GSO batch; control packets 5; 2023 control packets 0). By default the
 *     decoder accepts any doff and counts a mismatch with the current kernel's values in
 *     {@link #headerLengthMismatchCount()}; a strict decoder ({@code strictHeaderLength = true}, for tests and our
 *     own fabric) rejects it as {@link RejectReason#BAD_HEADER_LENGTH}.</li>
 *     <li><b>incoming</b> above message_length is accepted: the kernel clips it to the message length, so must the
 *     engine. Likewise a GRANT offset above the message's own length is accepted (the sender clips) but one above
 *     the largest possible message is not.</li>
 *     <li><b>seg.offset == -1</b>: a current kernel writes it on single-segment DATA and puts the offset in the
 *     common header's sequence instead; the decoder and {@link DataHeaderFlyweight#segmentOffset()} resolve it
 *     the kernel's way.</li>
 *     <li><b>CUTOFFS</b>: any eight values are accepted, as the kernel takes them: a kernel's own defaults are not
 *     monotonic over all levels (levels 0-3 hold 0), and a receiver picks the highest level whose cutoff admits the
 *     length whatever the order.</li>
 *     <li><b>num_acks above 5</b>: the kernel clips it; we reject, since its own sender never writes it, so only a
 *     corrupt or hostile packet does.</li>
 *     <li>Bytes after a control packet's header (e.g. Ethernet padding) are ignored, as in the kernel.</li>
 * </ul>
 * Counters are plain {@code long}s: a decoder belongs to one receive thread (one instance per agent).
 */
public final class PacketDecoder
{
    private static final String HEADER_LENGTH_MISMATCH_NAME = "header_length_mismatch";
    private static final String[] ACCEPTED_NAMES = new String[PacketType.TYPE_COUNT];

    static
    {
        for (int i = 0; i < PacketType.TYPE_COUNT; i++)
        {
            ACCEPTED_NAMES[i] = "accepted." + PacketType.name(PacketType.MIN_TYPE + i);
        }
    }

    private final int maxMessageLength;
    private final boolean strictHeaderLength;
    private final long[] acceptedCounts = new long[PacketType.TYPE_COUNT];
    private final long[] rejectedCounts = new long[RejectReason.count()];
    private long headerLengthMismatchCount;

    /**
     * A lenient decoder: doff is not checked (see the class comment).
     *
     * @param maxMessageLength largest message length a DATA packet may announce, e.g. 1_000_000.
     * @throws IllegalArgumentException if not positive.
     */
    public PacketDecoder(final int maxMessageLength)
    {
        this(maxMessageLength, false);
    }

    /**
     * @param maxMessageLength   largest message length a DATA packet may announce, e.g. 1_000_000.
     * @param strictHeaderLength true to reject packets whose doff differs from what the current kernel writes.
     * @throws IllegalArgumentException if {@code maxMessageLength} is not positive.
     */
    public PacketDecoder(final int maxMessageLength, final boolean strictHeaderLength)
    {
        if (maxMessageLength <= 0)
        {
            throw new IllegalArgumentException("maxMessageLength must be positive: " + maxMessageLength);
        }
        this.maxMessageLength = maxMessageLength;
        this.strictHeaderLength = strictHeaderLength;
    }

    /**
     * @return largest message length accepted.
     */
    public int maxMessageLength()
    {
        return maxMessageLength;
    }

    /**
     * @return true if doff mismatches are rejected rather than only counted.
     */
    public boolean strictHeaderLength()
    {
        return strictHeaderLength;
    }

    /**
     * Check one packet and count the outcome. Never throws for any {@code offset} and {@code length}.
     *
     * @param buffer holding the packet (not null).
     * @param offset index of the first Homa header byte.
     * @param length bytes of the Homa packet (header and payload).
     * @return {@link RejectReason#NONE} if the packet may be read, otherwise why it must be dropped.
     */
    public RejectReason validate(final DirectBuffer buffer, final int offset, final int length)
    {
        final RejectReason reason = check(buffer, offset, length);
        if (RejectReason.NONE == reason)
        {
            acceptedCounts[HomaHeaderFlyweight.typeOf(buffer, offset) - PacketType.MIN_TYPE]++;
        }
        else
        {
            rejectedCounts[reason.ordinal()]++;
        }
        return reason;
    }

    /**
     * Check a packet as a driver delivered it (index 0 of its buffer is the first Homa byte).
     *
     * @param packet received packet.
     * @return {@link RejectReason#NONE} if the packet may be read, otherwise why it must be dropped.
     */
    public RejectReason validate(final Packet packet)
    {
        return validate(packet.buffer(), 0, packet.length());
    }

    /**
     * @param type opcode.
     * @return packets of that type accepted so far; 0 for an unknown opcode.
     */
    public long acceptedCount(final int type)
    {
        return PacketType.isValid(type) ? acceptedCounts[type - PacketType.MIN_TYPE] : 0;
    }

    /**
     * @return packets of every type accepted so far.
     */
    public long acceptedTotal()
    {
        long total = 0;
        for (final long count : acceptedCounts)
        {
            total += count;
        }
        return total;
    }

    /**
     * @param reason why packets were dropped; {@link RejectReason#NONE} gives {@link #acceptedTotal()}.
     * @return packets rejected for that reason so far.
     */
    public long rejectedCount(final RejectReason reason)
    {
        return RejectReason.NONE == reason ? acceptedTotal() : rejectedCounts[reason.ordinal()];
    }

    /**
     * @return packets rejected for any reason so far.
     */
    public long rejectedTotal()
    {
        long total = 0;
        for (final long count : rejectedCounts)
        {
            total += count;
        }
        return total;
    }

    /**
     * @return packets (accepted or not) whose doff differed from what the current kernel writes for the type.
     */
    public long headerLengthMismatchCount()
    {
        return headerLengthMismatchCount;
    }

    /**
     * Report every counter, for metrics export: {@code accepted.<TYPE>} per opcode, {@code rejected.<reason>} per
     * reason and {@code header_length_mismatch}. Names are constants; no allocation.
     *
     * @param consumer receives each name and value.
     */
    public void forEachCounter(final CounterConsumer consumer)
    {
        for (int i = 0; i < acceptedCounts.length; i++)
        {
            consumer.accept(ACCEPTED_NAMES[i], acceptedCounts[i]);
        }
        for (int i = 1; i < rejectedCounts.length; i++)
        {
            consumer.accept(RejectReason.get(i).counterName(), rejectedCounts[i]);
        }
        consumer.accept(HEADER_LENGTH_MISMATCH_NAME, headerLengthMismatchCount);
    }

    /**
     * Zero every counter.
     */
    public void resetCounters()
    {
        Arrays.fill(acceptedCounts, 0);
        Arrays.fill(rejectedCounts, 0);
        headerLengthMismatchCount = 0;
    }

    /**
     * Receives one counter from {@link #forEachCounter(CounterConsumer)}.
     */
    @FunctionalInterface
    public interface CounterConsumer
    {
        /**
         * @param name  stable metric name.
         * @param value current count.
         */
        void accept(String name, long value);
    }

    private RejectReason check(final DirectBuffer buffer, final int offset, final int length)
    {
        // Long arithmetic so that offset + length cannot overflow into a bogus "fits" answer.
        if (offset < 0 || length < 0 || (long)offset + length > buffer.capacity())
        {
            return RejectReason.OUT_OF_BOUNDS;
        }
        if (length < HomaHeaderFlyweight.COMMON_HEADER_LENGTH)
        {
            return RejectReason.TOO_SHORT;
        }

        final int type = HomaHeaderFlyweight.typeOf(buffer, offset);
        if (!PacketType.isValid(type))
        {
            return RejectReason.UNKNOWN_TYPE;
        }
        if (length < PacketType.headerLength(type))
        {
            return RejectReason.TOO_SHORT;
        }

        final int doff = HomaHeaderFlyweight.doffOf(buffer, offset);
        final boolean doffMatches = PacketType.DATA == type ?
            (HomaHeaderFlyweight.DOFF_DATA == doff || HomaHeaderFlyweight.DOFF_DATA_GSO == doff) :
            HomaHeaderFlyweight.DOFF_CONTROL == doff;
        if (!doffMatches)
        {
            headerLengthMismatchCount++;
            if (strictHeaderLength)
            {
                return RejectReason.BAD_HEADER_LENGTH;
            }
        }

        switch (type)
        {
            case PacketType.DATA:
                return checkData(buffer, offset, length);

            case PacketType.GRANT:
                return checkGrant(buffer, offset);

            case PacketType.RESEND:
                return checkResend(buffer, offset);

            case PacketType.ACK:
                return checkAck(buffer, offset);

            default:
                // RPC_UNKNOWN, BUSY, FREEZE, NEED_ACK: the common header is all there is.
                return RejectReason.NONE;
        }
    }

    private RejectReason checkData(final DirectBuffer buffer, final int offset, final int length)
    {
        // u32 fields are compared as unsigned (long) so a wire value >= 2^31 is "too big", not negative.
        final long messageLength = unsignedInt(buffer, offset + DataHeaderFlyweight.MESSAGE_LENGTH_OFFSET);
        if (0 == messageLength)
        {
            return RejectReason.ZERO_MESSAGE_LENGTH;
        }
        if (messageLength > maxMessageLength)
        {
            return RejectReason.MESSAGE_TOO_LONG;
        }

        final int payloadLength = length - DataHeaderFlyweight.HEADER_LENGTH;
        if (0 == payloadLength)
        {
            return RejectReason.INCONSISTENT_LENGTH;
        }

        final long segmentOffset = resolvedSegmentOffset(buffer, offset);
        if (segmentOffset + payloadLength > messageLength)
        {
            return RejectReason.OFFSET_PAST_END;
        }

        return RejectReason.NONE;
    }

    private RejectReason checkGrant(final DirectBuffer buffer, final int offset)
    {
        if ((buffer.getByte(offset + GrantFlyweight.PRIORITY_OFFSET) & 0xFF) > (PriorityMapping.LEVELS - 1))
        {
            return RejectReason.BAD_PRIORITY;
        }
        if (unsignedInt(buffer, offset + GrantFlyweight.OFFSET_OFFSET) > maxMessageLength)
        {
            return RejectReason.OFFSET_PAST_END;
        }
        return RejectReason.NONE;
    }

    private RejectReason checkResend(final DirectBuffer buffer, final int offset)
    {
        if ((buffer.getByte(offset + ResendFlyweight.PRIORITY_OFFSET) & 0xFF) > (PriorityMapping.LEVELS - 1))
        {
            return RejectReason.BAD_PRIORITY;
        }

        final long resendOffset = unsignedInt(buffer, offset + ResendFlyweight.OFFSET_OFFSET);
        if (resendOffset > maxMessageLength)
        {
            return RejectReason.OFFSET_PAST_END;
        }

        final int resendLength = buffer.getInt(offset + ResendFlyweight.LENGTH_OFFSET, BIG_ENDIAN);
        if (ResendFlyweight.LENGTH_ALL == resendLength)
        {
            return RejectReason.NONE;
        }
        if (resendLength <= 0)
        {
            return RejectReason.INCONSISTENT_LENGTH;
        }
        if (resendOffset + resendLength > maxMessageLength)
        {
            return RejectReason.OFFSET_PAST_END;
        }
        return RejectReason.NONE;
    }

    private static RejectReason checkAck(final DirectBuffer buffer, final int offset)
    {
        final int numAcks = buffer.getShort(offset + AckFlyweight.NUM_ACKS_OFFSET, BIG_ENDIAN) & 0xFFFF;
        return numAcks > AckFlyweight.MAX_ACKS ? RejectReason.TOO_MANY_ACKS : RejectReason.NONE;
    }

    private static long resolvedSegmentOffset(final DirectBuffer buffer, final int offset)
    {
        return DataHeaderFlyweight.segmentOffsetOf(buffer, offset) & 0xFFFF_FFFFL;
    }

    private static long unsignedInt(final DirectBuffer buffer, final int index)
    {
        return buffer.getInt(index, BIG_ENDIAN) & 0xFFFF_FFFFL;
    }
}
