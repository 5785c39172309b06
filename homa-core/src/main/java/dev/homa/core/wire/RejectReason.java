package dev.homa.core.wire;

/**
 * Why {@link PacketDecoder#validate} dropped a packet. Each reason has its own counter, so a peer sending
 * malformed packets is visible without logging per packet.
 */
public enum RejectReason
{
    /**
     * Not rejected: the packet may be read through its flyweight.
     */
    NONE("accepted"),

    /**
     * The caller's offset or length lies outside the buffer (negative, or past its capacity).
     */
    OUT_OF_BOUNDS("rejected.out_of_bounds"),

    /**
     * Shorter than the common header, or than the header of its type.
     */
    TOO_SHORT("rejected.too_short"),

    /**
     * Opcode outside 0x10..0x18.
     */
    UNKNOWN_TYPE("rejected.unknown_type"),

    /**
     * The doff byte does not match the type; checked only by a strict decoder, see {@link PacketDecoder}.
     */
    BAD_HEADER_LENGTH("rejected.bad_header_length"),

    /**
     * DATA announcing a message of zero bytes.
     */
    ZERO_MESSAGE_LENGTH("rejected.zero_message_length"),

    /**
     * DATA announcing a message longer than the decoder's maximum.
     */
    MESSAGE_TOO_LONG("rejected.message_too_long"),

    /**
     * Lengths that contradict each other: DATA with no payload, RESEND with a length of 0 or below -1.
     */
    INCONSISTENT_LENGTH("rejected.inconsistent_length"),

    /**
     * A byte range beyond the end of the message: DATA payload past message_length, a GRANT or RESEND past the
     * decoder's maximum message length.
     */
    OFFSET_PAST_END("rejected.offset_past_end"),

    /**
     * GRANT or RESEND priority above the highest wire level (7).
     */
    BAD_PRIORITY("rejected.bad_priority"),

    /**
     * ACK with num_acks above {@link AckFlyweight#MAX_ACKS}.
     */
    TOO_MANY_ACKS("rejected.too_many_acks");

    private static final RejectReason[] VALUES = values();

    private final String counterName;

    RejectReason(final String counterName)
    {
        this.counterName = counterName;
    }

    /**
     * @return stable metric name of this reason's counter, e.g. {@code rejected.too_short}.
     */
    public String counterName()
    {
        return counterName;
    }

    /**
     * @param ordinal value of {@link #ordinal()}.
     * @return the reason with that ordinal, without the array copy {@link #values()} makes.
     */
    public static RejectReason get(final int ordinal)
    {
        return VALUES[ordinal];
    }

    /**
     * @return number of reasons, {@link #NONE} included.
     */
    public static int count()
    {
        return VALUES.length;
    }
}
