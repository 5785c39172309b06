package dev.homa.nic.linux;

import dev.homa.nic.HostAddress;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A flyweight over the argument of {@code sendmmsg(2)} and {@code recvmmsg(2)}: an array of {@code struct mmsghdr},
 * each with its own {@code struct sockaddr_in} and control buffer, and a shared array of {@code struct iovec} that
 * the messages point into. All native memory, allocated once and reused for every call (x86-64 / LP64 layout).
 * <pre>
 *  struct mmsghdr (64)                      struct iovec (16)   struct sockaddr_in (16)   struct cmsghdr (16 + data)
 *    0 msg_name        8 msg_namelen          0 iov_base          0 sin_family (2)          0 cmsg_len (8)
 *   16 msg_iov        24 msg_iovlen           8 iov_len           2 sin_port (2, BE)        8 cmsg_level (4)
 *   32 msg_control    40 msg_controllen                           4 sin_addr (4, BE)       12 cmsg_type (4)
 *   48 msg_flags (4)  56 msg_len (4)                              8 zero (8)               16 data, 8-aligned
 * </pre>
 */
public final class MessageVector
{
    /** Bytes of a {@code struct mmsghdr}. */
    public static final int MMSGHDR_LENGTH = 64;
    /** Bytes of a {@code struct iovec}. */
    public static final int IOVEC_LENGTH = 16;
    /** Bytes of a {@code struct sockaddr_in}. */
    public static final int SOCKADDR_IN_LENGTH = 16;
    /** {@code CMSG_SPACE(sizeof(uint16_t))}: a control buffer for one {@code UDP_SEGMENT} message. */
    public static final int CMSG_SEGMENT_SPACE = 24;
    /** {@code AF_INET}. */
    public static final int AF_INET = 2;
    private static final int MSG_NAME_OFFSET = 0;
    private static final int MSG_NAMELEN_OFFSET = 8;
    private static final int MSG_IOV_OFFSET = 16;
    private static final int MSG_IOVLEN_OFFSET = 24;
    private static final int MSG_CONTROL_OFFSET = 32;
    private static final int MSG_CONTROLLEN_OFFSET = 40;
    private static final int MSG_FLAGS_OFFSET = 48;
    private static final int MSG_LEN_OFFSET = 56;
    private static final int IOV_BASE_OFFSET = 0;
    private static final int IOV_LEN_OFFSET = 8;
    private static final int SIN_FAMILY_OFFSET = 0;
    private static final int SIN_PORT_OFFSET = 2;
    private static final int SIN_ADDR_OFFSET = 4;
    private static final int CMSG_LEN_OFFSET = 0;
    private static final int CMSG_LEVEL_OFFSET = 8;
    private static final int CMSG_TYPE_OFFSET = 12;
    private static final int CMSG_DATA_OFFSET = 16;
    private static final ValueLayout.OfShort PORT_LAYOUT =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt ADDRESS_LAYOUT =
        ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final MemorySegment messages;
    private final MemorySegment names;
    private final MemorySegment iovecs;
    private final MemorySegment controls;
    private final int controlLength;
    private final long address;

    /**
     * @param arena         owns the memory.
     * @param messages      headers in the vector.
     * @param iovecs        iovecs the headers share.
     * @param controlLength bytes of each header's control buffer, 0 for none.
     */
    public MessageVector(final Arena arena, final int messages, final int iovecs, final int controlLength)
    {
        this.messages = arena.allocate((long)MMSGHDR_LENGTH * messages, 64);
        this.names = arena.allocate((long)SOCKADDR_IN_LENGTH * messages, 64);
        this.iovecs = arena.allocate((long)IOVEC_LENGTH * iovecs, 64);
        this.controls = 0 == controlLength ? MemorySegment.NULL :
            arena.allocate((long)controlLength * messages, 64);
        this.controlLength = controlLength;
        this.address = this.messages.address();
        for (int i = 0; i < messages; i++)
        {
            set(i, MSG_NAME_OFFSET, names.address() + (long)i * SOCKADDR_IN_LENGTH);
        }
    }

    /**
     * @param first a header.
     * @return its address, for a call that starts there.
     */
    public long address(final int first)
    {
        return address + (long)first * MMSGHDR_LENGTH;
    }

