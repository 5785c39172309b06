package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.linux.LibC;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a {@link UdpDriver} counts: written on the driver's owner thread only, read from anywhere (a reader may see
 * a value a moment old). The driver reports the first {@link #COUNT} as its {@code NicDriver} counters.
 */
public final class UdpCounters
{
    /** Counters the driver reports through {@code NicDriver.counterValue}, in this order. */
    static final int COUNT = 19;
    /** Index of the kernel's receive drops, which the driver reads from its sockets when asked. */
    static final int KERNEL_RECEIVE_DROPS = 9;
    /** Index of the sockets' receive buffer, which the driver reads from its sockets; not stored here. */
    static final int SOCKET_RECEIVE_BUFFER = 14;
    private static final String[] NAMES = {
        "packets_sent", "packets_received", "gso_sends", "gso_segments", "gro_super_datagrams",
        "rx_dropped_no_buffer", "rx_dropped_oversize", "rx_dropped_empty", "rx_dropped_other", "kernel_receive_drops",
        "io_errors", "tx_dropped_stalled", "flush_stalls", "connected_sockets", "socket_receive_buffer", "rx_placed",
        "rx_place_misses", "gso_staged", "rx_place_moved" };
    private static final Logger LOGGER = LoggerFactory.getLogger(UdpDriver.class);

    private long packetsSent;
    private long packetsReceived;
    private long gsoSends;
    private long gsoSegments;
    private long groSuperDatagrams;
    private long rxDroppedNoBuffer;
    private long rxDroppedOversize;
    private long rxDroppedEmpty;
    private long rxDroppedOther;
    private volatile long kernelReceiveDrops;
    private long ioErrors;
    private long txDroppedStalled;
    private long flushStalls;
    private long rxPlaced;
    private long rxPlaceMisses;
    private long gsoStaged;
    private long rxPlaceMoved;
    private int connectedSockets;
    private long connectedSends;
    private long connectedRelevels;
    private int lastErrno;
    private boolean ioErrorLogged;

    UdpCounters()
    {
    }

    static String name(final int index)
    {
        return NAMES[index];
    }

    long value(final int index)
    {
        return switch (index)
        {
            case 0 -> packetsSent;
            case 1 -> packetsReceived;
            case 2 -> gsoSends;
            case 3 -> gsoSegments;
            case 4 -> groSuperDatagrams;
            case 5 -> rxDroppedNoBuffer;
            case 6 -> rxDroppedOversize;
            case 7 -> rxDroppedEmpty;
            case 8 -> rxDroppedOther;
            case KERNEL_RECEIVE_DROPS -> kernelReceiveDrops;
            case 10 -> ioErrors;
            case 11 -> txDroppedStalled;
            case 12 -> flushStalls;
            case 13 -> connectedSockets;
            case 15 -> rxPlaced;
            case 16 -> rxPlaceMisses;
            case 17 -> gsoStaged;
            case 18 -> rxPlaceMoved;
            default -> throw new IndexOutOfBoundsException("counter " + index + " of " + COUNT);
        };
    }

    void onSent(final int packets)
    {
        packetsSent += packets;
    }

    void onReceived()
    {
        packetsReceived++;
    }

    void onGsoSend(final int segments)
    {
        gsoSends++;
        gsoSegments += segments;
    }

    /**
     * A GSO run left from one contiguous copy rather than gathered from its pieces.
     */
    void onGsoStaged()
    {
        gsoStaged++;
    }

    void onGroSuperDatagram()
    {
        groSuperDatagrams++;
    }

    /**
     * @param flags  the datagram's {@code msg_flags}.
     * @param length its length.
     * @param source its sender.
     * @return true if a received datagram can be a packet; otherwise it is counted under its reason.
     */
    boolean accepts(final int flags, final int length, final long source)
    {
        if (0 != (flags & LibC.MSG_TRUNC))
        {
            onDroppedOversize();
            return false;
        }
        if (0 == length)
        {
            onDroppedEmpty();
            return false;
        }
        if (HostAddress.NONE == source)
        {
            onDroppedOther();
            return false;
        }
        return true;
    }

    /**
     * A datagram's payload was read straight to where its message wants it.
     */
    void onPlaced()
    {
        rxPlaced++;
    }

    /**
     * A datagram's bytes landed in guessed places that its header did not confirm: they were moved to the places its
     * header names ({@link #onPlaceMoved()}) or back into its slot.
     */
    void onPlaceMiss()
    {
        rxPlaceMisses++;
    }

    /**
     * A wrongly guessed datagram's payload was moved straight to the places its header names.
     */
    void onPlaceMoved()
    {
        rxPlaceMoved++;
    }

    void onDroppedNoBuffer()
    {
        rxDroppedNoBuffer++;
    }

    void onDroppedOversize()
    {
        rxDroppedOversize++;
    }

    void onDroppedEmpty()
    {
        rxDroppedEmpty++;
    }

    void onDroppedOther()
    {
        rxDroppedOther++;
    }

    /**
     * @param drops the kernel's latest drop count; the counter never goes back (a closed socket's count is gone).
     */
    void onKernelReceiveDrops(final long drops)
    {
        kernelReceiveDrops = Math.max(kernelReceiveDrops, drops);
    }

    void onFlushStall()
    {
        flushStalls++;
    }

    void onSendStallDrop(final long packets)
    {
        txDroppedStalled += packets;
        LOGGER.warn("udp driver dropped {} packets after the socket buffer stayed full for a second", packets);
    }

    void onConnectedSocket()
    {
        connectedSockets++;
    }

    void onConnectedSend()
    {
        connectedSends++;
    }

    void onConnectedRelevel()
    {
        connectedRelevels++;
    }

    /**
     * A failed system call: counted, its errno kept, the first one logged.
     *
     * @param call  the call that failed.
     * @param errno its errno, 0 if unknown.
     */
    void onIoError(final String call, final int errno)
    {
        ioErrors++;
        lastErrno = errno;
        if (!ioErrorLogged)
        {
            ioErrorLogged = true;
            LOGGER.warn("udp driver {} failed with errno {} (logged once, counted in ioErrors)", call, errno);
        }
    }

    /**
     * An I/O error Netty reported: counted, the first one logged.
     *
     * @param cause what Netty reported.
     */
    void onIoError(final Throwable cause)
    {
        ioErrors++;
        if (!ioErrorLogged)
        {
            ioErrorLogged = true;
            LOGGER.warn("udp driver I/O error (logged once, counted in ioErrors): {}", cause.toString());
        }
    }

    /**
     * @return packets handed to the kernel.
     */
    public long packetsSent()
    {
        return packetsSent;
    }

    /**
     * @return packets received and handed on (into the receive queue or straight to the sink).
     */
    public long packetsReceived()
    {
        return packetsReceived;
    }

    /**
     * @return GSO super-datagrams sent.
     */
    public long gsoSends()
    {
        return gsoSends;
    }

    /**
     * @return GSO super-datagrams sent from one contiguous copy of their packets rather than gathered from them.
     */
    public long gsoStaged()
    {
        return gsoStaged;
    }

    /**
     * @return packets sent inside GSO super-datagrams.
     */
    public long gsoSegments()
    {
        return gsoSegments;
    }

    /**
     * @return coalesced datagrams received with UDP GRO and cut into packets (native datapath).
     */
    public long groSuperDatagrams()
    {
        return groSuperDatagrams;
    }

    /**
     * @return received datagrams whose payload was read straight to where its message wants it.
     */
    public long rxPlaced()
    {
        return rxPlaced;
    }

    /**
     * @return received datagrams whose bytes landed in guessed places their header did not confirm: each costs a
     * copy that a right guess would have saved ({@link #rxPlaceMoved()}), or two where its bytes went back into its
     * slot and the sink copied its payload.
     */
    public long rxPlaceMisses()
    {
        return rxPlaceMisses;
    }

    /**
     * @return wrongly guessed datagrams whose payload was moved straight from where it landed to the places its
     * header names, where no other datagram of their batch had bytes, and handed over placed.
     */
    public long rxPlaceMoved()
    {
        return rxPlaceMoved;
    }

    /**
     * @return received datagrams dropped because the packet pool was empty.
     */
    public long rxDroppedNoBuffer()
    {
        return rxDroppedNoBuffer;
    }

    /**
     * @return received datagrams dropped because they exceeded the driver's largest packet (or were truncated).
     */
    public long rxDroppedOversize()
    {
        return rxDroppedOversize;
    }

    /**
     * @return received datagrams dropped because they were empty (no Homa header at all).
     */
    public long rxDroppedEmpty()
    {
        return rxDroppedEmpty;
    }

    /**
     * @return received datagrams dropped for another reason (no IPv4 sender).
     */
    public long rxDroppedOther()
    {
        return rxDroppedOther;
    }

    /**
     * @return I/O errors (failed sends, failed reads).
     */
    public long ioErrors()
    {
        return ioErrors;
    }

    /**
     * @return errno of the latest failed {@code sendmmsg}/{@code recvmmsg} (native datapath), 0 if none.
     */
    public int lastErrno()
    {
        return lastErrno;
    }

    /**
     * @return packets dropped on send because the socket buffer stayed full for a second (native datapath).
     */
    public long txDroppedStalled()
    {
        return txDroppedStalled;
    }

    /**
     * @return flushes that had to wait for socket buffer space.
     */
    public long flushStalls()
    {
        return flushStalls;
    }

    /**
     * @return connected sockets opened so far ({@link UdpDriverContext#connectedPeers(int)}).
     */
    public int connectedSockets()
    {
        return connectedSockets;
    }

    /**
     * @return datagrams sent on connected sockets.
     */
    public long connectedSends()
    {
        return connectedSends;
    }

    /**
     * @return times a connected socket moved to another level.
     */
    public long connectedRelevels()
    {
        return connectedRelevels;
    }
}
