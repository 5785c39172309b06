package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.agrona.collections.Long2LongHashMap;
import dev.homa.nic.frame.EthernetFlyweight;
import dev.homa.nic.linux.LibC;
import org.agrona.collections.IntHashSet;
import org.agrona.concurrent.UnsafeBuffer;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Next-hop MAC addresses from the kernel's neighbour (ARP) table, read over an rtnetlink socket opened at start.
 * <p>
 * Why netlink rather than {@code /proc/net/arp}: the socket keeps the network namespace it was created in, so a
 * driver opened inside a namespace (for instance from a thread that entered it with {@code setns}) keeps reading the
 * right table from any thread; {@code /proc/net} follows the reading process instead. Parsing binary attributes
 * into preallocated buffers also allocates nothing.
 * <p>
 * The kernel stays the owner of ARP: a missing entry is resolved by asking the kernel to use it
 * ({@code RTM_NEWNEIGH} with {@code NTF_USE}, as {@code ip neigh replace ADDR dev IF use} does), which sends the
 * ARP request and records the reply. Because our frames bypass the kernel, it never confirms entries on its own;
 * they age to STALE, and the periodic refresh re-arms the ones we use the same way, so the kernel re-probes them
 * (unicast ARP) and a changed MAC is picked up. Single-threaded: owned by the driver's thread.
 */
final class NeighbourTable implements AutoCloseable
{
    static final long NO_MAC = -1L;

    private static final int RTM_NEWNEIGH = 28;
    private static final int RTM_GETNEIGH = 30;
    private static final int NLMSG_ERROR = 2;
    private static final int NLMSG_DONE = 3;
    private static final int NLM_F_REQUEST = 0x1;
    private static final int NLM_F_MULTI = 0x2;
    private static final int NLM_F_ACK = 0x4;
    private static final int NLM_F_REPLACE = 0x100;
    private static final int NLM_F_DUMP = 0x300;
    private static final int NLM_F_CREATE = 0x400;
    private static final int NDA_DST = 1;
    private static final int NDA_LLADDR = 2;
    private static final int NTF_USE = 0x01;
    private static final int NUD_INCOMPLETE = 0x01;
    private static final int NUD_REACHABLE = 0x02;
    private static final int NUD_STALE = 0x04;
    private static final int NUD_DELAY = 0x08;
    private static final int NUD_PROBE = 0x10;
    private static final int NUD_NOARP = 0x40;
    private static final int NUD_PERMANENT = 0x80;
    private static final int NUD_VALID =
        NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;

    private static final int NLMSG_HEADER_LENGTH = 16;
    private static final int NDMSG_LENGTH = 12;
    private static final int RECEIVE_BUFFER_LENGTH = 64 * 1024;

    private final int ifIndex;
    private final int fd;
    private final MemorySegment errno;
    private final MemorySegment requestSegment;
    private final UnsafeBuffer request;
    private final MemorySegment receiveSegment;
    private final UnsafeBuffer receive;
    private final Long2LongHashMap macByIp = new Long2LongHashMap(64, 0.65f, NO_MAC);
    private final IntHashSet used = new IntHashSet(64, 0.65f, true);
    private final IntHashSet stale = new IntHashSet(64, 0.65f, true);
    private int sequence;
    private long refreshes;
    private int generation;
    private long resolutionRequests;

    NeighbourTable(final Arena arena, final int ifIndex)
    {
        this.ifIndex = ifIndex;
        this.errno = LibC.newErrnoState(arena);
        this.requestSegment = arena.allocate(128, 8);
        this.request = new UnsafeBuffer(requestSegment.address(), (int)requestSegment.byteSize());
        this.receiveSegment = arena.allocate(RECEIVE_BUFFER_LENGTH, 8);
        this.receive = new UnsafeBuffer(receiveSegment.address(), RECEIVE_BUFFER_LENGTH);
        this.fd = LibC.socket(errno, LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new RawEthernetException("cannot open an rtnetlink socket to read the neighbour table: " +
                LibC.describe(LibC.errno(errno)));
        }
        // The kernel answers synchronously; a receive timeout turns a kernel that never answers into an error
        // instead of a protocol thread blocked for ever.
        final MemorySegment timeout = arena.allocate(16, 8);
        timeout.set(JAVA_LONG, 0, 1L);
        LibC.setsockopt(errno, fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, timeout, 16);
    }