    /**
     * Point header i at iovecs {@code first .. first + count - 1}.
     */
    public void iovecs(final int i, final int first, final int count)
    {
        set(i, MSG_IOV_OFFSET, iovecs.address() + (long)first * IOVEC_LENGTH);
        set(i, MSG_IOVLEN_OFFSET, count);
    }

    /**
     * Point header i at iovecs in separate memory, from {@code address} on.
     */
    public void iovecs(final int i, final long address, final int count)
    {
        set(i, MSG_IOV_OFFSET, address);
        set(i, MSG_IOVLEN_OFFSET, count);
    }

    /**
     * @param k       an iovec.
     * @param base    first byte.
     * @param length  bytes.
     */
    public void iovec(final int k, final long base, final long length)
    {
        iovec(iovecs, k, base, length);
    }

    /**
     * Write iovec k of a separate iovec array.
     */
    public static void iovec(final MemorySegment array, final int k, final long base, final long length)
    {
        final long iovec = (long)k * IOVEC_LENGTH;
        array.set(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET, base);
        array.set(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET, length);
    }

    /**
     * @return the first iovec header i points at, an index into the shared iovecs.
     */
    public int firstIovec(final int i)
    {
        return (int)((get(i, MSG_IOV_OFFSET) - iovecs.address()) / IOVEC_LENGTH);
    }

    /**
     * @return iovec k's base.
     */
    public long iovecBase(final int k)
    {
        return iovecs.get(ValueLayout.JAVA_LONG, (long)k * IOVEC_LENGTH + IOV_BASE_OFFSET);
    }

    /**
     * @return iovec k's length.
     */
    public long iovecLength(final int k)
    {
        return iovecs.get(ValueLayout.JAVA_LONG, (long)k * IOVEC_LENGTH + IOV_LEN_OFFSET);
    }

    /**
     * @return iovecs header i points at.
     */
    public long iovecCount(final int i)
    {
        return get(i, MSG_IOVLEN_OFFSET);
    }

    /**
     * Address header i to a destination (for sending).
     */
    public void destination(final int i, final long destination)
    {
        final long name = (long)i * SOCKADDR_IN_LENGTH;
        names.set(ValueLayout.JAVA_SHORT, name + SIN_FAMILY_OFFSET, (short)AF_INET);
        names.set(PORT_LAYOUT, name + SIN_PORT_OFFSET, (short)HostAddress.portOf(destination));
        names.set(ADDRESS_LAYOUT, name + SIN_ADDR_OFFSET, HostAddress.ipv4Of(destination));
        names.set(ValueLayout.JAVA_LONG, name + 8, 0L);
        messages.set(ValueLayout.JAVA_INT, (long)i * MMSGHDR_LENGTH + MSG_NAMELEN_OFFSET, SOCKADDR_IN_LENGTH);
    }

    /**
     * @return address of header i's {@code sockaddr_in}.
     */
    public long nameAddress(final int i)
    {
        return names.address() + (long)i * SOCKADDR_IN_LENGTH;
    }

    /**
     * @return the IPv4 sender a received header names, {@link HostAddress#NONE} if it is not IPv4.
     */
    public long source(final int i)
    {
        final long name = (long)i * SOCKADDR_IN_LENGTH;
        if (AF_INET != names.get(ValueLayout.JAVA_SHORT, name + SIN_FAMILY_OFFSET))
        {
            return HostAddress.NONE;
        }
        final int port = names.get(PORT_LAYOUT, name + SIN_PORT_OFFSET) & 0xFFFF;
        return HostAddress.ipv4(names.get(ADDRESS_LAYOUT, name + SIN_ADDR_OFFSET), port);
    }

    /**
     * Make header i ready for a receive: room for a {@code sockaddr_in}, {@code length} bytes of its control buffer,
     * no flags, no length.
     */
    public void resetForReceive(final int i, final int length)
    {
        final long message = (long)i * MMSGHDR_LENGTH;
        messages.set(ValueLayout.JAVA_INT, message + MSG_NAMELEN_OFFSET, SOCKADDR_IN_LENGTH);
        control(i, length);
        messages.set(ValueLayout.JAVA_INT, message + MSG_FLAGS_OFFSET, 0);
        messages.set(ValueLayout.JAVA_INT, message + MSG_LEN_OFFSET, 0);
    }

