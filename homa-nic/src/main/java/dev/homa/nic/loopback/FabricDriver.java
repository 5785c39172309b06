package dev.homa.nic.loopback;

import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.linux.PacketPool;
import dev.homa.nic.time.VirtualTimeScheduler;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.Arena;

/**
 * One host's NIC on a {@link Fabric}. Owns a fixed pool of packet slots (a {@link PacketPool}, as every driver does):
 * the protocol acquires from it to send, and received packets are copies into it (a packet arriving when the pool is
 * empty is dropped and counted, like a NIC with no free receive descriptor).
 * <p>
 * In timed mode the NIC is a FIFO transmit queue serialized at link rate and {@link #queuedBytes()} is exact: wire
 * bytes of the frames waiting plus the unsent part of the frame on the wire. In instant mode it is always 0.
 * <p>
 * Single-threaded, like the fabric: use it from the thread that drives the fabric's scheduler.
 */
public final class FabricDriver implements NicDriver
{
    private final Fabric fabric;
    private final int index;
    private final long address;
    private final int maxPacketLength;
    private final PacketPool pool;
    private final PacketRing receiveQueue;
    private final PacketRing heldBack;
    private final Packet[] pendingPackets;
    private final long[] pendingDestinations;
    private final int[] pendingPriorities;
    private final long[] pendingRanks;
    private final long[] pendingFlows;
    private int pendingCount;
    private boolean closed;

    private final VirtualTimeScheduler scheduler;
    private final FrameQueue nicQueue = new FrameQueue();
    private final LinkSerializer nicLink;
    private final long propagationPs;
    private Frame nicCurrent;
    private ArrivalListener arrivalListener;
    private final boolean placing;
    private final UnsafeBuffer placeView = new UnsafeBuffer(0, 0);

    private long txPackets;
    private long txBytes;
    private long sendRejects;
    private long rxPackets;
    private long rxBytes;
    private long rxPoolDrops;
    private long peakQueuedBytes;

