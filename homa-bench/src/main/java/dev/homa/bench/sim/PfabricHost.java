package dev.homa.bench.sim;

import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.loopback.FabricDriver;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongArrayQueue;
import org.agrona.collections.LongHashSet;

import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * A host running pFabric (Alizadeh et al., SIGCOMM 2013), the near-ideal reference the Homa paper compares with:
 * every packet carries its message's remaining bytes as its rank, switches serve the lowest rank and drop the
 * highest when their small buffers fill, hosts send their shortest messages first at line rate, receivers
 * acknowledge each packet, and senders retransmit what a timeout finds unacknowledged. The rate control is
 * pFabric's minimal one: a message starts with a window of about one bandwidth-delay product; a timeout drops it
 * to one packet and each acknowledgement opens it again by one.
 * <p>
 * Packets are as long as Homa's (a 56-byte header before the payload) so both transports put the same bytes on the
 * wire for a message; an acknowledgement is a minimum-size frame (as a TCP ACK) with rank 0.
 */
final class PfabricHost extends SimHost implements PacketSink
{
    static final int HEADER_LENGTH = 56;
    /** An acknowledgement is a minimum Ethernet frame: 22 bytes plus the fabric's 62 of IP and Ethernet. */
    static final int ACK_LENGTH = 22;
    private static final byte DATA = 1;
    private static final byte ACK = 2;
    private static final int TYPE_OFFSET = 0;
    private static final int KIND_OFFSET = 1;
    private static final int INDEX_OFFSET = 4;
    private static final int FLOW_OFFSET = 8;
    private static final int SENDER_OFFSET = 16;
    private static final int RPC_OFFSET = 20;
    private static final int LENGTH_OFFSET = 28;
    private static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
    /** Completed incoming flows remembered, so a late duplicate is acknowledged but not delivered twice. */
    private static final int REMEMBERED = 1 << 16;

    private final FabricDriver driver;
    private final int payloadPerPacket;
    private final int responseBytes;
    private final int initialWindow;
    private final long rtoNs;
    private final long nicCapBytes;
    private final double nsPerByte;
    private final ArrayDeque<PfabricFlow> freeFlows = new ArrayDeque<>();
    private final FlowHeap sendable = new FlowHeap(false);
    private final FlowHeap timers = new FlowHeap(true);
    private int activeCount;
    private final Long2ObjectHashMap<PfabricFlow> outgoing = new Long2ObjectHashMap<>();
    private final Long2ObjectHashMap<Incoming> incoming = new Long2ObjectHashMap<>();
    private final ArrayDeque<Incoming> freeIncoming = new ArrayDeque<>();
    private final LongHashSet completed = new LongHashSet();
    private final LongArrayQueue completedOrder = new LongArrayQueue();
    private long nextFlow;
    private long nextRpcId = 2;
    private long nowNs;
    private long timeouts;
    private long dataSent;
    private long acksSent;
    private long retransmissions;
    private long receivedWireBytes;

    PfabricHost(
        final int index,
        final ClusterRun run,
        final FabricDriver driver,
        final RunSpec spec,
        final int payloadPerPacket,
        final double meanGapNs)
    {
        super(index, run, spec.seed(), meanGapNs);
        this.driver = driver;
        this.payloadPerPacket = payloadPerPacket;
        this.responseBytes = spec.responseBytes();
        this.initialWindow = Math.max(1, (spec.pfabricWindowBytes() + payloadPerPacket - 1) / payloadPerPacket);
        this.rtoNs = spec.pfabricRtoNs();
        this.nicCapBytes = 2L * (payloadPerPacket + HEADER_LENGTH + driver.wireOverheadBytes());
        this.nsPerByte = 8e9 / driver.linkBitsPerSecond();
    }

    @Override
    long send(final int destination, final int bytes, final long nowNs)
    {
        final long rpcId = nextRpcId;
        nextRpcId += 2;
        start(rpcId, false, destination, bytes, nowNs);
        return rpcId;
    }

    private void start(final long rpcId, final boolean response, final int destination, final int bytes,
        final long nowNs)
    {
        PfabricFlow flow = freeFlows.poll();
        if (null == flow)
        {
            flow = new PfabricFlow();
        }
        final long flowId = ((long)index << 40) | nextFlow++;
        flow.reset(flowId, rpcId, response, destination, run.address(destination), bytes, payloadPerPacket,
            initialWindow, rtoNs, nowNs);
        outgoing.put(flowId, flow);
        activeCount++;
        refresh(flow);
    }

