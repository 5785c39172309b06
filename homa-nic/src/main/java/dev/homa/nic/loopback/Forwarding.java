package dev.homa.nic.loopback;

import dev.homa.nic.Packet;
import dev.homa.nic.time.VirtualTimeScheduler;
import org.agrona.DirectBuffer;

/**
 * How a {@link Fabric} moves a flushed packet to its destination: at once into the receive queue (instant mode),
 * or as a {@link Frame} through the host's NIC, the switches' egress ports and the links in virtual time (timed
 * mode). Both pass the packet through the one {@link FaultStage}, and both report to the {@link FabricEvents}.
 */
final class Forwarding
{
    private final Fabric fabric;
    private final FabricMode mode;
    private final VirtualTimeScheduler scheduler;
    private final FabricDriver[] drivers;
    private final SwitchPort[] ports;
    private final Switch[] tors;
    private final Topology topology;
    private final boolean[] down;
    private final FramePool framePool;
    private final FaultStage faults;
    private final FabricEvents events;
    private final int carriedBytes;
    private long deliveries;

    Forwarding(
        final Fabric fabric,
        final FabricDriver[] drivers,
        final SwitchPort[] ports,
        final Switch[] tors,
        final boolean[] down,
        final FramePool framePool,
        final FaultStage faults,
        final FabricEvents events,
        final int carriedBytes)
    {
        this.fabric = fabric;
        this.mode = fabric.mode();
        this.scheduler = fabric.scheduler();
        this.topology = fabric.topology();
        this.drivers = drivers;
        this.ports = ports;
        this.tors = tors;
        this.down = down;
        this.framePool = framePool;
        this.faults = faults;
        this.events = events;
        this.carriedBytes = carriedBytes;
    }

    /**
     * @return packets put into a receive queue.
     */
    long deliveries()
    {
        return deliveries;
    }

    void onFlush(
        final FabricDriver sender,
        final Packet packet,
        final long destination,
        final int priority,
        final long rank,
        final long flowKey)
    {
        if (FabricMode.INSTANT == mode)
        {
            deliverInstant(sender, packet, destination, priority);
            return;
        }
        final Frame frame = framePool.acquire();
        final int length = packet.length();
        if (null == frame)
        {
            events.drop(DropReason.FRAME_POOL_EMPTY, sender.localAddress(), destination, priority, packet.buffer(),
                length);
            return;
        }
        frame.buffer.putBytes(0, packet.buffer(), 0, Math.min(length, carriedBytes));
        frame.length = length;
        frame.wireBytes = length + fabric.wireOverheadBytes();
        frame.source = sender.localAddress();
        frame.sourceIndex = sender.hostIndex();
        final int destinationIndex = fabric.indexOf(destination);
        frame.destinationIndex = destinationIndex;
        frame.destination = destinationIndex < 0 ? destination : drivers[destinationIndex].localAddress();
        frame.priority = priority;
        frame.rank = rank;
        frame.flowKey = flowKey;
        frame.flags = 0;
        sender.transmit(frame);
    }

    void onFrameEvent(final Frame frame, final long nowNs)
    {
        switch (frame.stage)
        {
            case Frame.STAGE_UPLINK -> onSwitchIngress(frame);
            case Frame.STAGE_REORDER -> enqueue(frame);
            case Frame.STAGE_HOP -> enqueue(frame.nextSwitch.route(frame), frame);
            case Frame.STAGE_DOWNLINK -> onHostArrival(frame, nowNs);
            default -> throw new IllegalStateException("frame event in stage " + frame.stage);
        }
    }

