package dev.homa.core;

import dev.homa.nic.frame.PriorityMapping;
import dev.homa.core.grant.GrantSender;
import dev.homa.core.grant.Grantable;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.priority.Cutoffs;
import dev.homa.core.wire.CutoffsFlyweight;
import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.ResendFlyweight;
import dev.homa.nic.Packet;

/**
 * Writes the control packets other than ACK: GRANT (as the {@link GrantSender} of the grant scheduler), RESEND,
 * CUTOFFS and the bare-header ones (BUSY, RPC_UNKNOWN, NEED_ACK). Control packets always go at the highest level:
 * they are small and a late one stalls a whole message.
 */
final class ControlSender implements GrantSender
{
    private final HomaHeaderFlyweight header = new HomaHeaderFlyweight();
    private final GrantFlyweight grantFw = new GrantFlyweight();
    private final ResendFlyweight resendFw = new ResendFlyweight();
    private final CutoffsFlyweight cutoffsFw = new CutoffsFlyweight();
    private final PacketTransmitter transmitter;
    private final HomaMetrics metrics;
    private final Cutoffs localCutoffs;
    private final int maxMessageLength;
    private final int highestPriority;

    /**
     * @param transmitter      the batching transmitter.
     * @param metrics          counters.
     * @param localCutoffs     this host's unscheduled cutoffs (advertised in CUTOFFS).
     * @param maxMessageLength the longest message (level 0 admits it).
     */
    ControlSender(
        final PacketTransmitter transmitter,
        final HomaMetrics metrics,
        final Cutoffs localCutoffs,
        final int maxMessageLength)
    {
        this.transmitter = transmitter;
        this.metrics = metrics;
        this.localCutoffs = localCutoffs;
        this.maxMessageLength = maxMessageLength;
        this.highestPriority = transmitter.highestPriority();
    }

    /**
     * Send a packet that is just the common header (BUSY, RPC_UNKNOWN, NEED_ACK).
     *
     * @param type            packet type.
     * @param sourcePort      our port.
     * @param destinationPort the peer's port.
     * @param senderId        RPC id as the receiver's sender sees it.
     * @param destination     host address.
     */
    void sendControl(
        final int type, final int sourcePort, final int destinationPort, final long senderId, final long destination)
    {
        final Packet packet = transmitter.acquire();
        if (null == packet)
        {
            return;
        }
        header.wrap(packet.buffer(), 0);
        header.initialize(type, sourcePort, destinationPort, senderId);
        packet.length(HomaHeaderFlyweight.COMMON_HEADER_LENGTH);
        transmitter.transmit(packet, destination, highestPriority, type);
    }

    /**
     * Ask the RPC's peer to send a byte range again.
     *
     * @param rpc      the RPC whose inbound message misses bytes.
     * @param offset   first byte.
     * @param length   bytes, or {@link ResendFlyweight#LENGTH_ALL}.
     * @param priority level the retransmission should use.
     * @return true if the packet went to the transmitter.
     */
    boolean sendResend(final Rpc rpc, final int offset, final int length, final int priority)
    {
        final Packet packet = transmitter.acquire();
        if (null == packet)
        {
            return false;
        }
        resendFw.wrap(packet.buffer(), 0);
        resendFw.initialize(PacketType.RESEND, rpc.socket.port, rpc.peerPort, rpc.id);
        resendFw.offset(offset);
        resendFw.length(length);
        resendFw.priority(transmitter.clampPriority(priority));
        packet.length(ResendFlyweight.LENGTH);
        metrics.increment(HomaMetrics.RESENDS_REQUESTED);
        return transmitter.transmit(packet, rpc.peerAddress, highestPriority, PacketType.RESEND);
    }

    /**
     * Tell a peer our current unscheduled cutoffs.
     *
     * @param destination     host address.
     * @param sourcePort      our port.
     * @param destinationPort the peer's port.
     * @param id              RPC id the packet names.
     */
    void sendCutoffs(final long destination, final int sourcePort, final int destinationPort, final long id)
    {
        final Packet packet = transmitter.acquire();
        if (null == packet)
        {
            return;
        }
        cutoffsFw.wrap(packet.buffer(), 0);
        cutoffsFw.initialize(PacketType.CUTOFFS, sourcePort, destinationPort, id);
        for (int i = 0; i < PriorityMapping.LEVELS; i++)
        {
            cutoffsFw.cutoff(i, 0 == i ? Math.max(localCutoffs.cutoff(0), maxMessageLength) : localCutoffs.cutoff(i));
        }
        cutoffsFw.cutoffVersion(localCutoffs.version());
        packet.length(CutoffsFlyweight.LENGTH);
        transmitter.transmit(packet, destination, highestPriority, PacketType.CUTOFFS);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void sendGrant(final Grantable message, final int grantOffset, final int priority)
    {
        final Rpc rpc = ((InboundMessage)message).rpc;
        final Packet packet = transmitter.acquire();
        if (null == packet)
        {
            return;
        }
        grantFw.wrap(packet.buffer(), 0);
        grantFw.initialize(PacketType.GRANT, rpc.socket.port, rpc.peerPort, rpc.id);
        grantFw.offset(grantOffset);
        grantFw.priority(transmitter.clampPriority(priority));
        packet.length(GrantFlyweight.LENGTH);
        transmitter.transmit(packet, rpc.peerAddress, highestPriority, PacketType.GRANT);
    }
}