    /**
     * Put a flow where it belongs after it changed: among the flows with a packet to send (by bytes left), and
     * among those with packets on their way (by timeout).
     */
    private void refresh(final PfabricFlow flow)
    {
        if (flow.canSend())
        {
            sendable.update(flow);
        }
        else
        {
            sendable.remove(flow);
        }
        if (flow.inFlight > 0)
        {
            timers.update(flow);
        }
        else
        {
            timers.remove(flow);
        }
    }

    @Override
    long work(final long nowNs)
    {
        this.nowNs = nowNs;
        while (0 != driver.poll(this, 64))
        {
            // Every packet that has arrived.
        }
        checkTimeouts(nowNs);
        transmit();
        return deadlineNs(nowNs);
    }

    private void transmit()
    {
        while (driver.queuedBytes() < nicCapBytes)
        {
            final PfabricFlow best = sendable.first();
            if (null == best)
            {
                break;
            }
            final boolean again = best.resendCount > 0;
            final long rank = best.remaining();
            final int packetIndex = best.takeNext(nowNs);
            refresh(best);
            dataSent++;
            if (again)
            {
                retransmissions++;
            }
            final int offset = packetIndex * payloadPerPacket;
            final int payload = Math.min(payloadPerPacket, best.length - offset);
            final Packet packet = driver.acquire();
            final MutableDirectBuffer buffer = packet.buffer();
            buffer.putByte(TYPE_OFFSET, DATA);
            buffer.putByte(KIND_OFFSET, (byte)(best.response ? 1 : 0));
            buffer.putInt(INDEX_OFFSET, packetIndex, ORDER);
            buffer.putLong(FLOW_OFFSET, best.flowId, ORDER);
            buffer.putLong(RPC_OFFSET, best.rpcId, ORDER);
            buffer.putInt(LENGTH_OFFSET, best.length, ORDER);
            buffer.putInt(SENDER_OFFSET, index, ORDER);
            packet.length(HEADER_LENGTH + payload);
            emit(packet, best.destinationAddress, rank, best.flowId);
        }
    }

    private void emit(final Packet packet, final long destination, final long rank, final long flowId)
    {
        if (!driver.sendRanked(packet, destination, rank, flowId))
        {
            driver.flush();
            driver.sendRanked(packet, destination, rank, flowId);
        }
        driver.flush();
        driver.release(packet);
    }

    private void checkTimeouts(final long nowNs)
    {
        PfabricFlow flow;
        while (null != (flow = timers.first()) && flow.timeoutNs() <= nowNs)
        {
            flow.onTimeout(nowNs);
            timeouts++;
            refresh(flow);
        }
    }

    @Override
    public void onPacket(final Packet packet)
    {
        final MutableDirectBuffer buffer = packet.buffer();
        final byte type = buffer.getByte(TYPE_OFFSET);
        final long flowId = buffer.getLong(FLOW_OFFSET, ORDER);
        final int packetIndex = buffer.getInt(INDEX_OFFSET, ORDER);
        if (ACK == type)
        {
            final PfabricFlow flow = outgoing.get(flowId);
            if (null != flow)
            {
                final int payload = Math.min(payloadPerPacket, flow.length - packetIndex * payloadPerPacket);
                final boolean done = flow.onAck(packetIndex, payload, nowNs);
                if (flow.window < initialWindow)
                {
                    flow.window++;
                }
                if (done)
                {
                    finish(flow);
                }
                else
                {
                    refresh(flow);
                }
            }
        }
        else
        {
            onData(buffer, flowId, packetIndex, packet.length());
        }
        driver.release(packet);
    }