    private void deliverInstant(
        final FabricDriver sender, final Packet packet, final long destination, final int priority)
    {
        final long source = sender.localAddress();
        final int length = packet.length();
        final DirectBuffer bytes = packet.buffer();
        events.trace(FabricTraceListener.SENT, 0, source, destination, priority, bytes, length);
        final int destinationIndex = fabric.indexOf(destination);
        if (destinationIndex < 0)
        {
            events.drop(DropReason.NO_ROUTE, source, destination, priority, bytes, length);
            return;
        }
        final FabricDriver receiver = drivers[destinationIndex];
        final long to = receiver.localAddress();
        if (down[sender.hostIndex()] || down[destinationIndex] || receiver.isClosed())
        {
            events.drop(DropReason.HOST_DOWN, source, to, priority, bytes, length);
            return;
        }
        final FaultInjector injector = faults.injector(sender.hostIndex(), destinationIndex);
        if (faults.lose(injector, source, to, bytes, length))
        {
            events.drop(DropReason.LOSS, source, to, priority, bytes, length);
            return;
        }
        final Packet copy = receiver.take();
        if (null == copy)
        {
            receiver.onReceivePoolEmpty();
            events.drop(DropReason.RX_POOL_EMPTY, source, to, priority, bytes, length);
            return;
        }
        copy.buffer().putBytes(0, bytes, 0, length);
        copy.length(length).source(source).priority(priority).timestampNs(scheduler.nowNs());
        final int altered = faults.alter(injector, source, to, copy.buffer(), length);
        final int flags = altered & ~FaultStage.DUPLICATE;
        Packet duplicate = null;
        if (0 != (altered & FaultStage.DUPLICATE))
        {
            duplicate = receiver.take();
            if (null == duplicate)
            {
                receiver.onReceivePoolEmpty();
                events.drop(DropReason.RX_POOL_EMPTY, source, to, priority, copy.buffer(), length);
            }
            else
            {
                faults.onDuplicated();
                duplicate.buffer().putBytes(0, copy.buffer(), 0, length);
                duplicate.length(length).source(source).priority(priority).timestampNs(scheduler.nowNs());
            }
        }
        final boolean holdBack = 0 != (flags & FabricTraceListener.FLAG_REORDERED);
        final SwitchPort port = ports[destinationIndex];
        port.countInstant(priority, length + fabric.wireOverheadBytes());
        events.trace(FabricTraceListener.ENQUEUED, flags, source, to, priority, copy.buffer(), length);
        deliveries++;
        receiver.onReceive(copy, holdBack);
        events.trace(FabricTraceListener.DELIVERED, flags, source, to, priority, copy.buffer(), length);
        if (null != duplicate)
        {
            final int duplicateFlags =
                (flags & FabricTraceListener.FLAG_CORRUPTED) | FabricTraceListener.FLAG_DUPLICATE;
            port.countInstant(priority, length + fabric.wireOverheadBytes());
            final DirectBuffer copied = duplicate.buffer();
            events.trace(FabricTraceListener.ENQUEUED, duplicateFlags, source, to, priority, copied, length);
            deliveries++;
            receiver.onReceive(duplicate, false);
            events.trace(FabricTraceListener.DELIVERED, duplicateFlags, source, to, priority, copied, length);
        }
    }

    private void onSwitchIngress(final Frame frame)
    {
        final int destinationIndex = frame.destinationIndex;
        if (destinationIndex < 0)
        {
            dropFrame(DropReason.NO_ROUTE, frame);
            return;
        }
        if (down[frame.sourceIndex] || down[destinationIndex])
        {
            dropFrame(DropReason.HOST_DOWN, frame);
            return;
        }
        final FaultInjector injector = faults.injector(frame.sourceIndex, destinationIndex);
        final long source = frame.source;
        final long destination = frame.destination;
        final int length = frame.length;
        if (faults.lose(injector, source, destination, frame.buffer, length))
        {
            dropFrame(DropReason.LOSS, frame);
            return;
        }
        final int altered = faults.alter(injector, source, destination, frame.buffer, length);
        frame.flags |= altered & FabricTraceListener.FLAG_CORRUPTED;
        Frame duplicate = null;
        if (0 != (altered & FaultStage.DUPLICATE))
        {
            duplicate = framePool.acquire();
            if (null == duplicate)
            {
                events.drop(DropReason.FRAME_POOL_EMPTY, source, destination, frame.priority, frame.buffer, length);
            }
            else
            {
                faults.onDuplicated();
                duplicate.copyOf(frame);
            }
        }
        if (0 != (altered & FabricTraceListener.FLAG_REORDERED))
        {
            frame.flags |= FabricTraceListener.FLAG_REORDERED;
            frame.stage = Frame.STAGE_REORDER;
            frame.timePs += faults.delayNs() * 1000L;
            scheduler.schedule(LinkSerializer.ceilNs(frame.timePs), frame);
        }
        else
        {
            enqueue(frame);
        }
        if (null != duplicate)
        {
            enqueue(duplicate);
        }
    }

    private void enqueue(final Frame frame)
    {
        enqueue(tors[topology.rackOf(frame.sourceIndex)].route(frame), frame);
    }

    private void enqueue(final SwitchPort port, final Frame frame)
    {
        frame.stage = Frame.STAGE_NONE;
        if (port.enqueue(frame))
        {
            events.trace(FabricTraceListener.ENQUEUED, frame.flags, frame);
        }
        else
        {
            dropFrame(DropReason.PORT_FULL, frame);
        }
    }

    private void onHostArrival(final Frame frame, final long nowNs)
    {
        frame.stage = Frame.STAGE_NONE;
        final FabricDriver receiver = drivers[frame.destinationIndex];
        if (down[frame.destinationIndex] || receiver.isClosed())
        {
            dropFrame(DropReason.HOST_DOWN, frame);
            return;
        }
        final Packet packet = receiver.take();
        if (null == packet)
        {
            receiver.onReceivePoolEmpty();
            dropFrame(DropReason.RX_POOL_EMPTY, frame);
            return;
        }
        final int length = frame.length;
        packet.buffer().putBytes(0, frame.buffer, 0, Math.min(length, carriedBytes));
        packet.length(length).source(frame.source).priority(frame.priority).timestampNs(nowNs);
        deliveries++;
        receiver.onReceive(packet, false);
        events.trace(FabricTraceListener.DELIVERED, frame.flags, frame);
        framePool.release(frame);
    }

    void dropFrame(final int reason, final Frame frame)
    {
        events.drop(reason, frame.source, frame.destination, frame.priority, frame.buffer, frame.length);
        framePool.release(frame);
    }
}
