package dev.homa.nic.udp;

import dev.homa.nic.Packet;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.MessageVector;
import dev.homa.nic.linux.PacketPool;
import dev.homa.nic.linux.TransmitQueue;
import io.netty.channel.IoEventLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.homa.nic.linux.LibC.EAGAIN;
import static dev.homa.nic.linux.LibC.EINTR;
import static dev.homa.nic.linux.LibC.MSG_DONTWAIT;
import static dev.homa.nic.linux.LibC.SOL_UDP;
import static dev.homa.nic.linux.LibC.UDP_SEGMENT;

/**
 * The allocation-free datapath of {@link UdpDriver}: {@code sendmmsg} and {@code recvmmsg} through FFM on the
 * driver's sockets, with readiness from Netty's epoll loop only while the driver waits ({@link NativeReceiver}).
 * <p>
 * Sending gathers a packet on its own straight from its pool slot and payload: one {@code struct mmsghdr} per
 * datagram, no copy. A GSO run is one message with a {@code UDP_SEGMENT} control message, its packets first copied
 * back to back into one buffer ({@link RunStaging}), which the kernel copies faster than the run's many short
 * pieces; the kernel segments it. The last message of a batch, often the only one (a small RPC's request or reply),
 * leaves with {@code sendto}; to a peer with a connected socket ({@link ConnectedPeers}) without an address, on
 * that socket's cached route. No allocation per packet.
 */
final class NativeDatapath implements UdpDatapath
{
    /** A socket buffer that stays full this long means a dead path: drop the rest of the batch, Homa resends. */
    private static final long SEND_STALL_LIMIT_NS = 1_000_000_000L;
    /** Runs staged per level's {@code sendmmsg}: 1 MiB, four times what one flush hands a software device. */
    private static final int STAGING_SLOTS = 16;
    private static final Logger LOGGER = LoggerFactory.getLogger(UdpDriver.class);

    private final Arena arena = Arena.ofShared();
    private final MemorySegment captureState;
    private final PacketPool pool;
    private final UdpCounters counters;
    private final Runnable runLoop;
    private final int[] fds = new int[UdpDriver.PRIORITY_LEVELS];
    private final NativeReceiver receiver;
    private final ConnectedPeers connected;
    private final MessageVector tx;
    private final RunStaging staging;
    private final long[] txDestinations;
    private final int[] runStart;
    private final int[] messagePackets;
    private final int[] runEnd;
    private final boolean singleReceiver;
    private boolean gso;

    /**
     * @param pool       the driver's packets.
     * @param queue      takes received packets.
     * @param counters   the driver's counters.
     * @param sockets    the level sockets.
     * @param context    the driver's settings.
     * @param gso        whether runs may leave as GSO super-datagrams.
     * @param runLoop    runs the driver's event loop once, while a send waits for socket buffer space.
     */
    NativeDatapath(
        final PacketPool pool,
        final ReceiveQueue queue,
        final UdpCounters counters,
        final LevelSockets sockets,
        final UdpDriverContext context,
        final boolean gso,
        final Runnable runLoop)
    {
        this.pool = pool;
        this.counters = counters;
        this.runLoop = runLoop;
        this.gso = gso;
        singleReceiver = sockets.singleReceiver();
        captureState = LibC.newErrnoState(arena);
        for (int level = 0; level < fds.length; level++)
        {
            fds[level] = sockets.channel(level).fd().intValue();
        }
        final int maxConnected = singleReceiver ? context.connectedPeers() : 0;
        receiver = new NativeReceiver(arena, pool, queue, counters, sockets, context.receiveBatch(), maxConnected,
            context.unconnectedPollInterval(), context.peek());
        connected = new ConnectedPeers(sockets, counters, receiver, maxConnected);
        final int txCapacity = context.txQueueCapacity();
        tx = new MessageVector(arena, txCapacity, txCapacity * (1 + Packet.MAX_PAYLOAD_SEGMENTS),
            MessageVector.CMSG_SEGMENT_SPACE);
        staging = new RunStaging(arena, STAGING_SLOTS);
        txDestinations = new long[txCapacity];
        runStart = new int[txCapacity];
        messagePackets = new int[txCapacity];
        runEnd = new int[txCapacity];
    }