    FabricDriver(
        final Fabric fabric,
        final int index,
        final long address,
        final int maxPacketLength,
        final int poolSize,
        final int txBatchCapacity,
        final VirtualTimeScheduler scheduler,
        final long linkBitsPerSecond,
        final long propagationPs,
        final boolean placing)
    {
        this.fabric = fabric;
        this.placing = placing;
        this.index = index;
        this.address = address;
        this.maxPacketLength = maxPacketLength;
        this.scheduler = scheduler;
        this.nicLink = new LinkSerializer(linkBitsPerSecond);
        this.propagationPs = propagationPs;

        // Memory the garbage collector frees with the driver: a simulation opens and drops many hosts.
        pool = new PacketPool(Arena.ofAuto(), poolSize, maxPacketLength, 0);
        receiveQueue = new PacketRing(poolSize);
        heldBack = new PacketRing(poolSize);
        pendingPackets = new Packet[txBatchCapacity];
        pendingDestinations = new long[txBatchCapacity];
        pendingPriorities = new int[txBatchCapacity];
        pendingRanks = new long[txBatchCapacity];
        pendingFlows = new long[txBatchCapacity];
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int maxPacketLength()
    {
        return maxPacketLength;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int priorityLevels()
    {
        return fabric.topology().priorityLevels();
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public long linkBitsPerSecond()
    {
        return fabric.linkBitsPerSecond();
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int wireOverheadBytes()
    {
        return fabric.wireOverheadBytes();
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public long localAddress()
    {
        return address;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public long queuedBytes()
    {
        return nicQueue.wireBytes() + nicLink.remainingBytes(scheduler.nowNs() * 1000L);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public Packet acquire()
    {
        return pool.acquire();
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void release(final Packet packet)
    {
        pool.release(packet);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        return queue(packet, destination, priority, 0, 0);
    }

    /**
     * Send with a pFabric rank instead of a priority level, for a {@link Topology.QueueDiscipline#RANK} fabric:
     * switches serve lower ranks first and drop the highest when full, keeping each flow's packets in order.
     *
     * @param packet      the packet, as for {@link #send}.
     * @param destination host address.
     * @param rank        lower goes first (pFabric: the bytes the message has left).
     * @param flowKey     identifies the packet's flow (its message), whose packets leave each port in order.
     * @return false if the batch is full (flush first).
     */
    public boolean sendRanked(final Packet packet, final long destination, final long rank, final long flowKey)
    {
        return queue(packet, destination, 0, rank, flowKey);
    }

    private boolean queue(
        final Packet packet, final long destination, final int priority, final long rank, final long flowKey)
    {
        if (closed)
        {
            throw new IllegalStateException("driver closed: " + this);
        }
        if (priority < 0 || priority >= SwitchPort.LEVELS)
        {
            throw new IllegalArgumentException("priority outside 0.." + (SwitchPort.LEVELS - 1) + ": " + priority);
        }
        if (0 == packet.length())
        {
            throw new IllegalArgumentException("empty packet");
        }
        if (packet.length() > maxPacketLength)
        {
            throw new IllegalArgumentException("packet length " + packet.length() + " > " + maxPacketLength);
        }
        if (pendingCount == pendingPackets.length)
        {
            sendRejects++;
            return false;
        }
        pendingPackets[pendingCount] = packet;
        pendingDestinations[pendingCount] = destination;
        pendingPriorities[pendingCount] = priority;
        pendingRanks[pendingCount] = rank;
        pendingFlows[pendingCount] = flowKey;
        pendingCount++;
        return true;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int flush()
    {
        if (closed)
        {
            throw new IllegalStateException("driver closed: " + this);
        }
        final int count = pendingCount;
        pendingCount = 0;
        for (int i = 0; i < count; i++)
        {
            final Packet packet = pendingPackets[i];
            pendingPackets[i] = null;
            txPackets++;
            txBytes += packet.length();
            fabric.onFlush(this, packet, pendingDestinations[i], pendingPriorities[i], pendingRanks[i],
                pendingFlows[i]);
        }
        return count;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        int delivered = 0;
        while (delivered < limit)
        {
            Packet packet = receiveQueue.poll();
            if (null == packet)
            {
                if (heldBack.isEmpty())
                {
                    break;
                }
                while (!heldBack.isEmpty())
                {
                    receiveQueue.add(heldBack.poll());
                }
                packet = receiveQueue.poll();
            }
            delivered++;
            if (placing)
            {
                packet.placeFor(sink, placeView);
            }
            sink.onPacket(packet);
        }
        return delivered;
    }

    /**
     * Stop this host: pending sends are discarded, later calls to send or flush throw, and the fabric drops
     * packets to and from it (as {@link DropReason#HOST_DOWN}).
     */
    @Override
    public void close()
    {
        closed = true;
        for (int i = 0; i < pendingCount; i++)
        {
            pendingPackets[i] = null;
        }
        pendingCount = 0;
    }

    /**
     * Be told whenever a packet lands in this host's receive queue, so that a simulation polls the host only when it
     * has input (event-driven stepping) instead of every host at every instant.
     *
     * @param listener called on the fabric's thread right after the packet is queued; null for none.
     * @return this.
     */
    public FabricDriver arrivalListener(final ArrivalListener listener)
    {
        this.arrivalListener = listener;
        return this;
    }

    /**
     * @return true once {@link #close()} was called.
     */
    public boolean isClosed()
    {
        return closed;
    }

    /**
     * @return index of this host in its fabric, 0-based in order of addition.
     */
    public int hostIndex()
    {
        return index;
    }

    /**
     * @return the fabric this host is on.
     */
    public Fabric fabric()
    {
        return fabric;
    }

    /**
     * @return packets handed to the fabric by {@link #flush()}.
     */
    public long txPackets()
    {
        return txPackets;
    }

    /**
     * @return Homa bytes handed to the fabric by {@link #flush()}.
     */
    public long txBytes()
    {
        return txBytes;
    }

    /**
     * @return calls to {@link #send} refused because the batch was full.
     */
    public long sendRejects()
    {
        return sendRejects;
    }

    /**
     * @return packets put into the receive queue.
     */
    public long rxPackets()
    {
        return rxPackets;
    }

    /**
     * @return Homa bytes put into the receive queue.
     */
    public long rxBytes()
    {
        return rxBytes;
    }

    /**
     * @return arriving packets dropped because the pool had no free slot.
     */
    public long rxPoolDrops()
    {
        return rxPoolDrops;
    }

    /**
     * @return free slots in the packet pool.
     */
    public int availablePackets()
    {
        return pool.available();
    }

    /**
     * @return slots in the packet pool.
     */
    public int poolSize()
    {
        return pool.size();
    }

    /**
     * @return packets waiting to be polled, including ones held back for reordering.
     */
    public int receiveQueueDepth()
    {
        return receiveQueue.size() + heldBack.size();
    }

    /**
     * @return largest {@link #queuedBytes()} seen right after a flush (timed mode).
     */
    public long peakQueuedBytes()
    {
        return peakQueuedBytes;
    }

    /**
     * @return frames in the NIC's transmit queue, the one on the wire included (timed mode).
     */
    public int queuedPackets()
    {
        return nicQueue.count() + (null == nicCurrent ? 0 : 1);
    }

    /**
     * @return nanoseconds (rounded down) the uplink has spent transmitting up to the current virtual time.
     */
    public long nicBusyNs()
    {
        return nicLink.busyPs(scheduler.nowNs() * 1000L) / 1000L;
    }

    /**
     * @return nanoseconds since time 0 that the uplink was not transmitting.
     */
    public long nicIdleNs()
    {
        return scheduler.nowNs() - nicBusyNs();
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String toString()
    {
        return "FabricDriver{" + HostAddress.toString(address) + '}';
    }

    Packet take()
    {
        final int slot = pool.take();
        return slot < 0 ? null : pool.packet(slot);
    }

    void onReceive(final Packet packet, final boolean holdBack)
    {
        rxPackets++;
        rxBytes += packet.length();
        if (holdBack)
        {
            heldBack.add(packet);
        }
        else
        {
            receiveQueue.add(packet);
        }
        if (null != arrivalListener)
        {
            arrivalListener.onArrival(this);
        }
    }

    void onReceivePoolEmpty()
    {
        rxPoolDrops++;
    }

    void transmit(final Frame frame)
    {
        nicQueue.add(frame);
        if (null == nicCurrent)
        {
            startNext(scheduler.nowNs() * 1000L);
        }
        peakQueuedBytes = Math.max(peakQueuedBytes, queuedBytes());
    }

    private void startNext(final long readyPs)
    {
        final Frame frame = nicQueue.poll();
        if (null != frame)
        {
            nicCurrent = frame;
            final long endPs = nicLink.start(readyPs, frame.wireBytes);
            fabric.onNicStart(frame);
            frame.stage = Frame.STAGE_NIC;
            frame.nic = this;
            scheduler.schedule(LinkSerializer.ceilNs(endPs), frame);
        }
    }

    /**
     * The frame on the uplink has left the NIC: it is on the wire, and the next one starts.
     *
     * @param frame the frame that was on the uplink.
     */
    void onTransmitComplete(final Frame frame)
    {
        nicCurrent = null;
        frame.nic = null;
        nicLink.finish();
        final long endPs = nicLink.endPs();
        frame.stage = Frame.STAGE_UPLINK;
        frame.timePs = endPs + propagationPs;
        scheduler.schedule(LinkSerializer.ceilNs(frame.timePs), frame);
        startNext(endPs);
    }

    /**
     * Told that a packet reached a host's receive queue.
     */
    @FunctionalInterface
    public interface ArrivalListener
    {
        /**
         * @param driver the host's driver, whose {@link FabricDriver#poll} now returns at least one packet.
         */
        void onArrival(FabricDriver driver);
    }
}
