package dev.homa.nic.frame;

/**
 * Why {@link HomaFrameReader} refused a received frame. Each reason has a counter in the reader.
 */
public enum FrameRejectReason
{
    /** Accepted: a well-formed IPv4 frame carrying Homa. */
    NONE,
    /** Shorter than the Ethernet header, the tag or the IPv4 header it announces. */
    TOO_SHORT,
    /** The EtherType (after at most one 802.1Q tag) is not IPv4. */
    NOT_IPV4,
    /** More than one VLAN tag (802.1ad service tag or QinQ): no Homa host sends that. */
    STACKED_TAGS,
    /** The IP version nibble is not 4. */
    BAD_IP_VERSION,
    /** IHL below 5 words. */
    BAD_IP_HEADER_LENGTH,
    /** IP protocol is not 146. */
    NOT_HOMA,
    /** The IPv4 header checksum does not verify. */
    BAD_CHECKSUM,
    /** IP total length shorter than the IP header or longer than the frame holds. */
    BAD_TOTAL_LENGTH,
    /** A fragment: Homa never sends fragments (DF is set) and this reader does not reassemble. */
    FRAGMENTED;

    private static final FrameRejectReason[] VALUES = values();

    /**
     * @param ordinal an {@link #ordinal()}.
     * @return the reason, without the array copy {@link #values()} makes.
     */
    public static FrameRejectReason get(final int ordinal)
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