    /**
     * @param ip IPv4 address, network order as an int.
     * @return its MAC address (48 bits), or {@link #NO_MAC} if the kernel has no valid entry.
     */
    long lookup(final int ip)
    {
        final long mac = macByIp.get(ip & 0xFFFF_FFFFL);
        if (NO_MAC != mac)
        {
            used.add(ip);
        }
        return mac;
    }

    /**
     * Reload the table for our interface from the kernel, then re-arm STALE entries we used since the last refresh.
     */
    void refresh()
    {
        refreshes++;
        generation++;
        macByIp.clear();
        stale.clear();
        final int seq = ++sequence;
        request.setMemory(0, NLMSG_HEADER_LENGTH + NDMSG_LENGTH, (byte)0);
        request.putInt(0, NLMSG_HEADER_LENGTH + NDMSG_LENGTH, LITTLE_ENDIAN);
        request.putShort(4, (short)RTM_GETNEIGH, LITTLE_ENDIAN);
        request.putShort(6, (short)(NLM_F_REQUEST | NLM_F_DUMP), LITTLE_ENDIAN);
        request.putInt(8, seq, LITTLE_ENDIAN);
        request.putByte(NLMSG_HEADER_LENGTH, (byte)LibC.AF_INET);
        request.putInt(NLMSG_HEADER_LENGTH + 4, ifIndex, LITTLE_ENDIAN);
        sendRequest(NLMSG_HEADER_LENGTH + NDMSG_LENGTH);

        boolean done = false;
        while (!done)
        {
            final long length = LibC.recv(errno, fd, receiveSegment, RECEIVE_BUFFER_LENGTH, 0);
            if (length < 0)
            {
                final int error = LibC.errno(errno);
                if (LibC.EINTR == error)
                {
                    continue;
                }
                throw new RawEthernetException("reading the neighbour table failed: " + LibC.describe(error) +
                    (LibC.EAGAIN == error ? " (no answer from the kernel within 1 s)" : ""));
            }
            int offset = 0;
            while (offset + NLMSG_HEADER_LENGTH <= length)
            {
                final int messageLength = receive.getInt(offset, LITTLE_ENDIAN);
                final int type = receive.getShort(offset + 4, LITTLE_ENDIAN) & 0xFFFF;
                final int flags = receive.getShort(offset + 6, LITTLE_ENDIAN) & 0xFFFF;
                if (messageLength < NLMSG_HEADER_LENGTH || offset + messageLength > length)
                {
                    done = true;
                    break;
                }
                if (NLMSG_DONE == type || NLMSG_ERROR == type)
                {
                    done = true;
                    break;
                }
                if (RTM_NEWNEIGH == type)
                {
                    onNeighbour(offset + NLMSG_HEADER_LENGTH, messageLength - NLMSG_HEADER_LENGTH);
                }
                if (0 == (flags & NLM_F_MULTI))
                {
                    done = true;
                }
                offset += align4(messageLength);
            }
        }

        // Entries we send to but the kernel holds as STALE: ask it to re-confirm them (unicast ARP probe).
        final IntHashSet.IntIterator iterator = stale.iterator();
        while (iterator.hasNext())
        {
            final int ip = iterator.nextValue();
            if (used.contains(ip))
            {
                requestResolution(ip);
            }
        }
        used.clear();
    }