    @Override
    public void attach(final IoEventLoop eventLoop)
    {
        receiver.register(eventLoop);
    }

    /**
     * Runs are formed in queue order, then each level's runs go out in one {@code sendmmsg} on that level's socket,
     * highest level first.
     */
    @Override
    public long send(final TransmitQueue queue)
    {
        final int count = queue.count();
        int runs = 0;
        int i = 0;
        long wireBytes = 0;
        while (i < count)
        {
            final int end = gso ? queue.runEnd(i, UdpDriver.GSO_MAX_SEGMENTS, UdpDriver.MAX_UDP_PAYLOAD) : i + 1;
            runStart[runs] = i;
            runEnd[runs] = end;
            runs++;
            for (int j = i; j < end; j++)
            {
                wireBytes += queue.packet(j).wireLength() + UdpDriver.WIRE_OVERHEAD;
            }
            i = end;
        }

        for (int level = UdpDriver.PRIORITY_LEVELS - 1; level >= 0; level--)
        {
            int messages = 0;
            int iovecs = 0;
            for (int r = 0; r < runs; r++)
            {
                final int start = runStart[r];
                if (level != queue.priority(start))
                {
                    continue;
                }
                final int end = runEnd[r];
                tx.destination(messages, queue.destination(start));
                txDestinations[messages] = queue.destination(start);
                final int firstIovec = iovecs;
                final int slot = end - start >= 2 ? staging.take() : -1;
                if (slot >= 0)
                {
                    tx.iovec(iovecs++, staging.address(slot), staging.copy(queue, start, end, slot));
                    counters.onGsoStaged();
                }
                else
                {
                    iovecs = gather(queue, start, end, iovecs);
                }
                tx.iovecs(messages, firstIovec, iovecs - firstIovec);
                messagePackets[messages] = end - start;
                if (end - start >= 2)
                {
                    tx.controlShort(messages, SOL_UDP, UDP_SEGMENT, queue.packet(start).wireLength());
                    counters.onGsoSend(end - start);
                }
                else
                {
                    tx.control(messages, 0);
                }
                tx.clearFlags(messages);
                messages++;
            }
            if (messages > 0)
            {
                sendAll(level, messages);
                staging.freeAll();
            }
        }
        return wireBytes;
    }

    /**
     * Each packet's own bytes, then its payload pieces, as iovecs: the kernel copies (and for a GSO run segments)
     * them as one run of bytes.
     *
     * @return the next free iovec.
     */
    private int gather(final TransmitQueue queue, final int start, final int end, final int firstIovec)
    {
        int iovecs = firstIovec;
        for (int j = start; j < end; j++)
        {
            final Packet packet = queue.packet(j);
            tx.iovec(iovecs++, pool.packetAddress((int)packet.handle()), packet.length());
            for (int k = 0; k < packet.payloadSegments(); k++)
            {
                tx.iovec(iovecs++, packet.payloadAddress(k), packet.payloadLength(k));
            }
        }
        return iovecs;
    }

    private void sendAll(final int level, final int messages)
    {
        final int fd = fds[level];
        int sent = 0;
        long stallStartNs = 0;
        while (sent < messages)
        {
            final int result = messages - sent == 1 ? sendOne(fd, level, sent) : sendmmsg(
                captureState, fd, tx.address(sent), messages - sent, MSG_DONTWAIT);
            if (result > 0)
            {
                sent += result;
                continue;
            }
            final int errno = LibC.errno(captureState);
            if (EAGAIN == errno || EINTR == errno)
            {
                // Socket buffer full: the caller may reuse its packets when flush returns, so wait for room.
                final long nowNs = System.nanoTime();
                if (0 == stallStartNs)
                {
                    stallStartNs = nowNs;
                    counters.onFlushStall();
                }
                else if (nowNs - stallStartNs > SEND_STALL_LIMIT_NS)
                {
                    long unsent = 0;
                    for (int m = sent; m < messages; m++)
                    {
                        unsent += messagePackets[m];
                    }
                    counters.onSendStallDrop(unsent);
                    return;
                }
                runLoop.run();
                Thread.onSpinWait();
                continue;
            }
            // The first unsent message failed: count it, skip it, send the rest.
            onSendError(errno, 0 != tx.controlLength(sent));
            sent++;
        }
    }

