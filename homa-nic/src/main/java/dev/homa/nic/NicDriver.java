package dev.homa.nic;

/**
 * How the protocol moves packets: a driver owns an off-heap packet pool and a way onto a network. The protocol
 * writes Homa bytes (header + payload) into a {@link Packet}; the driver adds whatever framing its medium needs
 * (Ethernet + 802.1Q + IPv4, a UDP datagram, nothing at all for the in-memory fabric).
 * <p>
 * A driver is used by one thread, the protocol's, and needs no locks. Sends are batched: {@link #send} queues,
 * {@link #flush()} marks the batch boundary where the driver hands the batch to the medium (one syscall, one
 * ring doorbell).
 */
public interface NicDriver extends AutoCloseable
{
    /**
     * {@return the largest Homa packet (header + payload) one frame can carry: the IP MTU less the IP header for raw
     * Ethernet, the UDP payload limit for UDP}
     */
    int maxPacketLength();

    /**
     * {@return how many Homa priority levels reach the wire distinctly (8 for PCP and DSCP)}
     */
    int priorityLevels();

    /**
     * {@return link rate in bits per second, which sizes the pacer and the unscheduled bytes}
     */
    long linkBitsPerSecond();

    /**
     * {@return bytes that frame one Homa packet on the wire beyond its own length (IP header, Ethernet header and VLAN
     * tag, preamble, CRC and inter-frame gap), for the pacer's arithmetic}
     */
    int wireOverheadBytes();

    /**
     * {@return this host's {@link HostAddress}}
     */
    long localAddress();

    /**
     * Whether packets reach the wire as IPv4 protocol 146 datagrams, where a kernel host reads them (raw Ethernet;
     * a capture that records them so): the protocol then fills each common header's checksum as a kernel's packets
     * carry it (see {@link dev.homa.nic.frame.HomaChecksum}). A driver that encapsulates (UDP) or never leaves the
     * process (the fabric) says no, and the field stays 0.
     *
     * @return true if packets travel as IPv4 protocol 146.
     */
    default boolean carriesIpProtocol146()
    {
        return false;
    }

    /**
     * Whether the driver has the checksum of its IPv4 protocol-146 packets completed below it (the NIC, or the
     * stack's software fallback), as the kernel has its own: the protocol then writes none, and may hand the driver
     * gathered payload ({@link #gathersPayload()}) that it never reads.
     *
     * @return true if the driver, not the protocol, takes care of the checksum; false by default.
     */
    default boolean completesChecksum()
    {
        return false;
    }

    /**
     * Check a destination before the protocol starts a message to it, so that a message nobody can deliver fails
     * at once with a clear error instead of timing out.
     *
     * @param destination a {@link HostAddress}.
     * @return null if this driver can send to it; otherwise why not, for the caller's exception.
     */
    default String destinationError(final long destination)
    {
        return HostAddress.isIpv4(destination) ? null :
            "not an IPv4 host address: " + HostAddress.toString(destination);
    }

    /**
     * {@return how many counters the driver keeps for monitoring (published beside the protocol's, e.g. in the
     * transport's counters file); none by default}
     */
    default int counterCount()
    {
        return 0;
    }

    /**
     * Name of one of the driver's counters.
     *
     * @param index 0 .. {@link #counterCount()} - 1.
     * @return the counter's name, lower case with underscores (e.g. {@code kernel_receive_drops}).
     */
    default String counterName(final int index)
    {
        throw new IndexOutOfBoundsException("counter " + index + " of " + counterCount());
    }

    /**
     * Value of one of the driver's counters.
     *
     * @param index 0 .. {@link #counterCount()} - 1.
     * @return the counter's current value; called on the driver's thread.
     */
    default long counterValue(final int index)
    {
        throw new IndexOutOfBoundsException("counter " + index + " of " + counterCount());
    }

    /**
     * {@return bytes handed to the NIC that it has not yet put on the wire, as estimated on the driver's clock. The
     * pacer holds this to a few microseconds of the link so that SRPT decisions are made late. Always 0 for a driver
     * without a transmit queue ({@link #hasTransmitQueue()})}
     */
    long queuedBytes();

    /**
     * {@return packets addressed to this driver that its kernel side dropped before the driver read them (a full
     * socket buffer, a full receive ring), since it opened; 0 where packets are not dropped that way} The count may
     * be read from the kernel on each call. Owner thread.
     */
    default long receiveDrops()
    {
        return 0;
    }

    /**
     * Whether packets wait after {@link #flush()} in a transmit queue in front of a link of {@link
     * #linkBitsPerSecond()}, as they do in a NIC: then the pacer keeps that queue short. A software path has no such
     * queue: on loopback or veth the kernel runs the receiving side inside the send call, so a flush is delivered when
     * it returns and the link rate only sizes the protocol's windows.
     *
     * @return true if {@link #queuedBytes()} estimates a real queue (the default).
     */
    default boolean hasTransmitQueue()
    {
        return true;
    }

