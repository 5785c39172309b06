package dev.homa.nic.udp;

import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.MessageVector;
import dev.homa.nic.linux.PacketPool;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.homa.nic.linux.LibC.EAGAIN;
import static dev.homa.nic.linux.LibC.ECONNREFUSED;
import static dev.homa.nic.linux.LibC.EINTR;
import static dev.homa.nic.linux.LibC.MSG_DONTWAIT;
import static dev.homa.nic.linux.LibC.SOL_UDP;
import static dev.homa.nic.linux.LibC.UDP_GRO;

/**
 * The receive side of the {@link NativeDatapath}: {@code recvmmsg} through FFM on the receive sockets, with read
 * readiness from Netty's epoll loop through one {@link EpollIoHandle} per socket while the driver waits.
 * <p>
 * Without GRO it scatters straight into free pool slots (a datagram that does not fit comes back with
 * {@code MSG_TRUNC} and is dropped); with GRO it reads coalesced super-datagrams into 64 KiB staging buffers and
 * cuts them at the {@code UDP_GRO} segment size into slots, or, for a sink that releases every packet before it
 * returns, lends it each segment in place (no copy at all). While large datagrams come, a sink that places payloads
 * gets them read straight to its places where it can ({@link PlacedReads}). All headers, iovecs, addresses and
 * control buffers are preallocated native memory, reused for every call.
 */
final class NativeReceiver
{
    private static final int MAX_RECEIVE_CALLS_PER_EVENT = 4;
    private static final int GRO_BUFFER_LENGTH = 65_536;
    private static final int RX_CONTROL_LENGTH = 64;
    /** One failed read in this many is repeated with errno captured (see {@link LibC#recvmmsg}). */
    private static final long ERRNO_SAMPLE_MASK = (1 << 10) - 1;
    private static final int GRO_BATCH_MAX = 8;
    private static final int IP_TOS = 1;

    private final PacketPool pool;
    private final MemorySegment poolRegion;
    private final ReceiveQueue queue;
    private final UdpCounters counters;
    private final MemorySegment captureState;
    private final int maxPacketLength;
    private final boolean gro;
    private final boolean singleReceiver;
    private final int unconnectedEvery;

    private final IoRegistration[] registrations;
    private final int[] rxFds;
    private final boolean[] rxBursts;
    private final Readiness[] readiness;
    private int rxSockets;
    private final int firstConnected;
    private IoEventLoop eventLoop;
    private boolean armed;
    private int pollsSinceUnconnected;
    private long rotation;
    private long failedReads;
    private boolean unconnectedBusy;

    private final int rxBatch;
    private final MessageVector rx;
    private final MemorySegment rxStaging;
    private final MemorySegment scratch;
    private final int[] rxSlots;
    private final PlacedReads placed;
    /** Per socket: its placed reads peek at the headers first ({@link PlacedReads#enablePeek}). */
    private final boolean[] peeked;
    private final boolean peek;

    /**
     * Reads the level sockets (the first only, or all eight), then up to {@code maxConnected} connected sockets as
     * they are added; with connected sockets, the unconnected one on every {@code unconnectedEvery}-th poll. With
     * {@code peek}, placed reads peek at the headers first where the kernel allows it.
     */
    NativeReceiver(
        final Arena arena,
        final PacketPool pool,
        final ReceiveQueue queue,
        final UdpCounters counters,
        final LevelSockets sockets,
        final int receiveBatch,
        final int maxConnected,
        final int unconnectedEvery,
        final boolean peek)
    {
        this.pool = pool;
        this.poolRegion = MemorySegment.ofAddress(pool.regionAddress())
            .reinterpret((long)pool.stride() * pool.size());
        this.queue = queue;
        this.counters = counters;
        this.maxPacketLength = pool.capacity();
        this.gro = sockets.gro();
        this.singleReceiver = sockets.singleReceiver();
        this.unconnectedEvery = unconnectedEvery;
        captureState = LibC.newErrnoState(arena);

        final int levels = UdpDriver.PRIORITY_LEVELS;
        final int rxCapacity = levels + maxConnected;
        registrations = new IoRegistration[rxCapacity];
        rxFds = new int[rxCapacity];
        rxBursts = new boolean[rxCapacity];
        readiness = new Readiness[rxCapacity];
        peeked = new boolean[rxCapacity];
        // A datagram read with GRO holds a run of packets, which placed reads do not read.
        this.peek = peek && !gro;
        // What a poll reads: the one receive socket (and connected ones as they come), or all eight.
        rxSockets = singleReceiver ? 1 : levels;
        firstConnected = rxSockets;
        for (int level = 0; level < rxSockets; level++)
        {
            final FileDescriptor fd = sockets.channel(level).fd();
            rxFds[level] = fd.intValue();
            readiness[level] = new Readiness(fd, level);
        }

        rxBatch = gro ? Math.min(receiveBatch, GRO_BATCH_MAX) : receiveBatch;
        rx = new MessageVector(arena, rxBatch, rxBatch, RX_CONTROL_LENGTH);
        rxStaging = gro ? arena.allocate((long)GRO_BUFFER_LENGTH * rxBatch, 64) : MemorySegment.NULL;
        scratch = arena.allocate(GRO_BUFFER_LENGTH, 64);
        rxSlots = new int[rxBatch];
        placed = new PlacedReads(arena, rx, rxBatch, singleReceiver ? RX_CONTROL_LENGTH : 0, pool, queue, counters,
            maxPacketLength, scratch);

        for (int i = 0; i < rxBatch; i++)
        {
            rx.iovecs(i, i, 1);
        }
        for (int index = 0; index < rxSockets; index++)
        {
            enablePeek(index);
        }
    }

