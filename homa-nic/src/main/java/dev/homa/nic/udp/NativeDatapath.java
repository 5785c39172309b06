package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.homa.nic.udp.LinuxUdpCalls.AF_INET;
import static dev.homa.nic.udp.LinuxUdpCalls.CMSG_DATA_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.CMSG_LEN_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.CMSG_LEVEL_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.CMSG_SEGMENT_LEN;
import static dev.homa.nic.udp.LinuxUdpCalls.CMSG_SEGMENT_SPACE;
import static dev.homa.nic.udp.LinuxUdpCalls.CMSG_TYPE_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.EAGAIN;
import static dev.homa.nic.udp.LinuxUdpCalls.ECONNREFUSED;
import static dev.homa.nic.udp.LinuxUdpCalls.EINTR;
import static dev.homa.nic.udp.LinuxUdpCalls.IOVEC_LENGTH;
import static dev.homa.nic.udp.LinuxUdpCalls.IOV_BASE_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.IOV_LEN_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MMSGHDR_LENGTH;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_CONTROLLEN_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_CONTROL_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_DONTWAIT;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_PEEK;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_FLAGS_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_IOVLEN_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_IOV_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_LEN_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_NAMELEN_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_NAME_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.MSG_TRUNC;
import static dev.homa.nic.udp.LinuxUdpCalls.SIN_ADDR_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.SIN_FAMILY_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.SIN_PORT_OFFSET;
import static dev.homa.nic.udp.LinuxUdpCalls.SOCKADDR_IN_LENGTH;
import static dev.homa.nic.udp.LinuxUdpCalls.SOL_UDP;
import static dev.homa.nic.udp.LinuxUdpCalls.UDP_GRO;
import static dev.homa.nic.udp.LinuxUdpCalls.UDP_SEGMENT;

/**
 * The allocation-free datapath of {@link UdpDriver}: {@code sendmmsg} and {@code recvmmsg} through FFM on the
 * driver's sockets, with readiness from Netty's epoll loop through one {@link EpollIoHandle} per socket.
 * <p>
 * Sending gathers straight from the pool slots: one {@code struct mmsghdr} per datagram, and for a GSO run one
 * message whose iovecs are the run's slots with a {@code UDP_SEGMENT} control message, so the kernel both gathers
 * and segments - no copy at all. Receiving without GRO scatters straight into free pool slots (a datagram that
 * does not fit comes back with {@code MSG_TRUNC} and is dropped); with GRO it reads coalesced super-datagrams
 * into 64 KiB staging buffers and cuts them at the {@code UDP_GRO} segment size into slots, or, for a sink that
 * releases every packet before it returns, lends it each segment in place (no copy at all). All headers, iovecs,
 * addresses and control buffers are preallocated native memory, reused for every call.
 * <p>
 * Connected peers ({@link UdpDriverContext#connectedPeers(int)}): a lone datagram to a peer that has a connected
 * socket at its level leaves with {@code sendto} without an address on that socket, and the socket is read after
 * the receive socket on every poll; the kernel delivers that peer's datagrams to it with the routes cached.
 */
final class NativeDatapath
{
    private static final int MAX_RECEIVE_CALLS_PER_EVENT = 4;
    /** A socket buffer that stays full this long means a dead path: drop the rest of the batch, Homa resends. */
    private static final long SEND_STALL_LIMIT_NS = 1_000_000_000L;
    private static final int GRO_BUFFER_LENGTH = 65_536;
    private static final int RX_CONTROL_LENGTH = 64;
    /** One failed read in this many is repeated with errno captured (see {@link LinuxUdpCalls#recvmmsg}). */
    private static final long ERRNO_SAMPLE_MASK = (1 << 10) - 1;
    private static final int GRO_BATCH_MAX = 8;
    /** Bytes of a datagram's start a placing sink may see before it is read. */
    private static final int PEEK_LENGTH = 64;
    /** Polls that keep peeking after the last large datagram. */
    private static final int PLACEMENT_POLLS = 64;
    private static final int IP_TOS = 1;
    private static final ValueLayout.OfShort PORT_LAYOUT =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt ADDRESS_LAYOUT =
        ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final UdpDriver driver;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment captureState;
    private final MemorySegment pool;
    private final int stride;
    private final int maxPacketLength;
    private final int[] fds;
    private final IoRegistration[] registrations;
    private final int[] rxFds;
    private final boolean[] rxBursts;
    private final Receiver[] rxReceivers;
    private int rxSockets;
    private final int firstConnected;
    private final int maxConnected;
    private final Long2ObjectHashMap<ConnectedPeer> connected = new Long2ObjectHashMap<>();
    private IoEventLoop eventLoop;
    private boolean armed;
    private final int unconnectedEvery;
    private int pollsSinceUnconnected;
    private long rotation;
    private long failedReads;
    private boolean unconnectedBusy;
    private final long[] txDestinations;