    private void onData(
        final MutableDirectBuffer buffer, final long flowId, final int packetIndex, final int packetLength)
    {
        final int sender = buffer.getInt(SENDER_OFFSET, ORDER);
        acknowledge(sender, flowId, packetIndex);
        if (completed.contains(flowId))
        {
            return;
        }
        Incoming in = incoming.get(flowId);
        if (null == in)
        {
            in = freeIncoming.poll();
            if (null == in)
            {
                in = new Incoming();
            }
            in.reset(buffer.getInt(LENGTH_OFFSET, ORDER), payloadPerPacket);
            incoming.put(flowId, in);
        }
        final int state = in.receive(packetIndex);
        if (Incoming.DUPLICATE != state)
        {
            receivedWireBytes += packetLength + driver.wireOverheadBytes();
        }
        if (Incoming.COMPLETE == state)
        {
            incoming.remove(flowId);
            freeIncoming.add(in);
            remember(flowId);
            final long rpcId = buffer.getLong(RPC_OFFSET, ORDER);
            if (0 == buffer.getByte(KIND_OFFSET))
            {
                run.onRequestDelivered(this, sender, rpcId, nowNs);
                start(rpcId, true, sender, responseBytes, nowNs);
                run.onResponseSent(sender, nowNs);
            }
            else
            {
                run.onResponseDelivered(this, rpcId, nowNs);
            }
        }
    }

    private void acknowledge(final int sender, final long flowId, final int packetIndex)
    {
        final Packet ack = driver.acquire();
        final MutableDirectBuffer buffer = ack.buffer();
        buffer.putByte(TYPE_OFFSET, ACK);
        buffer.putByte(KIND_OFFSET, (byte)0);
        buffer.putInt(INDEX_OFFSET, packetIndex, ORDER);
        buffer.putLong(FLOW_OFFSET, flowId, ORDER);
        buffer.putInt(SENDER_OFFSET, index, ORDER);
        ack.length(ACK_LENGTH);
        acksSent++;
        emit(ack, run.address(sender), 0, flowId);
    }

    private void remember(final long flowId)
    {
        completed.add(flowId);
        completedOrder.addLong(flowId);
        if (completedOrder.size() > REMEMBERED)
        {
            completed.remove(completedOrder.pollLong());
        }
    }

    private void finish(final PfabricFlow flow)
    {
        outgoing.remove(flow.flowId);
        sendable.remove(flow);
        timers.remove(flow);
        activeCount--;
        freeFlows.add(flow);
    }

    private long deadlineNs(final long nowNs)
    {
        if (driver.receiveQueueDepth() > 0)
        {
            return nowNs;
        }
        final PfabricFlow next = timers.first();
        long deadline = null == next ? Long.MAX_VALUE : next.timeoutNs();
        if (0 != sendable.size())
        {
            final long queued = driver.queuedBytes();
            deadline = Math.min(deadline, queued < nicCapBytes ? nowNs :
                nowNs + Math.max(1, (long)Math.ceil((queued - nicCapBytes + 1) * nsPerByte)));
        }
        return deadline;
    }

    @Override
    long packetsSent()
    {
        return driver.txPackets();
    }

    @Override
    long receivedWireBytes()
    {
        return receivedWireBytes;
    }

    @Override
    void addCounters(final java.util.Map<String, Long> totals)
    {
        totals.merge("pfabric.data_sent", dataSent, Long::sum);
        totals.merge("pfabric.acks_sent", acksSent, Long::sum);
        totals.merge("pfabric.retransmissions", retransmissions, Long::sum);
        totals.merge("pfabric.timeouts", timeouts, Long::sum);
        totals.merge("pfabric.active_flows_at_end", (long)activeCount, Long::sum);
    }

    @Override
    void close()
    {
        // Nothing outside the fabric.
    }

    /**
     * A message being received: which packets have come.
     */
    private static final class Incoming
    {
        static final int DUPLICATE = 0;
        static final int NEW = 1;
        static final int COMPLETE = 2;

        long[] bits = new long[1];
        int packets;
        int received;

        void reset(final int length, final int payloadPerPacket)
        {
            packets = Math.max(1, (length + payloadPerPacket - 1) / payloadPerPacket);
            received = 0;
            final int words = (packets + 63) >>> 6;
            if (bits.length < words)
            {
                bits = new long[words];
            }
            else
            {
                Arrays.fill(bits, 0, words, 0L);
            }
        }

        /**
         * @return {@link #DUPLICATE}, {@link #NEW}, or {@link #COMPLETE} if this packet completes the message.
         */
        int receive(final int index)
        {
            final long bit = 1L << index;
            if (0 != (bits[index >>> 6] & bit))
            {
                return DUPLICATE;
            }
            bits[index >>> 6] |= bit;
            return ++received == packets ? COMPLETE : NEW;
        }
    }
}