    /**
     * Let the placed reads of socket {@code index} peek at the headers first, where that is wanted and the kernel
     * allows it.
     */
    private void enablePeek(final int index)
    {
        peeked[index] = peek && placed.enablePeek(rxFds[index]);
    }

    /**
     * Register the sockets with the loop for read readiness; on the loop's owner thread.
     * <p>
     * A socket in an epoll set wakes it (ep_poll_callback, under an IRQ-saving lock) for every datagram that
     * arrives and every sent one that frees buffer space, whether or not anyone waits, a cost on every datagram.
     * So send-only sockets never join, and in single-receiver mode, where every poll reads the receive sockets
     * directly, they join only for the duration of a blocking wait ({@link #armForWait()}).
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
        final IoRegistration registration = eventLoop.register(readiness[index]).syncUninterruptibly().getNow();
        // Level-triggered: a socket left readable after a bounded read is reported again on the next poll.
        registration.submit(EpollIoOps.EPOLLIN);
        registrations[index] = registration;
    }

    /**
     * A connected socket joins the sockets every poll reads.
     *
     * @param fd its descriptor.
     */
    void addSocket(final FileDescriptor fd)
    {
        final int index = rxSockets++;
        rxFds[index] = fd.intValue();
        readiness[index] = new Readiness(fd, index);
        enablePeek(index);
        if (armed)
        {
            registerForRead(index);
        }
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
    }