    private final MemorySegment txMessages;
    private final MemorySegment txIovecs;
    private final MemorySegment txNames;
    private final MemorySegment txControls;
    private final long txMessagesAddress;
    private final int[] runStart;
    private final int[] messagePackets;
    private final int[] runEnd;

    private final boolean gro;
    private final boolean singleReceiver;
    private final int rxBatch;
    private final MemorySegment rxMessages;
    private final MemorySegment rxNames;
    private final MemorySegment rxIovecs;
    private final MemorySegment rxControls;
    private final MemorySegment rxStaging;
    private final MemorySegment scratch;
    private final long rxMessagesAddress;
    private final int[] rxSlots;
    private final MemorySegment peekBytes;
    private final UnsafeBuffer peekView;
    private final MemorySegment placeIovecs;
    /** Polls left in which datagrams are peeked at for placement: set by a large one, run down by small ones. */
    private int placementPolls;

    NativeDatapath(
        final UdpDriver driver,
        final MemorySegment pool,
        final int stride,
        final int maxPacketLength,
        final FileDescriptor[] sockets,
        final int txCapacity,
        final int receiveBatch,
        final boolean gro,
        final boolean singleReceiver,
        final int maxConnected,
        final int unconnectedEvery)
    {
        this.unconnectedEvery = unconnectedEvery;
        this.singleReceiver = singleReceiver;
        this.driver = driver;
        this.pool = pool;
        this.stride = stride;
        this.maxPacketLength = maxPacketLength;
        this.gro = gro;
        captureState = arena.allocate(LinuxUdpCalls.captureLayout());

        fds = new int[sockets.length];
        this.maxConnected = singleReceiver ? maxConnected : 0;
        final int rxCapacity = sockets.length + this.maxConnected;
        registrations = new IoRegistration[rxCapacity];
        rxFds = new int[rxCapacity];
        rxBursts = new boolean[rxCapacity];
        rxReceivers = new Receiver[rxCapacity];
        // What a poll reads: the one receive socket (and connected ones as they come), or all eight.
        rxSockets = singleReceiver ? 1 : sockets.length;
        firstConnected = rxSockets;
        for (int level = 0; level < sockets.length; level++)
        {
            fds[level] = sockets[level].intValue();
            if (level < rxSockets)
            {
                rxFds[level] = fds[level];
                rxReceivers[level] = new Receiver(sockets[level], level);
            }
        }
        txDestinations = new long[txCapacity];

        txMessages = arena.allocate((long)MMSGHDR_LENGTH * txCapacity, 64);
        txIovecs = arena.allocate((long)IOVEC_LENGTH * txCapacity * (1 + Packet.MAX_PAYLOAD_SEGMENTS), 64);
        txNames = arena.allocate((long)SOCKADDR_IN_LENGTH * txCapacity, 64);
        txControls = arena.allocate((long)CMSG_SEGMENT_SPACE * txCapacity, 64);
        txMessagesAddress = txMessages.address();
        runStart = new int[txCapacity];
        messagePackets = new int[txCapacity];
        runEnd = new int[txCapacity];

        rxBatch = gro ? Math.min(receiveBatch, GRO_BATCH_MAX) : receiveBatch;
        rxMessages = arena.allocate((long)MMSGHDR_LENGTH * rxBatch, 64);
        rxNames = arena.allocate((long)SOCKADDR_IN_LENGTH * rxBatch, 64);
        rxIovecs = arena.allocate((long)IOVEC_LENGTH * rxBatch, 64);
        rxControls = arena.allocate((long)RX_CONTROL_LENGTH * rxBatch, 64);
        rxStaging = gro ? arena.allocate((long)GRO_BUFFER_LENGTH * rxBatch, 64) : MemorySegment.NULL;
        scratch = arena.allocate(GRO_BUFFER_LENGTH, 64);
        rxMessagesAddress = rxMessages.address();
        rxSlots = new int[rxBatch];
        peekBytes = arena.allocate(PEEK_LENGTH, 64);
        peekView = new UnsafeBuffer(peekBytes.address(), PEEK_LENGTH);
        placeIovecs = arena.allocate((long)IOVEC_LENGTH * (1 + Packet.MAX_PAYLOAD_SEGMENTS), 64);

        for (int i = 0; i < rxBatch; i++)
        {
            final long message = (long)i * MMSGHDR_LENGTH;
            rxMessages.set(ValueLayout.JAVA_LONG, message + MSG_NAME_OFFSET,
                rxNames.address() + (long)i * SOCKADDR_IN_LENGTH);
            rxMessages.set(ValueLayout.JAVA_LONG, message + MSG_IOV_OFFSET,
                rxIovecs.address() + (long)i * IOVEC_LENGTH);
            rxMessages.set(ValueLayout.JAVA_LONG, message + MSG_IOVLEN_OFFSET, 1L);
            rxMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROL_OFFSET,
                rxControls.address() + (long)i * RX_CONTROL_LENGTH);
        }
    }

    /**
     * Register the sockets with the loop for read readiness; on the loop's owner thread.
     * <p>
     * A socket in an epoll set wakes it (ep_poll_callback, under an IRQ-saving lock) for every datagram that
     * arrives and every sent one that frees buffer space, whether or not anyone waits, a cost on every datagram.
     * So send-only sockets never join, and in
     * single-receiver mode, where every poll reads the receive sockets directly, they join only for the duration
     * of a blocking wait ({@link #armForWait()}).
     *
     * @param eventLoop the driver's loop.
     */
    void register(final IoEventLoop eventLoop)
    {
        this.eventLoop = eventLoop;
        if (!singleReceiver)
        {
            for (int i = 0; i < rxSockets; i++)
            {
                registerForRead(i);
            }
        }
    }

    /**
     * Before a blocking wait in the loop: make the receive sockets report readability (single-receiver mode; in
     * the other mode they stay registered). Level-triggered, so a datagram that arrived before is reported at once.
     */
    void armForWait()
    {
        if (singleReceiver && !armed)
        {
            armed = true;
            for (int i = 0; i < rxSockets; i++)
            {
                registerForRead(i);
            }
        }
    }

    /**
     * After a blocking wait: take the receive sockets out of epoll again.
     */
    void disarmAfterWait()
    {
        if (armed)
        {
            armed = false;
            for (int i = 0; i < rxSockets; i++)
            {
                registrations[i].cancel();
                registrations[i] = null;
            }
        }
    }

    private void registerForRead(final int index)
    {
        final IoRegistration registration = eventLoop.register(rxReceivers[index]).syncUninterruptibly().getNow();
        // Level-triggered: a socket left readable after a bounded read is reported again on the next poll.
        registration.submit(EpollIoOps.EPOLLIN);
        registrations[index] = registration;
    }

    void close()
    {
        for (final IoRegistration registration : registrations)
        {
            if (null != registration)
            {
                registration.cancel();
            }
        }
        for (final ConnectedPeer peer : connected.values())
        {
            if (peer.fd >= 0)
            {
                driver.closeConnected(peer.socket);
            }
        }
        connected.clear();
        arena.close();
    }

    /**
     * @return the kernel's receive drop counts of the connected sockets, summed (owner thread).
     */
    long connectedSocketDrops()
    {
        long drops = 0;
        for (final ConnectedPeer peer : connected.values())
        {
            if (peer.fd >= 0)
            {
                drops += UdpDriver.socketDrops((Socket)peer.socket.fd());
            }
        }
        return drops;
    }

    /**
     * Send the driver's transmit queue: runs are formed in queue order, then each level's runs go out in one
     * {@code sendmmsg} on that level's socket, highest level first.
     *
     * @return packets sent inside GSO runs.
     */
    int send(
        final Packet[] packets, final long[] destinations, final int[] priorities, final int count, final boolean gso)
    {
        int runs = 0;
        int i = 0;
        while (i < count)
        {
            final int end = gso ? driver.gsoRunEnd(i, count) : i + 1;
            runStart[runs] = i;
            runEnd[runs] = end;
            runs++;
            i = end;
        }

        int gsoPackets = 0;
        for (int level = UdpDriver.PRIORITY_LEVELS - 1; level >= 0; level--)
        {
            int messages = 0;
            int iovecs = 0;
            for (int r = 0; r < runs; r++)
            {
                final int start = runStart[r];
                if (level != priorities[start])
                {
                    continue;
                }
                final int end = runEnd[r];
                final long message = (long)messages * MMSGHDR_LENGTH;
                final long name = (long)messages * SOCKADDR_IN_LENGTH;
                writeSockaddr(txNames, name, destinations[start]);
                txDestinations[messages] = destinations[start];
                txMessages.set(ValueLayout.JAVA_LONG, message + MSG_NAME_OFFSET, txNames.address() + name);
                txMessages.set(ValueLayout.JAVA_INT, message + MSG_NAMELEN_OFFSET, SOCKADDR_IN_LENGTH);
                txMessages.set(ValueLayout.JAVA_LONG, message + MSG_IOV_OFFSET,
                    txIovecs.address() + (long)iovecs * IOVEC_LENGTH);
                final int firstIovec = iovecs;
                for (int j = start; j < end; j++)
                {
                    // The packet's own bytes, then its gathered payload: the kernel copies (and for a GSO run
                    // segments) them as one run of bytes.
                    final Packet packet = packets[j];
                    iovec(iovecs++, slotAddress((int)packet.handle()), packet.length());
                    for (int k = 0; k < packet.payloadSegments(); k++)
                    {
                        iovec(iovecs++, packet.payloadAddress(k), packet.payloadLength(k));
                    }
                }
                txMessages.set(ValueLayout.JAVA_LONG, message + MSG_IOVLEN_OFFSET, iovecs - firstIovec);
                messagePackets[messages] = end - start;
                if (end - start >= 2)
                {
                    final long control = (long)messages * CMSG_SEGMENT_SPACE;
                    txControls.set(ValueLayout.JAVA_LONG, control + CMSG_LEN_OFFSET, CMSG_SEGMENT_LEN);
                    txControls.set(ValueLayout.JAVA_INT, control + CMSG_LEVEL_OFFSET, SOL_UDP);
                    txControls.set(ValueLayout.JAVA_INT, control + CMSG_TYPE_OFFSET, UDP_SEGMENT);
                    txControls.set(ValueLayout.JAVA_SHORT, control + CMSG_DATA_OFFSET,
                        (short)packets[start].wireLength());
                    txMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROL_OFFSET, txControls.address() + control);
                    txMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROLLEN_OFFSET, CMSG_SEGMENT_SPACE);
                    gsoPackets += end - start;
                    driver.onGsoSend(end - start);
                }
                else
                {
                    txMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROL_OFFSET, 0L);
                    txMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROLLEN_OFFSET, 0L);
                }
                txMessages.set(ValueLayout.JAVA_INT, message + MSG_FLAGS_OFFSET, 0);
                messages++;
            }
            if (messages > 0)
            {
                sendAll(level, messages);
            }
        }
        return gsoPackets;
    }

    private void iovec(final int index, final long address, final long length)
    {
        final long iovec = (long)index * IOVEC_LENGTH;
        txIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET, address);
        txIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET, length);
    }

    private void sendAll(final int level, final int messages)
    {
        final int fd = fds[level];
        int sent = 0;
        long stallStartNs = 0;
        while (sent < messages)
        {
            final int result = messages - sent == 1 ? sendOne(fd, level, sent) : LinuxUdpCalls.sendmmsg(
                captureState, fd, txMessagesAddress + (long)sent * MMSGHDR_LENGTH, messages - sent, MSG_DONTWAIT);
            if (result > 0)
            {
                sent += result;
                continue;
            }
            final int errno = LinuxUdpCalls.errno(captureState);
            if (EAGAIN == errno || EINTR == errno)
            {
                // Socket buffer full: the caller may reuse its packets when flush returns, so wait for room.
                final long nowNs = System.nanoTime();
                if (0 == stallStartNs)
                {
                    stallStartNs = nowNs;
                    driver.onFlushStall();
                }
                else if (nowNs - stallStartNs > SEND_STALL_LIMIT_NS)
                {
                    long unsent = 0;
                    for (int m = sent; m < messages; m++)
                    {
                        unsent += messagePackets[m];
                    }
                    driver.onSendStallDrop(unsent);
                    return;
                }
                driver.runEventLoop();
                Thread.onSpinWait();
                continue;
            }
            // The first unsent message failed: count it, skip it, send the rest.
            final long control = txMessages.get(ValueLayout.JAVA_LONG,
                (long)sent * MMSGHDR_LENGTH + MSG_CONTROLLEN_OFFSET);
            driver.onSendError(errno, 0 != control);
            sent++;
        }
    }

    /**
     * The last message of a batch (often the only one: a small RPC's request or reply) as a plain datagram with
     * {@code sendto}, unless it carries a GSO control message or several buffers.
     *
     * @return 1 if sent, -1 with errno in the capture state.
     */
    private int sendOne(final int fd, final int level, final int index)
    {
        final long message = (long)index * MMSGHDR_LENGTH;
        if (0L != txMessages.get(ValueLayout.JAVA_LONG, message + MSG_CONTROLLEN_OFFSET) ||
            1L != txMessages.get(ValueLayout.JAVA_LONG, message + MSG_IOVLEN_OFFSET))
        {
            return LinuxUdpCalls.sendmmsg(captureState, fd, txMessagesAddress + message, 1, MSG_DONTWAIT);
        }
        final long iovec = txMessages.get(ValueLayout.JAVA_LONG, message + MSG_IOV_OFFSET) - txIovecs.address();
        final ConnectedPeer peer = 0 == maxConnected ? null : connectedPeer(txDestinations[index], level);
        if (null != peer && peer.takes(level))
        {
            driver.onConnectedSend();
            // Connected: no address, so the kernel takes the socket's cached route instead of looking one up.
            return LinuxUdpCalls.sendto(captureState, peer.fd,
                txIovecs.get(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET),
                txIovecs.get(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET),
                MSG_DONTWAIT,
                0L) < 0 ? -1 : 1;
        }
        final long sent = LinuxUdpCalls.sendto(captureState, fd,
            txIovecs.get(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET),
            txIovecs.get(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET),
            MSG_DONTWAIT,
            txMessages.get(ValueLayout.JAVA_LONG, message + MSG_NAME_OFFSET));
        return sent < 0 ? -1 : 1;
    }

    private static void writeSockaddr(final MemorySegment names, final long offset, final long destination)
    {
        names.set(ValueLayout.JAVA_SHORT, offset + SIN_FAMILY_OFFSET, (short)AF_INET);
        names.set(PORT_LAYOUT, offset + SIN_PORT_OFFSET, (short)HostAddress.portOf(destination));
        names.set(ADDRESS_LAYOUT, offset + SIN_ADDR_OFFSET, HostAddress.ipv4Of(destination));
        names.set(ValueLayout.JAVA_LONG, offset + 8, 0L);
    }

    private long slotAddress(final int index)
    {
        return pool.address() + (long)index * stride;
    }

    /**
     * Single-receiver mode: read the one socket that receives everything, without asking epoll first - a poll that
     * finds data costs one system call.
     */
    void receiveNow()
    {
        // With connected sockets, the port's unconnected socket is read on every unconnectedEvery-th poll only,
        // and on every poll while it has traffic. A busy-polling loop notices a datagram on average half a period
        // after it arrives, and every recvmmsg is a third of a microsecond on this kernel; in a closed loop the
        // arrival also locks to one phase of the period, so an RPC round trip over a connected socket was 6.9 or
        // 8.2 us from one run to the next with both sockets read on every poll, 6.8-6.9 us with this.
        final boolean readUnconnected =
            rxSockets == firstConnected || unconnectedBusy || ++pollsSinceUnconnected >= unconnectedEvery;
        final int first = readUnconnected ? 0 : firstConnected;
        if (readUnconnected)
        {
            pollsSinceUnconnected = 0;
            unconnectedBusy = false;
        }
        // The sockets take turns at going first: a poll reads no more than the caller's budget, so a fixed order
        // would let a busy socket starve the ones after it.
        final int count = rxSockets - first;
        final int start = count > 1 ? (int)(rotation++ % count) : 0;
        for (int k = 0; k < count; k++)
        {
            final int i = first + (start + k) % count;
            final int received = receive(i);
            if (i < firstConnected && received > 0)
            {
                unconnectedBusy = true;
            }
        }
    }

    /**
     * The peer's connected socket, opened on the first lone datagram to it while fewer than the limit are open.
     *
     * @return null if the peer has none and gets none.
     */
    private ConnectedPeer connectedPeer(final long destination, final int level)
    {
        ConnectedPeer peer = connected.get(destination);
        if (null == peer && connected.size() < maxConnected)
        {
            final EpollDatagramChannel socket = driver.openConnected(destination, level);
            if (null == socket)
            {
                // Refused (logged by the driver): not asked again for this peer, which keeps the unconnected path
                // and its place among the limit.
                peer = new ConnectedPeer(null, -1, -1, driver);
            }
            else
            {
                peer = new ConnectedPeer(socket, socket.fd().intValue(), level, driver);
                final int index = rxSockets++;
                rxFds[index] = peer.fd;
                rxReceivers[index] = new Receiver(socket.fd(), index);
                if (armed)
                {
                    registerForRead(index);
                }
            }
            connected.put(destination, peer);
        }
        return peer;
    }

    /**
     * Read what one socket has, in at most a few {@code recvmmsg} calls and no more datagrams than the driver's
     * receive budget (what the current poll can deliver). The socket is registered level-triggered, so what is left
     * is reported again on the next poll and waits in the kernel's socket buffer meanwhile.
     */
    private int receive(final int index)
    {
        if (placementPolls > 0 && null != driver.placingSink())
        {
            placementPolls--;
            return receivePlaced(index);
        }
        final int fd = rxFds[index];
        int total = 0;
        for (int call = 0; call < MAX_RECEIVE_CALLS_PER_EVENT; call++)
        {
            final int budget = driver.rxBudget();
            if (budget <= 0)
            {
                return total;
            }
            // A vector of one unless the last call filled its vector: recvmmsg tries for another datagram after
            // each one it receives, and on a mostly idle socket that extra try (~0.15 us) delayed every lone
            // datagram. After a full vector the next call reads a whole batch.
            final boolean single = !rxBursts[index];
            final int count = Math.min(single ? 1 : rxBatch, budget);
            final int prepared = gro ? prepareStaging(count) : prepareSlots(count);
            int received = LinuxUdpCalls.recvmmsg(fd, rxMessagesAddress, prepared, MSG_DONTWAIT);
            if (received < 0 && 0 == (++failedReads & ERRNO_SAMPLE_MASK))
            {
                // Now and then a failed read is repeated with errno captured, so that an error other than an empty
                // socket is seen and counted; the repeat reads what arrived meanwhile like any other call.
                received = LinuxUdpCalls.recvmmsg(captureState, fd, rxMessagesAddress, prepared, MSG_DONTWAIT);
                if (received < 0)
                {
                    final int errno = LinuxUdpCalls.errno(captureState);
                    // ECONNREFUSED on a connected socket: an ICMP port unreachable from its peer, reported once;
                    // a dead peer is the protocol's to detect.
                    if (EAGAIN != errno && EINTR != errno && (ECONNREFUSED != errno || index < firstConnected))
                    {
                        driver.onReceiveError(errno);
                    }
                }
            }
            rxBursts[index] = received == prepared;
            if (received <= 0)
            {
                releaseSlots(0, prepared);
                return total;
            }
            total += received;
            for (int i = 0; i < received; i++)
            {
                if (gro)
                {
                    onStagedMessage(i, index);
                }
                else
                {
                    onSlotMessage(i, index);
                }
            }
            releaseSlots(received, prepared);
            if (received < prepared || single)
            {
                return total;
            }
        }
        return total;
    }

    /**
     * Read datagrams one at a time for a sink that places large payloads itself: peek at the start of each (its
     * header, sender and level), ask the sink where the rest goes, then read it with the header into a pool slot and
     * the rest straight to the sink's places - one copy, the kernel's - and hand it over at once. A datagram the sink
     * does not place, or one too small to be worth the peek, is read into its slot whole. Used while large datagrams
     * come (see {@link #placementPolls}); two system calls a datagram instead of a share of one.
     */
    private int receivePlaced(final int index)
    {
        final int fd = rxFds[index];
        final PacketSink sink = driver.placingSink();
        final int headerLength = Math.min(PEEK_LENGTH, sink.placementHeaderLength());
        int total = 0;
        while (driver.rxBudget() > 0)
        {
            rxIovecs.set(ValueLayout.JAVA_LONG, IOV_BASE_OFFSET, peekBytes.address());
            rxIovecs.set(ValueLayout.JAVA_LONG, IOV_LEN_OFFSET, headerLength);
            rxMessages.set(ValueLayout.JAVA_LONG, MSG_IOV_OFFSET, rxIovecs.address());
            rxMessages.set(ValueLayout.JAVA_LONG, MSG_IOVLEN_OFFSET, 1L);
            resetMessage(0, singleReceiver ? RX_CONTROL_LENGTH : 0);
            if (1 != LinuxUdpCalls.recvmmsg(fd, rxMessagesAddress, 1, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC))
            {
                return total;
            }
            // With MSG_TRUNC the length is the datagram's, however little of it the peek copied.
            final int length = rxMessages.get(ValueLayout.JAVA_INT, MSG_LEN_OFFSET);
            final long source = sourceOf(0);
            final int level = singleReceiver ? tosLevel(0) : index;
            final int slot = length > 0 && length <= maxPacketLength && HostAddress.NONE != source ?
                driver.takeFreeSlot() : -1;
            int keep = -1;
            long iovecs = 1;
            if (slot < 0)
            {
                placeIovec(0, scratch.address(), GRO_BUFFER_LENGTH);
            }
            else
            {
                if (length >= UdpDriver.PLACEMENT_MIN_LENGTH)
                {
                    final Packet packet = driver.slotPacket(slot);
                    keep = sink.placePayload(peekView, Math.min(headerLength, length), length, source, packet);
                    if (keep >= 0)
                    {
                        placeIovec(0, slotAddress(slot), keep);
                        for (int k = 0; k < packet.payloadSegments(); k++)
                        {
                            placeIovec(k + 1, packet.payloadAddress(k), packet.payloadLength(k));
                        }
                        iovecs += packet.payloadSegments();
                    }
                }
                if (keep < 0)
                {
                    placeIovec(0, slotAddress(slot), maxPacketLength);
                }
                placementPolls = length >= UdpDriver.PLACEMENT_MIN_LENGTH ? PLACEMENT_POLLS : placementPolls;
            }
            rxMessages.set(ValueLayout.JAVA_LONG, MSG_IOV_OFFSET, placeIovecs.address());
            rxMessages.set(ValueLayout.JAVA_LONG, MSG_IOVLEN_OFFSET, iovecs);
            resetMessage(0, 0);
            final int read = LinuxUdpCalls.recvmmsg(fd, rxMessagesAddress, 1, MSG_DONTWAIT);
            final int readLength = rxMessages.get(ValueLayout.JAVA_INT, MSG_LEN_OFFSET);
            rxMessages.set(ValueLayout.JAVA_LONG, MSG_IOV_OFFSET, rxIovecs.address());
            rxMessages.set(ValueLayout.JAVA_LONG, MSG_IOVLEN_OFFSET, 1L);
            if (slot < 0)
            {
                // Taken off the socket into the scratch buffer: counted under its reason.
                if (acceptable(length > maxPacketLength ? MSG_TRUNC : 0, length, source))
                {
                    driver.onDroppedNoBuffer();
                }
                continue;
            }
            if (1 != read || readLength != length)
            {
                // Gone or changed between the peek and the read (another reader of the socket): not ours to keep.
                driver.returnFreeSlot(slot);
                driver.onDroppedOther();
                continue;
            }
            total++;
            driver.deliverNow(slot, keep < 0 ? length : keep, keep < 0 ? 0 : length - keep, source, level);
        }
        return total;
    }

    private void placeIovec(final int index, final long address, final long length)
    {
        final long iovec = (long)index * IOVEC_LENGTH;
        placeIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET, address);
        placeIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET, length);
    }

    /**
     * Point each message at a free pool slot; with the pool empty, at the scratch buffer so that the datagrams are
     * still taken off the socket and counted as dropped.
     */
    private int prepareSlots(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            final int slot = driver.takeFreeSlot();
            rxSlots[i] = slot;
            final long iovec = (long)i * IOVEC_LENGTH;
            rxIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET,
                slot < 0 ? scratch.address() : slotAddress(slot));
            rxIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET, maxPacketLength);
            resetMessage(i, singleReceiver ? RX_CONTROL_LENGTH : 0);
        }
        return count;
    }

    private int prepareStaging(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            rxSlots[i] = -1;
            final long iovec = (long)i * IOVEC_LENGTH;
            rxIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_BASE_OFFSET,
                rxStaging.address() + (long)i * GRO_BUFFER_LENGTH);
            rxIovecs.set(ValueLayout.JAVA_LONG, iovec + IOV_LEN_OFFSET, GRO_BUFFER_LENGTH);
            resetMessage(i, RX_CONTROL_LENGTH);
        }
        return count;
    }

    private void resetMessage(final int i, final int controlLength)
    {
        final long message = (long)i * MMSGHDR_LENGTH;
        rxMessages.set(ValueLayout.JAVA_INT, message + MSG_NAMELEN_OFFSET, SOCKADDR_IN_LENGTH);
        rxMessages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROLLEN_OFFSET, controlLength);
        rxMessages.set(ValueLayout.JAVA_INT, message + MSG_FLAGS_OFFSET, 0);
        rxMessages.set(ValueLayout.JAVA_INT, message + MSG_LEN_OFFSET, 0);
    }

    private void releaseSlots(final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            final int slot = rxSlots[i];
            if (slot >= 0)
            {
                driver.returnFreeSlot(slot);
                rxSlots[i] = -1;
            }
        }
    }

    private void onSlotMessage(final int i, final int level)
    {
        final int slot = rxSlots[i];
        rxSlots[i] = -1;
        final long message = (long)i * MMSGHDR_LENGTH;
        final int length = rxMessages.get(ValueLayout.JAVA_INT, message + MSG_LEN_OFFSET);
        final int flags = rxMessages.get(ValueLayout.JAVA_INT, message + MSG_FLAGS_OFFSET);
        final long source = sourceOf(i);
        if (slot < 0)
        {
            driver.onDroppedNoBuffer();
        }
        else if (!acceptable(flags, length, source))
        {
            driver.returnFreeSlot(slot);
        }
        else
        {
            if (length >= UdpDriver.PLACEMENT_MIN_LENGTH)
            {
                // Large datagrams are coming: the next polls may read them straight into the sink's places.
                placementPolls = PLACEMENT_POLLS;
            }
            driver.onReceived(slot, length, source, singleReceiver ? tosLevel(i) : level);
        }
    }

    private void onStagedMessage(final int i, final int level)
    {
        final long message = (long)i * MMSGHDR_LENGTH;
        final int length = rxMessages.get(ValueLayout.JAVA_INT, message + MSG_LEN_OFFSET);
        final int flags = rxMessages.get(ValueLayout.JAVA_INT, message + MSG_FLAGS_OFFSET);
        final long source = sourceOf(i);
        if (!acceptable(flags, length, source))
        {
            return;
        }
        int segment = groSegmentSize(i);
        if (0 == segment)
        {
            segment = length;
        }
        else if (length > segment)
        {
            driver.onGroSuperDatagram();
        }
        final long base = (long)i * GRO_BUFFER_LENGTH;
        final int packetLevel = singleReceiver ? tosLevel(i) : level;
        for (int offset = 0; offset < length; offset += segment)
        {
            final int segmentLength = Math.min(segment, length - offset);
            if (segmentLength > maxPacketLength)
            {
                driver.onDroppedOversize();
                continue;
            }
            if (driver.lending())
            {
                driver.lend(rxStaging.address() + base + offset, segmentLength, source, packetLevel);
                continue;
            }
            final int slot = driver.takeFreeSlot();
            if (slot < 0)
            {
                driver.onDroppedNoBuffer();
                continue;
            }
            MemorySegment.copy(rxStaging, base + offset, pool, (long)slot * stride, segmentLength);
            driver.onReceived(slot, segmentLength, source, packetLevel);
        }
    }

    /**
     * @return true if a received datagram can be a packet; otherwise it is counted under its reason.
     */
    private boolean acceptable(final int flags, final int length, final long source)
    {
        if (0 != (flags & MSG_TRUNC))
        {
            driver.onDroppedOversize();
            return false;
        }
        if (0 == length)
        {
            driver.onDroppedEmpty();
            return false;
        }
        if (HostAddress.NONE == source)
        {
            driver.onDroppedOther();
            return false;
        }
        return true;
    }

    private int groSegmentSize(final int i)
    {
        final long data = controlData(i, SOL_UDP, UDP_GRO);
        return data < 0 ? 0 : rxControls.get(ValueLayout.JAVA_INT, data);
    }

    /**
     * @return the level from the {@code IP_TOS} control message ({@code IP_RECVTOS}), -1 if there is none.
     */
    private int tosLevel(final int i)
    {
        final long data = controlData(i, PrioritySteering.IPPROTO_IP, IP_TOS);
        return data < 0 ? -1 : (rxControls.get(ValueLayout.JAVA_BYTE, data) & 0xFF) >>> 5;
    }

    /**
     * @return offset in {@code rxControls} of the data of message i's control message of that level and type,
     * or -1.
     */
    private long controlData(final int i, final int cmsgLevel, final int cmsgType)
    {
        final long message = (long)i * MMSGHDR_LENGTH;
        final long controlLength = Math.min(RX_CONTROL_LENGTH,
            rxMessages.get(ValueLayout.JAVA_LONG, message + MSG_CONTROLLEN_OFFSET));
        final long controlBase = (long)i * RX_CONTROL_LENGTH;
        long offset = 0;
        while (offset + CMSG_DATA_OFFSET <= controlLength)
        {
            final long cmsgLength = rxControls.get(ValueLayout.JAVA_LONG, controlBase + offset + CMSG_LEN_OFFSET);
            if (cmsgLength < CMSG_DATA_OFFSET || offset + cmsgLength > controlLength)
            {
                break;
            }
            if (cmsgLevel == rxControls.get(ValueLayout.JAVA_INT, controlBase + offset + CMSG_LEVEL_OFFSET) &&
                cmsgType == rxControls.get(ValueLayout.JAVA_INT, controlBase + offset + CMSG_TYPE_OFFSET))
            {
                return controlBase + offset + CMSG_DATA_OFFSET;
            }
            offset += (cmsgLength + 7) & ~7L;
        }
        return -1;
    }

    private long sourceOf(final int i)
    {
        final long name = (long)i * SOCKADDR_IN_LENGTH;
        if (AF_INET != rxNames.get(ValueLayout.JAVA_SHORT, name + SIN_FAMILY_OFFSET))
        {
            return HostAddress.NONE;
        }
        final int port = rxNames.get(PORT_LAYOUT, name + SIN_PORT_OFFSET) & 0xFFFF;
        return HostAddress.ipv4(rxNames.get(ADDRESS_LAYOUT, name + SIN_ADDR_OFFSET), port);
    }

    /**
     * Read readiness of one level's socket, delivered by Netty's epoll loop on the owner thread.
     */
    private final class Receiver implements EpollIoHandle
    {
        private final FileDescriptor fd;
        private final int index;

        Receiver(final FileDescriptor fd, final int index)
        {
            this.fd = fd;
            this.index = index;
        }

        @Override
        public FileDescriptor fd()
        {
            return fd;
        }

        @Override
        public void handle(final IoRegistration registration, final IoEvent ioEvent)
        {
            receive(index);
        }

        @Override
        public void close()
        {
            // The driver closes its sockets itself.
        }
    }

    /**
     * A peer's connected socket ({@code fd} -1 if opening one was refused) and the level its {@code IP_TOS} is set
     * to. The level follows the peer's lone datagrams with hysteresis: after {@link #RELEVEL_AFTER} in a row at
     * another level the socket moves to that level (a first request goes out before the receiver's cutoffs are
     * known, often one level off the one its successors use). Changing {@code IP_TOS} drops the socket's cached
     * route, so alternating levels must not flip it back and forth.
     */
    private static final class ConnectedPeer
    {
        private static final int RELEVEL_AFTER = 8;

        private final EpollDatagramChannel socket;
        private final int fd;
        private final UdpDriver driver;
        private int level;
        private int misses;

        ConnectedPeer(final EpollDatagramChannel socket, final int fd, final int level, final UdpDriver driver)
        {
            this.socket = socket;
            this.fd = fd;
            this.level = level;
            this.driver = driver;
        }

        /**
         * @param packetLevel a lone datagram's level.
         * @return true if it goes on this socket.
         */
        boolean takes(final int packetLevel)
        {
            if (fd < 0)
            {
                return false;
            }
            if (packetLevel == level)
            {
                misses = 0;
                return true;
            }
            if (++misses < RELEVEL_AFTER)
            {
                return false;
            }
            misses = 0;
            if (!driver.setConnectedLevel(socket, packetLevel))
            {
                return false;
            }
            level = packetLevel;
            return true;
        }
    }
}
