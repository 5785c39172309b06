package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicQueueEstimator;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.linux.NetDevice;
import dev.homa.nic.linux.PacketPool;
import dev.homa.nic.linux.TransmitQueue;
import io.netty.channel.ManualIoEventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import org.agrona.BitUtil;
import org.agrona.concurrent.NanoClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Homa over UDP/IPv4 on Netty's native epoll transport: the Homa header is the UDP payload and the priority level
 * travels as DSCP class selector CS0..CS7 ({@code IP_TOS = level << 5}) and as the socket's {@code SO_PRIORITY}.
 * Runs without privileges.
 *
 * <h2>Threading: Netty's event loop is the protocol thread</h2>
 * The {@link NicDriver} contract is poll-based and single-threaded. Netty 4.2's {@link ManualIoEventLoop} is an
 * event loop that the owner drives itself, so the driver runs Netty's epoll loop <em>on the protocol thread</em>,
 * inside {@link #poll} and {@link #flush}: no second thread, no hand-off queue, no locks, no wake-ups. An idle
 * {@link #poll} costs one non-blocking {@code recvmmsg} per receive socket (native datapath) or one non-blocking
 * {@code epoll_wait} (netty datapath). The first thread to call {@link #poll}, {@link #send}, {@link #flush} or
 * {@link #close} becomes the owner; another thread afterwards is a usage error.
 *
 * <h2>Priority: one socket per level</h2>
 * {@code SO_PRIORITY} is per socket and Netty's channels set {@code IP_TOS} per socket too, so the driver sends
 * each packet on the socket of its level ({@link LevelSockets}); the peer sees one address. On the native datapath
 * every datagram goes to the first socket, which has {@code IP_RECVTOS} on (unless {@code rxtos=false}), and the
 * level is read from each datagram's {@code IP_TOS} control message: a poll is then one {@code recvmmsg} on one
 * socket, with no {@code epoll_wait} before it. On the netty datapath each datagram goes to the socket of its level.
 * Either way {@link Packet#priority()} is the level the sender put on the wire, or -1 where no steering program
 * could be attached. Datagrams of one level keep their order; packets of different levels may be reordered, as
 * they may in a switch with priority queues.
 *
 * <h2>Datapaths</h2>
 * {@link #send} only queues; {@link #flush} hands the queue to the datapath ({@link UdpDatapath}), which returns
 * when the kernel has taken every datagram. {@link UdpDriverContext.Datapath#NATIVE} (default, {@link NativeDatapath})
 * calls {@code sendmmsg}/{@code recvmmsg} through FFM, zero-copy both ways and without allocation per packet;
 * {@link UdpDriverContext.Datapath#NETTY} ({@link NettyDatapath}) uses Netty's datagram channels, which copy and
 * allocate. GSO and GRO fall back to plain datagrams where the kernel lacks them; GSO is switched off if a device
 * refuses a segmented send ({@code EIO}: no UDP checksum offload).
 *
 * <h2>Connected peers</h2>
 * With {@code connect=N} ({@link UdpDriverContext#connectedPeers(int)}, native datapath) the first N peers sent a
 * lone datagram get a socket of their own ({@link ConnectedPeers}). Lone datagrams at the socket's level leave on it
 * (it follows the peer's level after eight in a row at another one); batches and other levels keep the per-level
 * sockets. Meanwhile the unconnected receive socket is read on every {@code unconnectedEvery}-th poll (8) and while
 * busy.
 *
 * <h2>Memory</h2>
 * Packets live in one off-heap {@link PacketPool} shared by sending and receiving, 64-byte aligned slots of
 * {@link #maxPacketLength()} bytes. A received packet delivered to a sink is a pool slot until released.
 */
public final class UdpDriver implements NicDriver
{
    /** Priority levels carried as DSCP CS0..CS7. */
    public static final int PRIORITY_LEVELS = PriorityMapping.LEVELS;
    /** IPv4 header (no options) plus UDP header. */
    public static final int IPV4_UDP_HEADER_LENGTH = 20 + 8;
    /** Largest UDP payload over IPv4. */
    public static final int MAX_UDP_PAYLOAD = 65_535 - IPV4_UDP_HEADER_LENGTH;
    /** Ethernet header 14, FCS 4, preamble 8, inter-frame gap 12. */
    public static final int ETHERNET_OVERHEAD = 14 + 4 + 8 + 12;
    /** Most segments the driver puts in one GSO super-datagram (the kernel's UDP_MAX_SEGMENTS is at least 64). */
    public static final int GSO_MAX_SEGMENTS = 64;
    /** Bytes of a GSO staging buffer. */
    public static final int GSO_BUFFER_LENGTH = 65_536;
    /** Bytes a packet costs on the wire beyond its own. */
    static final int WIRE_OVERHEAD = IPV4_UDP_HEADER_LENGTH + ETHERNET_OVERHEAD;

    private static final Logger LOGGER = LoggerFactory.getLogger(UdpDriver.class);
    private static final Runnable NO_OP = () ->
    {
    };

    private final ManualIoEventLoop eventLoop;
    private final NanoClock clock;
    private final NicQueueEstimator queueEstimator;
    private final int maxPacketLength;
    private final long linkBitsPerSecond;
    private final boolean transmitQueue;
    private final int receiveBatch;
    private final Arena arena = Arena.ofShared();
    private final PacketPool pool;
    private final TransmitQueue txQueue;
    private final LevelSockets sockets;
    private final ReceiveQueue rxQueue;
    private final UdpDatapath datapath;
    private final UdpCounters counters = new UdpCounters();
    private volatile boolean wakeupPending;
    private volatile Thread owner;
    private volatile boolean closed;

    /**
     * Open the sockets: eight per address, bound now so that {@link #localAddress()} is known; they join the event
     * loop on the owner thread's first call.
     *
     * @param context settings; concluded here.
     * @throws IllegalStateException if native epoll is unavailable or a socket cannot be opened or bound.
     */
    public UdpDriver(final UdpDriverContext context)
    {
        context.conclude();
        if (!Epoll.isAvailable())
        {
            final String modulePathHint = UdpDriver.class.getModule().isNamed() ?
                " (on the module path, add --add-modules io.netty.transport.epoll.linux.x86_64)" : "";
            throw new IllegalStateException("Netty native epoll is unavailable" + modulePathHint + ": " +
                Epoll.unavailabilityCause(), Epoll.unavailabilityCause());
        }
        clock = context.clock();
        receiveBatch = context.receiveBatch();
        final NetDevice device = 0 != context.mtu() && 0 != context.linkBitsPerSecond() ? NetDevice.UNKNOWN :
            NetDevice.forIpv4(HostAddress.ipv4Of(context.bindAddress()));
        final int mtu = 0 != context.mtu() ? context.mtu() :
            0 != device.mtu() ? device.mtu() : UdpDriverContext.MTU_FALLBACK;
        maxPacketLength = Math.min(mtu - IPV4_UDP_HEADER_LENGTH, MAX_UDP_PAYLOAD);
        transmitQueue = 0 != context.linkBitsPerSecond() || !device.software();
        linkBitsPerSecond = 0 != context.linkBitsPerSecond() ? context.linkBitsPerSecond() :
            device.linkBitsPerSecond();
        queueEstimator = new NicQueueEstimator(clock, linkBitsPerSecond);

        final boolean nativePath = UdpDriverContext.Datapath.NATIVE == context.datapath();
        final int stride = BitUtil.align(maxPacketLength, 64);
        final int poolSize = 0 != context.poolSize() ? context.poolSize() : Math.min(UdpDriverContext.POOL_SIZE_DEFAULT,
            Math.max(UdpDriverContext.POOL_SIZE_MIN_DEFAULT, UdpDriverContext.POOL_BYTES_TARGET / stride));
        pool = new PacketPool(arena, poolSize, maxPacketLength, 0);
        txQueue = new TransmitQueue(context.txQueueCapacity());
        final boolean gso = context.gso() && 2 * maxPacketLength <= MAX_UDP_PAYLOAD &&
            (nativePath || context.gsoBuffers() > 0) && EpollDatagramChannel.isSegmentedDatagramPacketSupported();
        // GRO coalesces datagrams into one of up to 64 KiB: with packets too large for two to fit, it would only add
        // a copy out of its staging buffer.
        final boolean gro = context.gro() && 2 * maxPacketLength <= MAX_UDP_PAYLOAD;
        try
        {
            sockets = new LevelSockets(context, maxPacketLength, gro, nativePath && context.singleReceiveSocket());
        }
        catch (final RuntimeException ex)
        {
            arena.close();
            throw ex;
        }
        eventLoop = new ManualIoEventLoop(null, null, EpollIoHandler.newFactory());
        rxQueue = new ReceiveQueue(pool, clock, counters, sockets.steered());
        datapath = nativePath ?
            new NativeDatapath(pool, rxQueue, counters, sockets, context, gso, this::runEventLoop) :
            new NettyDatapath(pool, rxQueue, counters, sockets, context, gso, eventLoop, this::runEventLoop);
        LOGGER.info("udp driver on {} ({}): datapath={} maxPacketLength={} link={} Mb/s{} gso={} gro={} " +
            "prioritySteering={} rcvbuf={}", HostAddress.toString(sockets.localAddress()), null == device.name() ?
            "device unknown" : device.name(), context.datapath(), maxPacketLength, linkBitsPerSecond / 1_000_000,
            transmitQueue ? " paced" : " (software device: not paced)", gso, sockets.gro(), sockets.steered(),
            sockets.receiveBufferBytes());
        final long taken = receiveQueueBytes();
        if (taken < context.socketReceiveBufferBytes())
        {
            LOGGER.warn("udp driver on {}: the kernel took {} bytes of receive buffer per socket where {} were " +
                "asked for; without CAP_NET_ADMIN net.core.rmem_max caps it, and datagrams that overflow it are " +
                "dropped (driver.kernel_receive_drops) and sent again: raise it (sysctl -w net.core.rmem_max={})",
                HostAddress.toString(sockets.localAddress()), taken, context.socketReceiveBufferBytes(),
                context.socketReceiveBufferBytes());
        }
    }

    /**
     * Open a driver described by a URI.
     *
     * @param uri such as {@code udp://198.18.0.1:4000?mtu=1500}; see {@link UdpDriverContext#fromUri(String)}.
     * @return an open driver.
     */
    public static UdpDriver fromUri(final String uri)
    {
        return new UdpDriver(UdpDriverContext.fromUri(uri));
    }

    @Override
    public int maxPacketLength()
    {
        return maxPacketLength;
    }

    @Override
    public int priorityLevels()
    {
        return PRIORITY_LEVELS;
    }

    @Override
    public long linkBitsPerSecond()
    {
        return linkBitsPerSecond;
    }

    @Override
    public int wireOverheadBytes()
    {
        return WIRE_OVERHEAD;
    }

    @Override
    public int counterCount()
    {
        return UdpCounters.COUNT;
    }

    @Override
    public String counterName(final int index)
    {
        return UdpCounters.name(index);
    }

    @Override
    public long counterValue(final int index)
    {
        return switch (index)
        {
            case UdpCounters.KERNEL_RECEIVE_DROPS -> kernelReceiveDrops();
            case UdpCounters.SOCKET_RECEIVE_BUFFER -> sockets.receiveBufferBytes();
            default -> counters.value(index);
        };
    }

    /**
     * {@inheritDoc}
     * <p>
     * A UDP destination needs a port, and an address packets can reach: not 0.0.0.0, a multicast address or a
     * broadcast address.
     */
    @Override
    public String destinationError(final long destination)
    {
        if (!HostAddress.isIpv4(destination))
        {
            return "not an IPv4 host address: " + HostAddress.toString(destination);
        }
        if (0 == HostAddress.portOf(destination))
        {
            return HostAddress.toString(destination) + " has no UDP port: udp:// peers are addressed as ip:port";
        }
        final int ip = HostAddress.ipv4Of(destination);
        if (0 == ip || (ip >>> 28) >= 0xE)
        {
            return HostAddress.toString(destination) + " is not a unicast address";
        }
        return null;
    }

    @Override
    public long localAddress()
    {
        return sockets.localAddress();
    }

    /**
     * {@inheritDoc}
     * <p>
     * The native datapath gathers: each packet is an iovec for its own bytes and one per gathered piece.
     */
    @Override
    public boolean gathersPayload()
    {
        return datapath.gathersPayload();
    }

    @Override
    public boolean canAwaitReadable()
    {
        return true;
    }

    @Override
    public boolean hasTransmitQueue()
    {
        return transmitQueue;
    }

    @Override
    public long queuedBytes()
    {
        return transmitQueue ? queueEstimator.queuedBytes() : 0;
    }

    /**
     * {@return what the smallest receive socket holds: half of its buffer as the kernel accounts it, which counts each
     * datagram's memory overhead (the bytes the driver asked for, unless {@code net.core.rmem_max} capped them)}
     */
    @Override
    public long receiveQueueBytes()
    {
        return sockets.receiveBufferBytes() / 2;
    }

    @Override
    public Packet acquire()
    {
        return pool.acquire();
    }

    @Override
    public void release(final Packet packet)
    {
        if (rxQueue.isLent(packet))
        {
            // A staged segment lent in place: nothing of the pool to give back.
            return;
        }
        pool.release(packet);
    }

    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        checkOwner();
        pool.heldSlotOf(packet);
        if (priority < 0 || priority >= PRIORITY_LEVELS)
        {
            throw new IllegalArgumentException("priority out of range 0.." + (PRIORITY_LEVELS - 1) + ": " + priority);
        }
        if (!HostAddress.isIpv4(destination) || 0 == HostAddress.portOf(destination))
        {
            throw new IllegalArgumentException("destination needs IPv4 and a port: " + destination);
        }
        return txQueue.add(packet, destination, priority);
    }

    @Override
    public int flush()
    {
        checkOwner();
        final int count = txQueue.count();
        if (0 == count)
        {
            return 0;
        }
        final long wireBytes = datapath.send(txQueue);
        // One clock read per flush, after the system calls: not one per packet before them.
        queueEstimator.onTransmit(wireBytes, clock.nanoTime());
        txQueue.clear();
        counters.onSent(count);
        return count;
    }

    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        checkOwner();
        if (rxQueue.count() < limit)
        {
            // Read no more than the caller takes: the rest waits in the socket buffer, not in the pool.
            rxQueue.startPoll(limit, sink.needsTimestamps());
            if (datapath.readsDirectly())
            {
                if (wakeupPending)
                {
                    wakeupPending = false;
                    eventLoop.runNow();
                }
                rxQueue.startDirect(sink, sockets.gro(), maxPacketLength);
                try
                {
                    datapath.receiveNow();
                }
                finally
                {
                    rxQueue.endDirect();
                }
            }
            else
            {
                eventLoop.runNow();
            }
        }
        return rxQueue.deliver(sink, limit);
    }

    /**
     * Wait in {@code epoll_wait} until a socket is readable, {@link #wakeup()} is called or the time is up; what
     * became readable is read into the receive queue for the next {@link #poll}. For idle strategies on the owner
     * thread ({@link EpollIdleStrategy}).
     *
     * @param maxWaitNs longest wait, at least 1 ns.
     * @return events and tasks handled, 0 if the wait timed out.
     */
    @Override
    public int awaitReadable(final long maxWaitNs)
    {
        checkOwner();
        if (rxQueue.count() > 0)
        {
            return rxQueue.count();
        }
        rxQueue.startWait(receiveBatch);
        datapath.armForWait();
        try
        {
            return eventLoop.run(Math.max(1L, maxWaitNs));
        }
        finally
        {
            datapath.disarmAfterWait();
        }
    }

    /**
     * End an {@link #awaitReadable} wait early, or make the next one return at once. Safe from any thread.
     * <p>
     * Queues an empty task rather than calling the loop's own wakeup, which is lost unless the loop is already
     * blocked: the loop checks its task queue before it blocks, so a queued task is never missed.
     */
    @Override
    public void wakeup()
    {
        if (!closed)
        {
            try
            {
                // Polls that bypass the loop run it when asked, so queued wake-up tasks never pile up.
                wakeupPending = true;
                eventLoop.execute(NO_OP);
            }
            catch (final RejectedExecutionException ignore)
            {
                // closed meanwhile: nobody is waiting any more
            }
        }
    }

    /**
     * Make an idle strategy that waits in epoll on this driver's sockets.
     *
     * @param maxSpins  idle calls that only spin before waiting in epoll.
     * @param maxWaitNs longest wait in epoll per idle call.
     * @return an idle strategy for this driver's owner thread.
     */
    public EpollIdleStrategy idleStrategy(final int maxSpins, final long maxWaitNs)
    {
        return new EpollIdleStrategy(this, maxSpins, maxWaitNs);
    }

    /**
     * {@return true if the calling thread owns this driver: it made the first {@link #poll}, {@link #send} or {@link
     * #flush} call}
     */
    public boolean isOwnerThread()
    {
        return Thread.currentThread() == owner;
    }

    /**
     * Run the loop once outside a poll (a send waiting for buffer space); what arrives meanwhile is stamped afresh.
     */
    private void runEventLoop()
    {
        rxQueue.restamp(true);
        eventLoop.runNow();
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        final Thread current = Thread.currentThread();
        if (null == owner)
        {
            owner = current;
            eventLoop.setOwningThread(current);
        }
        final boolean onOwner = owner == current;
        if (!onOwner)
        {
            // Netty's loop can only be run by its owner: release the ports and native memory at least; the loop's
            // epoll, event and timer descriptors stay open. Close on the protocol thread to avoid this.
            LOGGER.warn("udp driver closed from {} instead of its owner {}: epoll descriptors leak", current, owner);
        }
        datapath.close(onOwner);
        sockets.closeAll();
        if (onOwner)
        {
            terminate(eventLoop);
        }
        arena.close();
    }

    private static void terminate(final ManualIoEventLoop eventLoop)
    {
        eventLoop.shutdownGracefully(0, 0, TimeUnit.NANOSECONDS);
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!eventLoop.isTerminated() && System.nanoTime() < deadlineNs)
        {
            eventLoop.runNow();
        }
    }

    /**
     * {@return what the driver counts}
     */
    public UdpCounters counters()
    {
        return counters;
    }

    /**
     * {@return true if sends of runs to one destination use UDP GSO (wanted, supported, and not refused so far)}
     */
    public boolean gsoEnabled()
    {
        return datapath.gsoEnabled();
    }

    /**
     * {@return true if the sockets receive with UDP GRO}
     */
    public boolean groEnabled()
    {
        return sockets.gro();
    }

    /**
     * {@return true if one socket receives everything (native datapath, level from IP_RECVTOS)}
     */
    public boolean singleReceiveSocket()
    {
        return sockets.singleReceiver();
    }

    /**
     * {@return true if received packets carry the priority level they had on the wire}
     */
    public boolean prioritySteering()
    {
        return sockets.steered();
    }

    /**
     * {@inheritDoc}
     * <p>
     * {@link #kernelReceiveDrops()}.
     */
    @Override
    public long receiveDrops()
    {
        return kernelReceiveDrops();
    }

    /**
     * Datagrams the kernel dropped before the driver could read them, because a receive socket's buffer was full:
     * the sum over the driver's sockets of the kernel's per-socket drop count ({@code sk_drops}, the number
     * {@code SO_RXQ_OVFL} would attach to each datagram), read with {@code getsockopt(SO_MEMINFO)} when asked, so
     * that the receive path carries no extra control message and drops show even when nothing arrives after them.
     * Owner thread (connected sockets are counted only there); the last value read once the driver is closed.
     *
     * @return datagrams dropped by the kernel on this driver's receive sockets.
     */
    public long kernelReceiveDrops()
    {
        if (!closed)
        {
            long drops = sockets.kernelDrops();
            if (Thread.currentThread() == owner)
            {
                drops += datapath.ownSocketDrops();
            }
            counters.onKernelReceiveDrops(drops);
        }
        return counters.value(UdpCounters.KERNEL_RECEIVE_DROPS);
    }

    /**
     * {@return the smallest receive buffer of the driver's sockets as the kernel accounts it (twice the bytes it
     * took): at least {@link UdpDriverContext#socketReceiveBufferBytes()} unless {@code net.core.rmem_max} capped
     * it, which a process with {@code CAP_NET_ADMIN} passes}
     */
    public int socketReceiveBufferBytes()
    {
        return sockets.receiveBufferBytes();
    }

    /**
     * {@return free packets in the pool}
     */
    public int freePackets()
    {
        return pool.available();
    }

    /**
     * For tests: {@code SO_PRIORITY} of a level's socket, read back from the kernel.
     */
    int socketPriority(final int level) throws IOException
    {
        return sockets.socketPriority(level);
    }

    /**
     * For tests: the TOS byte a level's socket puts on its datagrams.
     */
    int socketTos(final int level) throws IOException
    {
        return sockets.socketTos(level);
    }

    private void checkOwner()
    {
        final Thread current = Thread.currentThread();
        if (current != owner)
        {
            attach(current);
        }
    }

    private void attach(final Thread current)
    {
        if (closed)
        {
            throw new IllegalStateException("driver closed");
        }
        if (null != owner)
        {
            throw new IllegalStateException("UdpDriver is owned by " + owner + " and was called from " + current);
        }
        owner = current;
        eventLoop.setOwningThread(current);
        eventLoop.runNow();
        datapath.attach(eventLoop);
    }
}