    /**
     * Bytes of received packets that can wait for {@link #poll} before the path drops more (a receive socket's
     * buffer, a ring), counted as packet bytes rather than as the kernel accounts its buffers. On a path without a
     * transmit queue ({@link #hasTransmitQueue()}) this is where bytes granted to senders and not yet received wait,
     * as a switch port holds them on a network, so it may size the protocol's incoming budget there.
     *
     * @return the bytes, or 0 where the driver does not know them (the default).
     */
    default long receiveQueueBytes()
    {
        return 0;
    }

    /**
     * {@return true if {@link #awaitReadable(long)} really blocks until input arrives, so that an idle protocol thread
     * can sleep in it instead of spinning or parking on a timer}
     */
    default boolean canAwaitReadable()
    {
        return false;
    }

    /**
     * On the thread that uses the driver: block until a packet may be ready for {@link #poll}, {@link #wakeup()} is
     * called, or {@code maxWaitNs} passes. A driver that cannot wait ({@link #canAwaitReadable()} false) returns at
     * once.
     *
     * @param maxWaitNs longest wait, at least 1 ns.
     * @return a positive number if woken by input or a wake-up, 0 if the time ran out (or the driver cannot wait).
     */
    default int awaitReadable(final long maxWaitNs)
    {
        return 0;
    }

    /**
     * End an {@link #awaitReadable(long)} in progress, or make the next one return at once. Safe from any thread.
     */
    default void wakeup()
    {
    }

    /**
     * {@return true if {@link #send} puts a packet's gathered payload ({@link Packet#appendPayload}) on the wire after
     * its own bytes; false (the default) if the caller must copy every byte into the packet}
     */
    default boolean gathersPayload()
    {
        return false;
    }

    /**
     * {@return a free packet from the pool with length 0 and no gathered payload, or {@code null} if the pool is
     * exhausted}
     */
    Packet acquire();

    /**
     * Return a packet to the pool. The caller must not touch it afterwards.
     *
     * @param packet from {@link #acquire()} or a {@link PacketSink}.
     */
    void release(Packet packet);

    /**
     * Queue the packet for transmission. The caller keeps ownership and may send the same packet again (to
     * another destination, or later as a retransmission), but must not change or release it before the next
     * {@link #flush()} returns.
     *
     * @param packet      Homa bytes, {@link Packet#length()} valid.
     * @param destination {@link HostAddress} of the receiving host.
     * @param priority    Homa level 0 (lowest) .. {@link #priorityLevels()} - 1, carried as PCP or DSCP.
     * @return true if queued, false if the driver's transmit queue is full (flush and retry).
     */
    boolean send(Packet packet, long destination, int priority);

    /**
     * Hand everything queued by {@link #send} to the medium.
     *
     * @return number of packets handed over.
     */
    int flush();

    /**
     * Claim a Homa port against the other drivers that share this one's medium, as a kernel host keeps one port map
     * for all its sockets: on raw Ethernet every process with a driver on an interface shares the interface's ports,
     * and a driver receives only the packets for its own. A medium that keeps its users apart itself (a UDP socket
     * per driver, a fabric host) claims nothing and says yes. Unlike the other methods, callable from any thread.
     *
     * @param port 0..65535.
     * @return true if the port is this driver's now; false if another driver on the medium holds it.
     */
    default boolean claimPort(final int port)
    {
        return true;
    }

    /**
     * Give back a port {@link #claimPort claimed} (others are ignored). Callable from any thread.
     *
     * @param port the port.
     */
    default void releasePort(final int port)
    {
    }

    /**
     * Tell the sender of a received packet that nothing listens on its destination port, as the medium does it: ICMP
     * port unreachable quoting the packet on raw Ethernet, as a kernel host answers. The driver's own answers come
     * back as {@link UnreachableNotice}s from its {@link #poll}. A medium without such a message says no, and the
     * protocol answers with an {@link UnreachableNotice} itself. A driver that knows another driver on its medium
     * {@link #claimPort claimed} the port answers nothing and says yes: the packet was that driver's.
     *
     * @param received the packet, still owned by the caller.
     * @return true if the medium's answer went out, or none is due.
     */
    default boolean sendPortUnreachable(final Packet received)
    {
        return false;
    }

    /**
     * Deliver up to {@code limit} received packets to the sink, in arrival order.
     *
     * @param sink  receiver of the packets.
     * @param limit most packets to deliver in this call.
     * @return number delivered; 0 means nothing was waiting.
     */
    int poll(PacketSink sink, int limit);

    /**
     * Release the medium and the pool.
     */
    @Override
    void close();
}
