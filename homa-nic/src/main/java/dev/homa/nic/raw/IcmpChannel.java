package dev.homa.nic.raw;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.UnreachableNotice;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.Ipv4Flyweight;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.linux.LibC;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * ICMP "destination unreachable" for the raw driver, both ways, through one {@code AF_INET}/{@code SOCK_RAW}
 * socket for protocol 1 (the kernel adds the IP header on send and routes it; a receive sees the whole datagram).
 * <ul>
 *     <li>Send: a Homa packet reached a port without a socket. As a kernel host's {@code icmp_send} from
 *     {@code homa_dispatch_pkts}, answer with type 3 code 3, quoting the packet's IPv4 header and as much of it
 *     as a 576-byte datagram holds. The IPv4 header is rebuilt from what the driver kept (addresses, length,
 *     level); a receiver reads only the protocol, the addresses and the Homa ports from it.</li>
 *     <li>Receive: a BPF filter passes only type 3 messages that quote a protocol 146 datagram; one that quotes a
 *     packet from this host becomes an {@link UnreachableNotice} from the host it was sent to, as
 *     {@code homa_err_handler_v4} reads it: port unreachable names the quoted destination port, any other code
 *     the whole host.</li>
 * </ul>
 */
final class IcmpChannel
{
    /** RFC 1812: the quote fills a 576-byte datagram at most (the kernel's icmp_send does the same). */
    private static final int MAX_DATAGRAM = 576;
    private static final int ICMP_HEADER_LENGTH = 8;
    private static final int MAX_QUOTE = MAX_DATAGRAM - FrameLayout.IPV4_HEADER_LENGTH - ICMP_HEADER_LENGTH;
    private static final int TYPE_DESTINATION_UNREACHABLE = 3;
    private static final int RECEIVE_BUFFER = 2048;
    private static final int SOCKADDR_IN_LENGTH = 16;

    // Classic BPF over the received IPv4 datagram: X = IP header length; ICMP type 3 quoting protocol 146 passes.
    private static final int[][] UNREACHABLE_FILTER =
    {
        { 0xb1, 0, 0, 0 },                                  // 0: X = 4 * (IP[0] & 0xf)
        { 0x50, 0, 0, 0 },                                  // 1: A = ICMP type
        { 0x15, 0, 3, TYPE_DESTINATION_UNREACHABLE },       // 2: unreachable ? 3 : drop
        { 0x50, 0, 0, ICMP_HEADER_LENGTH + 9 },             // 3: A = quoted IP protocol
        { 0x15, 0, 1, FrameLayout.IPPROTO_HOMA },           // 4: Homa ? accept : drop
        { 0x06, 0, 0, RECEIVE_BUFFER },                     // 5: accept
        { 0x06, 0, 0, 0 },                                  // 6: drop
    };

    private final MemorySegment errno;
    private final int fd;
    private final int localIp;
    private final MemorySegment out;
    private final UnsafeBuffer outBuffer;
    private final MemorySegment in;
    private final UnsafeBuffer inBuffer;
    private final MemorySegment destination;

    private IcmpChannel(final Arena arena, final MemorySegment errno, final int fd, final int localIp)
    {
        this.errno = errno;
        this.fd = fd;
        this.localIp = localIp;
        this.out = arena.allocate(MAX_DATAGRAM, 8);
        this.outBuffer = new UnsafeBuffer(out.address(), MAX_DATAGRAM);
        this.in = arena.allocate(RECEIVE_BUFFER, 8);
        this.inBuffer = new UnsafeBuffer(in.address(), RECEIVE_BUFFER);
        this.destination = arena.allocate(SOCKADDR_IN_LENGTH, 8);
    }

