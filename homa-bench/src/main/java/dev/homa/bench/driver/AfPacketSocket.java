package dev.homa.bench.driver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import dev.homa.nic.linux.ClassicBpf;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.SocketOptions;
import org.agrona.concurrent.UnsafeBuffer;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The plainest ways to move Ethernet frames through {@code AF_PACKET}: one {@code SOCK_RAW} socket bound to an
 * interface, {@code send(2)} a frame, and receive either from a {@code TPACKET_V2} memory-mapped ring polled in a
 * busy loop (no system call per frame; each frame is visible the moment the kernel has written it) or with
 * {@code recv(2, MSG_DONTWAIT)} in a busy loop. No batching, no protocol: the floor that a raw Ethernet driver's
 * round trip is compared with.
 * <p>
 * Configured like homa-nic's raw driver where it changes the path a frame takes ({@code PACKET_QDISC_BYPASS},
 * {@code PACKET_IGNORE_OUTGOING}) and, like it, with an {@code AF_INET} raw socket for IPv4 protocol 146 under a
 * drop-everything filter, so the kernel does not answer every frame with ICMP "protocol unreachable" (which would
 * put a second frame on the veth for each one we send). Frames are received untagged: the kernel moves an 802.1Q tag
 * into metadata before a tap sees it.
 * <p>
 * Opened on the calling thread's network namespace. One thread uses a socket.
 */
public final class AfPacketSocket implements AutoCloseable
{
    /** Largest frame the receive buffer holds. */
    public static final int BUFFER_LENGTH = 9216;

    private static final int IPPROTO_HOMA = 146;
    // struct tpacket_req and the ring geometry: 16 blocks of 64 KiB, 2 KiB frames, frame i at i * RING_FRAME_SIZE.
    private static final int RING_BLOCK_SIZE = 1 << 16;
    private static final int RING_BLOCKS = 16;
    private static final int RING_FRAME_SIZE = 2048;
    private static final int RING_FRAMES = RING_BLOCK_SIZE / RING_FRAME_SIZE * RING_BLOCKS;
    // struct tpacket2_hdr.
    private static final int TP_STATUS_OFFSET = 0;
    private static final int TP_SNAPLEN_OFFSET = 8;
    private static final int TP_MAC_OFFSET = 12;
    private static final int TP_STATUS_KERNEL = 0;
    private static final int TP_STATUS_USER = 1;
    private static final int SOCKADDR_LL_LENGTH = 20;
    private static final long RING_BYTES = (long)RING_BLOCK_SIZE * RING_BLOCKS;

    private final Arena arena;
    private final MemorySegment errno;
    private final int fd;
    private final int guardFd;
    private final int ifIndex;
    private final UnsafeBuffer sendBuffer;
    private final UnsafeBuffer receiveBuffer;
    private final MemorySegment ringMapping;
    private final UnsafeBuffer ring;
    private int ringFrame;
    private long sendErrors;
    private int lastSendErrno;
    private boolean closed;

