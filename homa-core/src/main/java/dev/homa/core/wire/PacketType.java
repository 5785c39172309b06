package dev.homa.core.wire;

/**
 * Homa packet opcodes: the {@code type} byte at offset 11 of the common header, values as in the Linux kernel
 * module's {@code homa_wire.h}.
 * <p>
 * Plain {@code int} constants rather than an enum so the receive dispatch is a {@code switch} on the byte read
 * from the wire with no lookup and no allocation.
 */
public final class PacketType
{
    /**
     * A contiguous range of message bytes plus the message's metadata (sender to receiver).
     */
    public static final int DATA = 0x10;

    /**
     * Raises the sender's permitted byte offset and sets the priority for scheduled data (receiver to sender).
     */
    public static final int GRANT = 0x11;

    /**
     * Asks for a byte range again (receiver to sender).
     */
    public static final int RESEND = 0x12;

    /**
     * "I have no state for that RPC" (either direction).
     */
    public static final int RPC_UNKNOWN = 0x13;

    /**
     * "I am alive but not sending you data right now" (sender to receiver).
     */
    public static final int BUSY = 0x14;

    /**
     * The receiver's unscheduled priority cutoffs and their version (receiver to sender).
     */
    public static final int CUTOFFS = 0x15;

    /**
     * Debugging only in the kernel (freeze the peer's time trace); no protocol effect.
     */
    public static final int FREEZE = 0x16;

    /**
     * "Tell me whether I may free this RPC" (server to client).
     */
    public static final int NEED_ACK = 0x17;

    /**
     * RPCs whose responses were fully received, so the server may free them (client to server).
     */
    public static final int ACK = 0x18;

    /**
     * Lowest opcode in use.
     */
    public static final int MIN_TYPE = DATA;

    /**
     * Highest opcode in use (the kernel's {@code MAX_OP}).
     */
    public static final int MAX_TYPE = ACK;

    /**
     * Number of opcodes, for arrays indexed by {@code type - MIN_TYPE}.
     */
    public static final int TYPE_COUNT = MAX_TYPE - MIN_TYPE + 1;

    private static final String[] NAMES =
    {
        "DATA", "GRANT", "RESEND", "RPC_UNKNOWN", "BUSY", "CUTOFFS", "FREEZE", "NEED_ACK", "ACK"
    };

    private static final int[] HEADER_LENGTHS =
    {
        DataHeaderFlyweight.HEADER_LENGTH,
        GrantFlyweight.LENGTH,
        ResendFlyweight.LENGTH,
        HomaHeaderFlyweight.COMMON_HEADER_LENGTH,
        HomaHeaderFlyweight.COMMON_HEADER_LENGTH,
        CutoffsFlyweight.LENGTH,
        HomaHeaderFlyweight.COMMON_HEADER_LENGTH,
        HomaHeaderFlyweight.COMMON_HEADER_LENGTH,
        AckFlyweight.LENGTH
    };

    private PacketType()
    {
    }

    /**
     * @param type opcode.
     * @return true if {@code type} is one of the nine Homa opcodes.
     */
    public static boolean isValid(final int type)
    {
        return type >= MIN_TYPE && type <= MAX_TYPE;
    }

    /**
     * @param type opcode.
     * @return the opcode's name, or {@code "UNKNOWN"} (a constant, so safe to call on bytes from the wire).
     */
    public static String name(final int type)
    {
        return isValid(type) ? NAMES[type - MIN_TYPE] : "UNKNOWN";
    }

    /**
     * @param type opcode.
     * @return bytes of the header for that type (DATA 56, GRANT 33, RESEND 37, CUTOFFS 62, ACK 80, the bare
     * control packets 28), or -1 for an unknown opcode.
     */
    public static int headerLength(final int type)
    {
        return isValid(type) ? HEADER_LENGTHS[type - MIN_TYPE] : -1;
    }

    /**
     * The value the kernel writes into the {@code doff} byte for a packet type: header length in 32-bit words in
     * the upper nibble. DATA is 14 words (56 bytes); every other type writes 5 words (the 20-byte TCP header the
     * common header overlays), whatever its real length.
     *
     * @param type opcode.
     * @return the doff byte to send for {@code type}.
     */
    public static int doffFor(final int type)
    {
        return DATA == type ? HomaHeaderFlyweight.DOFF_DATA : HomaHeaderFlyweight.DOFF_CONTROL;
    }
}