    /**
     * Open the socket in the calling thread's network namespace.
     *
     * @param arena   owns the buffers (the driver's).
     * @param errno   errno capture state.
     * @param localIp this host's address, network order.
     * @param filter  attaches a BPF program to a socket (the driver's helper).
     * @return the channel.
     * @throws RawEthernetException if the socket cannot be opened.
     */
    static IcmpChannel open(
        final Arena arena, final MemorySegment errno, final int localIp, final FilterAttacher filter)
    {
        final int fd = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_RAW | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC,
            LibC.IPPROTO_ICMP);
        if (fd < 0)
        {
            throw new RawEthernetException("cannot open the raw ICMP socket that answers and hears " +
                "\"port unreachable\": " + LibC.describe(LibC.errno(errno)));
        }
        try
        {
            filter.attach(fd, UNREACHABLE_FILTER, "ICMP unreachable filter");
        }
        catch (final RuntimeException ex)
        {
            LibC.close(fd);
            throw ex;
        }
        return new IcmpChannel(arena, errno, fd, localIp);
    }

    /**
     * Answer a received Homa packet with ICMP port unreachable.
     *
     * @param received the packet (its source, level and Homa bytes).
     * @return true if the kernel took the message.
     */
    boolean sendPortUnreachable(final Packet received)
    {
        final int sourceIp = HostAddress.ipv4Of(received.source());
        final int homaLength = received.length();
        final int quoted = Math.min(homaLength, MAX_QUOTE - FrameLayout.IPV4_HEADER_LENGTH);
        final UnsafeBuffer b = outBuffer;
        b.setMemory(0, ICMP_HEADER_LENGTH, (byte)0);
        b.putByte(0, (byte)TYPE_DESTINATION_UNREACHABLE);
        b.putByte(1, (byte)3);
        // The quoted IPv4 header, as the sender wrote it but for its identification and TTL.
        final int ip = ICMP_HEADER_LENGTH;
        b.putByte(ip + Ipv4Flyweight.VERSION_IHL_OFFSET, (byte)0x45);
        b.putByte(ip + Ipv4Flyweight.TOS_OFFSET,
            (byte)(received.priority() >= 0 ? PriorityMapping.levelToTos(received.priority()) : 0));
        b.putShort(ip + Ipv4Flyweight.TOTAL_LENGTH_OFFSET, (short)(FrameLayout.IPV4_HEADER_LENGTH + homaLength),
            BIG_ENDIAN);
        b.putShort(ip + Ipv4Flyweight.IDENTIFICATION_OFFSET, (short)0, BIG_ENDIAN);
        b.putShort(ip + Ipv4Flyweight.FLAGS_FRAGMENT_OFFSET, (short)Ipv4Flyweight.FLAG_DONT_FRAGMENT, BIG_ENDIAN);
        b.putByte(ip + Ipv4Flyweight.TTL_OFFSET, (byte)Ipv4Flyweight.DEFAULT_TTL);
        b.putByte(ip + Ipv4Flyweight.PROTOCOL_OFFSET, (byte)FrameLayout.IPPROTO_HOMA);
        b.putShort(ip + Ipv4Flyweight.HEADER_CHECKSUM_OFFSET, (short)0, BIG_ENDIAN);
        b.putInt(ip + Ipv4Flyweight.SOURCE_ADDRESS_OFFSET, sourceIp, BIG_ENDIAN);
        b.putInt(ip + Ipv4Flyweight.DESTINATION_ADDRESS_OFFSET, localIp, BIG_ENDIAN);
        b.putShort(ip + Ipv4Flyweight.HEADER_CHECKSUM_OFFSET,
            (short)Ipv4Flyweight.checksum(b, ip, FrameLayout.IPV4_HEADER_LENGTH), BIG_ENDIAN);
        b.putBytes(ip + FrameLayout.IPV4_HEADER_LENGTH, received.buffer(), 0, quoted);
        final int length = ICMP_HEADER_LENGTH + FrameLayout.IPV4_HEADER_LENGTH + quoted;
        b.putShort(2, (short)Ipv4Flyweight.checksum(b, 0, length), BIG_ENDIAN);

        destination.fill((byte)0);
        destination.set(JAVA_SHORT, 0, (short)LibC.AF_INET);
        destination.set(JAVA_INT, 4, Integer.reverseBytes(sourceIp));
        return LibC.sendto(errno, fd, out, length, LibC.MSG_DONTWAIT, destination, SOCKADDR_IN_LENGTH) == length;
    }

    /**
     * Read one waiting ICMP message, if any, into {@code packet} as an {@link UnreachableNotice}.
     *
     * @param packet a free pool packet to write the notice into.
     * @return 1 if a notice was written, 0 if a message was read and ignored, -1 if none was waiting.
     */
    int receive(final Packet packet)
    {
        final long length = LibC.recvNoErrno(fd, in.address(), RECEIVE_BUFFER, LibC.MSG_DONTWAIT);
        if (length <= 0)
        {
            return -1;
        }
        final UnsafeBuffer b = inBuffer;
        final int ihl = (in.get(JAVA_BYTE, 0) & 0xF) * 4;
        final int quote = ihl + ICMP_HEADER_LENGTH;
        if (length < quote + FrameLayout.IPV4_HEADER_LENGTH + 4)
        {
            return 0;
        }
        final int quotedIhl = (b.getByte(quote) & 0xF) * 4;
        final int homa = quote + quotedIhl;
        if (FrameLayout.IPPROTO_HOMA != (b.getByte(quote + Ipv4Flyweight.PROTOCOL_OFFSET) & 0xFF) ||
            localIp != b.getInt(quote + Ipv4Flyweight.SOURCE_ADDRESS_OFFSET, BIG_ENDIAN) || length < homa + 4)
        {
            return 0;
        }
        final int code = b.getByte(ihl + 1) & 0xFF;
        final int unreachableIp = b.getInt(quote + Ipv4Flyweight.DESTINATION_ADDRESS_OFFSET, BIG_ENDIAN);
        final int refusedPort = b.getShort(homa, BIG_ENDIAN) & 0xFFFF;
        final int unreachablePort = UnreachableNotice.PORT == code ? b.getShort(homa + 2, BIG_ENDIAN) & 0xFFFF : 0;
        final long senderId = length >= homa + 28 ? b.getLong(homa + 20, BIG_ENDIAN) ^ 1 : 0;
        UnreachableNotice.write(packet.buffer(), unreachablePort, refusedPort, senderId, code);
        packet.length(UnreachableNotice.LENGTH).source(HostAddress.ipv4(unreachableIp)).priority(-1);
        return 1;
    }

    /**
     * @return the socket, to wait on while idle.
     */
    int fd()
    {
        return fd;
    }

    void close()
    {
        LibC.close(fd);
    }

    /**
     * Attaches a classic BPF program to a socket.
     */
    @FunctionalInterface
    interface FilterAttacher
    {
        /**
         * @param fd      the socket.
         * @param program {code, jt, jf, k} instructions.
         * @param name    for the error message.
         */
        void attach(int fd, int[][] program, String name);
    }
}