    /**
     * Single-receiver mode: read the one socket that receives everything, without asking epoll first - a poll that
     * finds data costs one system call.
     */
    void receiveNow()
    {
        // With connected sockets, the port's unconnected socket is read on every unconnectedEvery-th poll only,
        // and on every poll while it has traffic: an empty recvmmsg on it would otherwise lengthen every poll of
        // the connected path, and in a closed loop the arrivals lock to one phase of the polls, so that cost would
        // land on every round trip.
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
     * Read what one socket has, in at most a few {@code recvmmsg} calls and no more datagrams than the driver's
     * receive budget (what the current poll can deliver). The socket is registered level-triggered, so what is left
     * is reported again on the next poll and waits in the kernel's socket buffer meanwhile.
     */
    private int receive(final int index)
    {
        if (null != queue.placingSink() && placed.wanted())
        {
            return placed.receive(rxFds[index], singleReceiver ? -1 : index, peeked[index]);
        }
        final int fd = rxFds[index];
        int total = 0;
        for (int call = 0; call < MAX_RECEIVE_CALLS_PER_EVENT; call++)
        {
            final int budget = queue.budget();
            if (budget <= 0)
            {
                return total;
            }
            // A vector of one unless the last call filled its vector: recvmmsg tries for another datagram after
            // each one it receives, and on a mostly idle socket that extra try delayed every lone
            // datagram. After a full vector the next call reads a whole batch.
            final boolean single = !rxBursts[index];
            final int count = Math.min(single ? 1 : rxBatch, budget);
            final int prepared = gro ? prepareStaging(count) : prepareSlots(count);
            int received = LibC.recvmmsgNoErrno(fd, rx.address(0), prepared, MSG_DONTWAIT);
            if (received < 0 && 0 == (++failedReads & ERRNO_SAMPLE_MASK))
            {
                // Now and then a failed read is repeated with errno captured, so that an error other than an empty
                // socket is seen and counted; the repeat reads what arrived meanwhile like any other call.
                received = LibC.recvmmsg(captureState, fd, rx.address(0), prepared, MSG_DONTWAIT);
                if (received < 0)
                {
                    final int errno = LibC.errno(captureState);
                    // ECONNREFUSED on a connected socket: an ICMP port unreachable from its peer, reported once;
                    // a dead peer is the protocol's to detect.
                    if (EAGAIN != errno && EINTR != errno && (ECONNREFUSED != errno || index < firstConnected))
                    {
                        counters.onIoError("recvmmsg", errno);
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
     * Point each message at a free pool slot; with the pool empty, at the scratch buffer so that the datagrams are
     * still taken off the socket and counted as dropped.
     */
    private int prepareSlots(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            final int slot = pool.take();
            rxSlots[i] = slot;
            rx.iovec(i, slot < 0 ? scratch.address() : pool.packetAddress(slot), maxPacketLength);
            rx.resetForReceive(i, singleReceiver ? RX_CONTROL_LENGTH : 0);
        }
        return count;
    }

    private int prepareStaging(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            rxSlots[i] = -1;
            rx.iovec(i, rxStaging.address() + (long)i * GRO_BUFFER_LENGTH, GRO_BUFFER_LENGTH);
            rx.resetForReceive(i, RX_CONTROL_LENGTH);
        }
        return count;
    }

    private void releaseSlots(final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            final int slot = rxSlots[i];
            if (slot >= 0)
            {
                pool.giveBack(slot);
                rxSlots[i] = -1;
            }
        }
    }

    private void onSlotMessage(final int i, final int level)
    {
        final int slot = rxSlots[i];
        rxSlots[i] = -1;
        final int length = rx.length(i);
        final int flags = rx.flags(i);
        final long source = rx.source(i);
        if (slot < 0)
        {
            counters.onDroppedNoBuffer();
        }
        else if (!counters.accepts(flags, length, source))
        {
            pool.giveBack(slot);
        }
        else
        {
            if (length >= ReceiveQueue.PLACEMENT_MIN_LENGTH)
            {
                // Large datagrams are coming: the next polls may read them straight into the sink's places.
                placed.onLargeDatagram();
            }
            queue.add(slot, length, source, singleReceiver ? tosLevel(rx, i) : level);
        }
    }

    private void onStagedMessage(final int i, final int level)
    {
        final int length = rx.length(i);
        final int flags = rx.flags(i);
        final long source = rx.source(i);
        if (!counters.accepts(flags, length, source))
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
            counters.onGroSuperDatagram();
        }
        final long base = (long)i * GRO_BUFFER_LENGTH;
        final int packetLevel = singleReceiver ? tosLevel(rx, i) : level;
        for (int offset = 0; offset < length; offset += segment)
        {
            final int segmentLength = Math.min(segment, length - offset);
            if (segmentLength > maxPacketLength)
            {
                counters.onDroppedOversize();
                continue;
            }
            if (queue.lending())
            {
                queue.lend(rxStaging.address() + base + offset, segmentLength, source, packetLevel);
                continue;
            }
            final int slot = pool.take();
            if (slot < 0)
            {
                counters.onDroppedNoBuffer();
                continue;
            }
            MemorySegment.copy(rxStaging, base + offset, poolRegion, pool.packetOffset(slot), segmentLength);
            queue.add(slot, segmentLength, source, packetLevel);
        }
    }

    private int groSegmentSize(final int i)
    {
        final long data = rx.controlData(i, SOL_UDP, UDP_GRO);
        return data < 0 ? 0 : rx.controlInt(data);
    }

    /**
     * @param rx a vector just read into.
     * @param i  one of its messages.
     * @return the level from the message's {@code IP_TOS} control message ({@code IP_RECVTOS}), -1 if there is none.
     */
    static int tosLevel(final MessageVector rx, final int i)
    {
        final long data = rx.controlData(i, PrioritySteering.IPPROTO_IP, IP_TOS);
        return data < 0 ? -1 : rx.controlByte(data) >>> 5;
    }

    /**
     * Read readiness of one receive socket, delivered by Netty's epoll loop on the owner thread.
     */
    private final class Readiness implements EpollIoHandle
    {
        private final FileDescriptor fd;
        private final int index;

        Readiness(final FileDescriptor fd, final int index)
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
}