    /**
     * Ask the kernel to resolve {@code ip} (sends an ARP request if it has no valid entry); the answer shows up in
     * a later {@link #refresh()}.
     *
     * @param ip IPv4 address, network order as an int.
     * @return 0 on success, else the errno the kernel returned.
     */
    int requestResolution(final int ip)
    {
        resolutionRequests++;
        final int seq = ++sequence;
        final int attributeOffset = NLMSG_HEADER_LENGTH + NDMSG_LENGTH;
        final int length = attributeOffset + 8;
        request.setMemory(0, length, (byte)0);
        request.putInt(0, length, LITTLE_ENDIAN);
        request.putShort(4, (short)RTM_NEWNEIGH, LITTLE_ENDIAN);
        request.putShort(6, (short)(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE), LITTLE_ENDIAN);
        request.putInt(8, seq, LITTLE_ENDIAN);
        request.putByte(NLMSG_HEADER_LENGTH, (byte)LibC.AF_INET);
        request.putInt(NLMSG_HEADER_LENGTH + 4, ifIndex, LITTLE_ENDIAN);
        request.putShort(NLMSG_HEADER_LENGTH + 8, (short)NUD_INCOMPLETE, LITTLE_ENDIAN);
        request.putByte(NLMSG_HEADER_LENGTH + 10, (byte)NTF_USE);
        request.putShort(attributeOffset, (short)8, LITTLE_ENDIAN);
        request.putShort(attributeOffset + 2, (short)NDA_DST, LITTLE_ENDIAN);
        request.putInt(attributeOffset + 4, ip, BIG_ENDIAN);
        sendRequest(length);

        // The kernel acknowledges synchronously: read the NLMSG_ERROR carrying 0 or -errno.
        while (true)
        {
            final long received = LibC.recv(errno, fd, receiveSegment, RECEIVE_BUFFER_LENGTH, 0);
            if (received < 0)
            {
                final int error = LibC.errno(errno);
                if (LibC.EINTR == error)
                {
                    continue;
                }
                return error;
            }
            if (received >= NLMSG_HEADER_LENGTH + 4 &&
                NLMSG_ERROR == (receive.getShort(4, LITTLE_ENDIAN) & 0xFFFF) &&
                seq == receive.getInt(8, LITTLE_ENDIAN))
            {
                return -receive.getInt(NLMSG_HEADER_LENGTH, LITTLE_ENDIAN);
            }
        }
    }

    /**
     * @return a number that changes whenever the table may have changed: a caller's cached lookup is valid while
     * it stays the same.
     */
    int generation()
    {
        return generation;
    }

    long refreshes()
    {
        return refreshes;
    }

    long resolutionRequests()
    {
        return resolutionRequests;
    }

    @Override
    public void close()
    {
        LibC.close(fd);
    }

    private void onNeighbour(final int offset, final int length)
    {
        if (length < NDMSG_LENGTH || LibC.AF_INET != receive.getByte(offset) ||
            ifIndex != receive.getInt(offset + 4, LITTLE_ENDIAN))
        {
            return;
        }
        final int state = receive.getShort(offset + 8, LITTLE_ENDIAN) & 0xFFFF;
        int ip = 0;
        boolean haveIp = false;
        long mac = NO_MAC;
        int attribute = offset + NDMSG_LENGTH;
        final int end = offset + length;
        while (attribute + 4 <= end)
        {
            final int attributeLength = receive.getShort(attribute, LITTLE_ENDIAN) & 0xFFFF;
            final int attributeType = receive.getShort(attribute + 2, LITTLE_ENDIAN) & 0x3FFF;
            if (attributeLength < 4 || attribute + attributeLength > end)
            {
                return;
            }
            if (NDA_DST == attributeType && 8 == attributeLength)
            {
                ip = receive.getInt(attribute + 4, BIG_ENDIAN);
                haveIp = true;
            }
            else if (NDA_LLADDR == attributeType && 10 == attributeLength)
            {
                mac = EthernetFlyweight.macOf(receive, attribute + 4);
            }
            attribute += align4(attributeLength);
        }
        if (haveIp && NO_MAC != mac && 0 != (state & NUD_VALID))
        {
            macByIp.put(ip & 0xFFFF_FFFFL, mac);
            if (0 != (state & NUD_STALE))
            {
                stale.add(ip);
            }
        }
    }

    private void sendRequest(final int length)
    {
        while (true)
        {
            final long sent = LibC.send(errno, fd, requestSegment, length, 0);
            if (sent >= 0)
            {
                return;
            }
            final int error = LibC.errno(errno);
            if (LibC.EINTR != error)
            {
                throw new RawEthernetException("rtnetlink request failed: " + LibC.describe(error));
            }
        }
    }

    private static int align4(final int length)
    {
        return (length + 3) & ~3;
    }
}
