package dev.homa.nic.frame;

import org.agrona.DirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * TCP hijacking: a Homa packet carried as IPv4 protocol 6 so that a device's TCP segmentation offload cuts one
 * large DATA frame into wire packets, as the kernel's Homa does with {@code hijack_tcp} ({@code homa_hijack.h}).
 * <p>
 * Homa's common header already overlays TCP's (ports, {@code sequence}, {@code doff}, flags, checksum, urgent
 * pointer), and every Homa packet carries the marks that tell it from real TCP: flags {@value #FLAGS} (SYN and RST,
 * a combination TCP never sends, and to which the kernel's TCP never answers) and urgent pointer
 * {@code 0xb97d} without the URG flag. Segmentation replicates the first {@code doff} words (the whole DATA
 * header), advances {@code sequence} by the segment size in each copy and completes each one's checksum, so every
 * wire packet is a DATA packet whose offset is its {@code sequence} ({@code seg.offset} -1). A kernel receiver
 * takes such packets back from TCP's GRO path whether or not it sends them itself.
 */
public final class TcpHijack
{
    /** IPv4 protocol number of a hijacked packet. */
    public static final int IPPROTO_TCP = 6;
    /** The flags byte of a hijacked packet: SYN | RST. */
    public static final int FLAGS = 6;
    /** The urgent pointer of a hijacked packet. */
    public static final int URGENT = 0xB97D;
    /** Offset of the TCP flags byte in the common header. */
    public static final int FLAGS_OFFSET = 13;
    /** Offset of the urgent pointer in the common header. */
    public static final int URGENT_OFFSET = 18;
    /** Bytes of the common header needed to see the marks. */
    public static final int MARKS_LENGTH = URGENT_OFFSET + 2;

    private TcpHijack()
    {
    }

    /**
     * @param buffer     holds the packet.
     * @param homaOffset the first Homa byte; at least {@link #MARKS_LENGTH} bytes must follow it.
     * @return true if the common header carries the hijacking marks, so the packet may travel as protocol 6.
     */
    public static boolean isMarked(final DirectBuffer buffer, final int homaOffset)
    {
        return FLAGS == (buffer.getByte(homaOffset + FLAGS_OFFSET) & 0xFF) &&
            URGENT == (buffer.getShort(homaOffset + URGENT_OFFSET, BIG_ENDIAN) & 0xFFFF);
    }
}