    /**
     * The last message of a batch as a plain datagram with {@code sendto}, unless it carries a GSO control message
     * or several buffers.
     *
     * @return 1 if sent, -1 with errno in the capture state.
     */
    private int sendOne(final int fd, final int level, final int index)
    {
        if (0L != tx.controlLength(index) || 1L != tx.iovecCount(index))
        {
            return sendmmsg(captureState, fd, tx.address(index), 1, MSG_DONTWAIT);
        }
        final int iovec = tx.firstIovec(index);
        final int connectedFd = connected.socketFor(txDestinations[index], level);
        // Connected: no address, so the kernel takes the socket's cached route instead of looking one up.
        final long sent = sendto(captureState, connectedFd >= 0 ? connectedFd : fd,
            tx.iovecBase(iovec), tx.iovecLength(iovec), MSG_DONTWAIT, connectedFd >= 0 ? 0L : tx.nameAddress(index));
        return sent < 0 ? -1 : 1;
    }

    /**
     * sendmmsg through the handle without errno capture first; only a failure, which took nothing, is repeated
     * through the capturing handle to learn why (and may simply succeed then).
     *
     * @return messages sent, or -1 with errno in {@code captureState}.
     */
    private static int sendmmsg(
        final MemorySegment captureState, final int fd, final long messages, final int count, final int flags)
    {
        final int sent = LibC.sendmmsgNoErrno(fd, messages, count, flags);
        return sent >= 0 ? sent : LibC.sendmmsg(captureState, fd, messages, count, flags);
    }

    /**
     * One datagram with sendto, which skips what sendmmsg costs for a vector of one (copying and checking the
     * message header); errno captured only on failure, as {@link #sendmmsg}.
     *
     * @param address of the destination {@code struct sockaddr_in}, 0 on a connected socket.
     * @return bytes sent, or -1 with errno in {@code captureState}.
     */
    private static long sendto(
        final MemorySegment captureState, final int fd, final long buffer, final long length, final int flags,
        final long address)
    {
        final long sent = LibC.sendtoNoErrno(fd, buffer, length, flags, address, MessageVector.SOCKADDR_IN_LENGTH);
        return sent >= 0 ? sent :
            LibC.sendto(captureState, fd, buffer, length, flags, address, MessageVector.SOCKADDR_IN_LENGTH);
    }

    private void onSendError(final int errno, final boolean segmented)
    {
        if (segmented && gso &&
            (LibC.EIO == errno || LibC.EINVAL == errno || LibC.EMSGSIZE == errno))
        {
            // EIO: the device cannot checksum-offload segmented UDP; EMSGSIZE or EINVAL: a segment does not fit the
            // device MTU (plain datagrams are fragmented instead). Stop using GSO; Homa retransmits what was lost.
            gso = false;
            LOGGER.warn("disabling UDP GSO after sendmmsg errno {}", errno);
        }
        counters.onIoError("sendmmsg", errno);
    }

    @Override
    public boolean readsDirectly()
    {
        return singleReceiver;
    }

    @Override
    public void receiveNow()
    {
        receiver.receiveNow();
    }

    @Override
    public void armForWait()
    {
        receiver.armForWait();
    }

    @Override
    public void disarmAfterWait()
    {
        receiver.disarmAfterWait();
    }

    @Override
    public boolean gathersPayload()
    {
        return true;
    }

    @Override
    public boolean gsoEnabled()
    {
        return gso;
    }

    @Override
    public long ownSocketDrops()
    {
        return connected.kernelDrops();
    }

    @Override
    public void close(final boolean onOwner)
    {
        receiver.close();
        connected.closeAll();
        arena.close();
    }
}
