package dev.homa.nic;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * "Nothing listens there": what a kernel host says with ICMP destination unreachable when a Homa packet reaches a
 * port without a socket (port unreachable, {@code homa_dispatch_pkts}) or a host without Homa (protocol
 * unreachable), carried to the protocol in Homa's own bytes. A driver that receives the ICMP message (raw Ethernet)
 * delivers it to its sink in this form, as if the unreachable host had sent it; over a medium without such a message
 * (UDP) the protocol sends this form itself. The protocol ends every RPC with that host and port at once, as
 * {@code homa_err_handler_v4} does.
 * <p>
 * The form is an RPC_UNKNOWN common header (28 bytes, type 0x13) with {@link #FLAG} set in the flags byte:
 * <ul>
 *     <li>source port: the unreachable port, or 0 when the whole host is (no Homa, no route);</li>
 *     <li>destination port: the port that sent the packet that was refused;</li>
 *     <li>sender id: that packet's sender id with the low bit flipped (as any answer), 0 if not known;</li>
 *     <li>window (bytes 14-15, unused by Homa): the ICMP code ({@link #PORT}, {@link #PROTOCOL}, ...).</li>
 * </ul>
 * A kernel never sends it (it uses ICMP) and a peer that does not know it reads an RPC_UNKNOWN.
 */
public final class UnreachableNotice
{
    /** The flags bit that marks the form (the kernel's flags are 6; the incast mark is 0x80). */
    public static final int FLAG = 0x40;
    /** Bytes in the form: the common header. */
    public static final int LENGTH = 28;
    /** ICMP code: network unreachable. */
    public static final int NETWORK = 0;
    /** ICMP code: host unreachable. */
    public static final int HOST = 1;
    /** ICMP code: protocol unreachable, the host runs no Homa. */
    public static final int PROTOCOL = 2;
    /** ICMP code: port unreachable, no socket on the port. */
    public static final int PORT = 3;

    private static final int TYPE_RPC_UNKNOWN = 0x13;
    private static final int DOFF_CONTROL = 5 << 4;
    private static final int HIJACK_FLAGS = 6;
    private static final int HIJACK_URGENT = 0xb97d;

    private UnreachableNotice()
    {
    }

    /**
     * Write the form at index 0.
     *
     * @param buffer          at least {@link #LENGTH} bytes.
     * @param unreachablePort the port nothing listens on, 0 for the whole host.
     * @param refusedPort     the port that sent the refused packet.
     * @param senderId        the refused packet's sender id with the low bit flipped, or 0.
     * @param code            ICMP code, {@link #PORT} for a closed port.
     */
    public static void write(
        final MutableDirectBuffer buffer, final int unreachablePort, final int refusedPort, final long senderId,
        final int code)
    {
        buffer.setMemory(0, LENGTH, (byte)0);
        buffer.putShort(0, (short)unreachablePort, BIG_ENDIAN);
        buffer.putShort(2, (short)refusedPort, BIG_ENDIAN);
        buffer.putByte(11, (byte)TYPE_RPC_UNKNOWN);
        buffer.putByte(12, (byte)DOFF_CONTROL);
        buffer.putByte(13, (byte)(HIJACK_FLAGS | FLAG));
        buffer.putShort(14, (short)code, BIG_ENDIAN);
        buffer.putShort(18, (short)HIJACK_URGENT, BIG_ENDIAN);
        buffer.putLong(20, senderId, BIG_ENDIAN);
    }

    /**
     * @param buffer a Homa packet of at least {@link #LENGTH} bytes.
     * @param length its length.
     * @return true if it is this form.
     */
    public static boolean isNotice(final DirectBuffer buffer, final int length)
    {
        return length >= LENGTH && TYPE_RPC_UNKNOWN == (buffer.getByte(11) & 0xFF) &&
            0 != (buffer.getByte(13) & FLAG);
    }

    /**
     * @param buffer the form.
     * @return its ICMP code.
     */
    public static int code(final DirectBuffer buffer)
    {
        return buffer.getShort(14, BIG_ENDIAN) & 0xFFFF;
    }
}