    /**
     * Give header i the first {@code length} bytes of its control buffer, or none for 0.
     */
    public void control(final int i, final int length)
    {
        set(i, MSG_CONTROL_OFFSET, 0 == length ? 0L : controls.address() + (long)i * controlLength);
        set(i, MSG_CONTROLLEN_OFFSET, length);
    }

    /**
     * Give header i a control message of one {@code uint16_t} (such as {@code UDP_SEGMENT}) and clear its flags.
     */
    public void controlShort(final int i, final int level, final int type, final int value)
    {
        final long control = (long)i * controlLength;
        controls.set(ValueLayout.JAVA_LONG, control + CMSG_LEN_OFFSET, CMSG_DATA_OFFSET + 2);
        controls.set(ValueLayout.JAVA_INT, control + CMSG_LEVEL_OFFSET, level);
        controls.set(ValueLayout.JAVA_INT, control + CMSG_TYPE_OFFSET, type);
        controls.set(ValueLayout.JAVA_SHORT, control + CMSG_DATA_OFFSET, (short)value);
        control(i, CMSG_SEGMENT_SPACE);
    }

    /**
     * @return bytes of control data header i carries.
     */
    public long controlLength(final int i)
    {
        return get(i, MSG_CONTROLLEN_OFFSET);
    }

    /**
     * @return offset in the control buffers of the data of header i's control message of that level and type, or -1.
     */
    public long controlData(final int i, final int cmsgLevel, final int cmsgType)
    {
        final long length = Math.min(controlLength, get(i, MSG_CONTROLLEN_OFFSET));
        final long base = (long)i * controlLength;
        long offset = 0;
        while (offset + CMSG_DATA_OFFSET <= length)
        {
            final long cmsgLength = controls.get(ValueLayout.JAVA_LONG, base + offset + CMSG_LEN_OFFSET);
            if (cmsgLength < CMSG_DATA_OFFSET || offset + cmsgLength > length)
            {
                break;
            }
            if (cmsgLevel == controls.get(ValueLayout.JAVA_INT, base + offset + CMSG_LEVEL_OFFSET) &&
                cmsgType == controls.get(ValueLayout.JAVA_INT, base + offset + CMSG_TYPE_OFFSET))
            {
                return base + offset + CMSG_DATA_OFFSET;
            }
            offset += (cmsgLength + 7) & ~7L;
        }
        return -1;
    }

    /**
     * @param dataOffset from {@link #controlData}.
     * @return the {@code int} there.
     */
    public int controlInt(final long dataOffset)
    {
        return controls.get(ValueLayout.JAVA_INT, dataOffset);
    }

    /**
     * @param dataOffset from {@link #controlData}.
     * @return the unsigned byte there.
     */
    public int controlByte(final long dataOffset)
    {
        return controls.get(ValueLayout.JAVA_BYTE, dataOffset) & 0xFF;
    }

    /**
     * Clear header i's flags before a send.
     */
    public void clearFlags(final int i)
    {
        messages.set(ValueLayout.JAVA_INT, (long)i * MMSGHDR_LENGTH + MSG_FLAGS_OFFSET, 0);
    }

    /**
     * @return {@code msg_flags} of header i after a receive.
     */
    public int flags(final int i)
    {
        return messages.get(ValueLayout.JAVA_INT, (long)i * MMSGHDR_LENGTH + MSG_FLAGS_OFFSET);
    }

    /**
     * @return {@code msg_len} of header i after a call: bytes received or sent.
     */
    public int length(final int i)
    {
        return messages.get(ValueLayout.JAVA_INT, (long)i * MMSGHDR_LENGTH + MSG_LEN_OFFSET);
    }

    private void set(final int i, final int field, final long value)
    {
        messages.set(ValueLayout.JAVA_LONG, (long)i * MMSGHDR_LENGTH + field, value);
    }

    private long get(final int i, final int field)
    {
        return messages.get(ValueLayout.JAVA_LONG, (long)i * MMSGHDR_LENGTH + field);
    }
}