    private AfPacketSocket(final String interfaceName, final boolean qdiscBypass, final boolean rxRing)
    {
        arena = Arena.ofShared();
        errno = LibC.newErrnoState(arena);
        int packetFd = -1;
        int icmpGuardFd = -1;
        MemorySegment mapped = null;
        try
        {
            packetFd = LibC.socket(errno, LibC.AF_PACKET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
            if (packetFd < 0)
            {
                throw new IllegalStateException("socket(AF_PACKET, SOCK_RAW) failed (needs CAP_NET_RAW): " +
                    LibC.describe(LibC.errno(errno)));
            }
            final MemorySegment ifreq = arena.allocate(LibC.IFREQ_SIZE, 8);
            final byte[] name = interfaceName.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(name, 0, ifreq, ValueLayout.JAVA_BYTE, 0, name.length);
            if (0 != LibC.ioctl(errno, packetFd, LibC.SIOCGIFINDEX, ifreq))
            {
                throw new IllegalStateException("no interface " + interfaceName + " in this namespace: " +
                    LibC.describe(LibC.errno(errno)));
            }
            ifIndex = ifreq.get(ValueLayout.JAVA_INT, 16);
            if (qdiscBypass)
            {
                setInt(packetFd, LibC.SOL_PACKET, LibC.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
            }
            setInt(packetFd, LibC.SOL_PACKET, LibC.PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");
            if (rxRing)
            {
                setInt(packetFd, LibC.SOL_PACKET, LibC.PACKET_VERSION, LibC.TPACKET_V2, "PACKET_VERSION");
                final MemorySegment req = arena.allocate(16, 8);
                req.set(ValueLayout.JAVA_INT, 0, RING_BLOCK_SIZE);
                req.set(ValueLayout.JAVA_INT, 4, RING_BLOCKS);
                req.set(ValueLayout.JAVA_INT, 8, RING_FRAME_SIZE);
                req.set(ValueLayout.JAVA_INT, 12, RING_FRAMES);
                if (0 != LibC.setsockopt(errno, packetFd, LibC.SOL_PACKET, LibC.PACKET_RX_RING, req, 16))
                {
                    throw new IllegalStateException("setsockopt(PACKET_RX_RING) failed: " +
                        LibC.describe(LibC.errno(errno)));
                }
                final MemorySegment ringMapped = LibC.mmap(errno, RING_BYTES, LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_SHARED | LibC.MAP_POPULATE, packetFd);
                if (-1L == ringMapped.address())
                {
                    throw new IllegalStateException("mmap of the receive ring failed: " +
                        LibC.describe(LibC.errno(errno)));
                }
                mapped = ringMapped;
            }

            final MemorySegment sll = arena.allocate(SOCKADDR_LL_LENGTH, 8);
            sll.set(ValueLayout.JAVA_SHORT, 0, (short)LibC.AF_PACKET);
            sll.set(ValueLayout.JAVA_SHORT, 2, (short)LibC.htons(LibC.ETH_P_ALL));
            sll.set(ValueLayout.JAVA_INT, 4, ifIndex);
            if (0 != LibC.bind(errno, packetFd, sll, SOCKADDR_LL_LENGTH))
            {
                throw new IllegalStateException("bind to " + interfaceName + " failed: " +
                    LibC.describe(LibC.errno(errno)));
            }

            icmpGuardFd = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC,
                IPPROTO_HOMA);
            if (icmpGuardFd < 0)
            {
                throw new IllegalStateException("socket(AF_INET, SOCK_RAW, 146) failed: " +
                    LibC.describe(LibC.errno(errno)));
            }
            final int error = ClassicBpf.attach(arena, errno, icmpGuardFd, ClassicBpf.DROP_ALL);
            if (0 != error)
            {
                throw new IllegalStateException("SO_ATTACH_FILTER on the ICMP guard failed: " +
                    LibC.describe(error));
            }
        }
        catch (final RuntimeException ex)
        {
            if (null != mapped)
            {
                LibC.munmap(errno, mapped, RING_BYTES);
            }
            LibC.close(icmpGuardFd);
            LibC.close(packetFd);
            arena.close();
            throw ex;
        }
        fd = packetFd;
        guardFd = icmpGuardFd;
        sendBuffer = new UnsafeBuffer(arena.allocate(BUFFER_LENGTH, 64).address(), BUFFER_LENGTH);
        receiveBuffer = new UnsafeBuffer(arena.allocate(BUFFER_LENGTH, 64).address(), BUFFER_LENGTH);
        ringMapping = mapped;
        ring = null == mapped ? null : new UnsafeBuffer(mapped.address(), (int)RING_BYTES);
    }

    /**
     * Open a socket on an interface of the calling thread's namespace.
     *
     * @param interfaceName such as {@code veth-a}.
     * @param qdiscBypass   set {@code PACKET_QDISC_BYPASS} (the raw driver's default).
     * @param rxRing        receive through a {@code TPACKET_V2} ring instead of {@code recv(2)}.
     * @return the socket.
     * @throws IllegalStateException naming the failed call.
     */
    public static AfPacketSocket open(final String interfaceName, final boolean qdiscBypass, final boolean rxRing)
    {
        return new AfPacketSocket(interfaceName, qdiscBypass, rxRing);
    }

    /**
     * {@return off-heap buffer whose first {@code length} bytes {@link #send(int)} transmits}
     */
    public UnsafeBuffer sendBuffer()
    {
        return sendBuffer;
    }

    /**
     * {@return off-heap buffer that {@link #receive()} fills}
     */
    public UnsafeBuffer receiveBuffer()
    {
        return receiveBuffer;
    }

    /**
     * {@return the interface index the socket is bound to}
     */
    public int interfaceIndex()
    {
        return ifIndex;
    }

    /**
     * Send the first {@code length} bytes of {@link #sendBuffer()} as one frame, without blocking.
     *
     * @param length frame length (Ethernet header onwards, no FCS).
     * @return true if the kernel took it; false is counted in {@link #sendErrors()}.
     */
    public boolean send(final int length)
    {
        final long sent = LibC.sendFrame(errno, fd, sendBuffer.addressOffset(), length, LibC.MSG_DONTWAIT);
        if (sent != length)
        {
            sendErrors++;
            lastSendErrno = LibC.errno(errno);
            return false;
        }
        return true;
    }

    /**
     * Take one frame if one is waiting, without blocking.
     *
     * @return its length in {@link #receiveBuffer()}, or 0 if none is waiting.
     */
    public int receive()
    {
        if (null != ring)
        {
            return receiveFromRing();
        }
        final long length = LibC.recvFrame(errno, fd, receiveBuffer.addressOffset(), BUFFER_LENGTH,
            LibC.MSG_DONTWAIT);
        return length > 0 ? (int)length : 0;
    }

    private int receiveFromRing()
    {
        final UnsafeBuffer ring = this.ring;
        final int frame = ringFrame * RING_FRAME_SIZE;
        if (0 == (ring.getIntVolatile(frame + TP_STATUS_OFFSET) & TP_STATUS_USER))
        {
            return 0;
        }
        final int length = Math.min(ring.getInt(frame + TP_SNAPLEN_OFFSET, LITTLE_ENDIAN), BUFFER_LENGTH);
        final int mac = ring.getShort(frame + TP_MAC_OFFSET, LITTLE_ENDIAN) & 0xFFFF;
        // Copy out and hand the slot back at once, as a driver copying into its packet pool would.
        receiveBuffer.putBytes(0, ring, frame + mac, length);
        ring.putIntRelease(frame + TP_STATUS_OFFSET, TP_STATUS_KERNEL);
        ringFrame = ringFrame + 1 == RING_FRAMES ? 0 : ringFrame + 1;
        return length;
    }

    /**
     * {@return sends the kernel refused}
     */
    public long sendErrors()
    {
        return sendErrors;
    }

    /**
     * {@return errno of the last refused send, 0 if none}
     */
    public int lastSendErrno()
    {
        return lastSendErrno;
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        if (null != ringMapping)
        {
            LibC.munmap(errno, ringMapping, RING_BYTES);
        }
        LibC.close(guardFd);
        LibC.close(fd);
        arena.close();
    }

    private void setInt(final int socket, final int level, final int option, final int value, final String name)
    {
        if (!SocketOptions.trySetInt(arena, errno, socket, level, option, value))
        {
            throw new IllegalStateException("setsockopt(" + name + ") failed: " +
                LibC.describe(LibC.errno(errno)));
        }
    }
}
