package dev.homa.nic.capture;

import dev.homa.nic.HostAddress;
import dev.homa.nic.ForwardingNicDriver;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.frame.HomaFrameWriter;
import dev.homa.nic.frame.MacResolver;
import dev.homa.nic.frame.PriorityMapping;
import org.agrona.BufferUtil;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.Objects;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * A {@link NicDriver} decorator that records every packet sent and received into a pcap file exactly as it would
 * look on raw Ethernet: Ethernet + 802.1Q tag (PCP from the Homa level) + IPv4 (protocol 146, valid checksum,
 * addresses from the {@link HostAddress}es) + the Homa bytes. Works around any driver, the in-memory fabric
 * included, so a simulated run can be read in Wireshark with {@code docs/wireshark/homa.lua}.
 * <ul>
 *     <li>Sent packets are recorded when {@link #send} queues them (the contents are stable from then on), with
 *     the send priority; a packet sent twice is recorded twice.</li>
 *     <li>Received packets are recorded in {@link #poll} before the sink sees them, with
 *     {@link Packet#priority()} as PCP, or untagged when the driver reports -1 (the priority is unknown).</li>
 *     <li>MACs come from the wrapped driver if it is a {@link MacResolver}, else from the one given, by default
 *     {@link MacResolver#SYNTHETIC} ({@code 02:00:} + IPv4).</li>
 *     <li>Timestamps are {@code epochBaseNs + clock.nanoTime()}, so virtual time gives a deterministic capture.</li>
 * </ul>
 * Allocation-free per packet: the headers are synthesized into one preallocated buffer and the pcap writer copies
 * them and the Homa bytes into its staging buffer. Closing the driver closes the wrapped driver and the writer.
 */
public final class CapturingDriver extends ForwardingNicDriver
{
    private final PcapWriter writer;
    private final NanoClock clock;
    private final long epochBaseNs;
    private final MacResolver macResolver;
    private final HomaFrameWriter frameWriter = new HomaFrameWriter();
    private final UnsafeBuffer headers = new UnsafeBuffer(BufferUtil.allocateDirectAligned(64, 64));
    private final PacketSink recordingSink = this::onReceived;
    private PacketSink sink;
    private int ipIdentification;

    /**
     * Capture with the wrapped driver's MACs if it resolves them, synthetic ones otherwise.
     *
     * @param delegate    the driver that moves the packets.
     * @param writer      where frames are recorded; closed with this driver.
     * @param clock       time source for timestamps (the driver's, virtual in simulations).
     * @param epochBaseNs added to the clock to get nanoseconds since the Unix epoch.
     */
    public CapturingDriver(
        final NicDriver delegate, final PcapWriter writer, final NanoClock clock, final long epochBaseNs)
    {
        this(delegate, writer, clock, epochBaseNs,
            delegate instanceof MacResolver resolver ? resolver : MacResolver.SYNTHETIC);
    }

    /**
     * Capture with the hosts' MACs taken from the resolver given.
     *
     * @param delegate    the driver that moves the packets.
     * @param writer      where frames are recorded; closed with this driver.
     * @param clock       time source for timestamps.
     * @param epochBaseNs added to the clock to get nanoseconds since the Unix epoch.
     * @param macResolver MACs of the hosts.
     */
    public CapturingDriver(
        final NicDriver delegate,
        final PcapWriter writer,
        final NanoClock clock,
        final long epochBaseNs,
        final MacResolver macResolver)
    {
        super(delegate);
        this.writer = Objects.requireNonNull(writer, "writer");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.epochBaseNs = epochBaseNs;
        this.macResolver = Objects.requireNonNull(macResolver, "macResolver");
    }

    /**
     * An epoch base that makes capture timestamps wall-clock time for a clock such as {@code System::nanoTime}.
     * Reads the wall clock once; call at setup, never per packet.
     *
     * @param clock the clock the capture will use.
     * @return nanoseconds to add to {@code clock.nanoTime()} to get time since the Unix epoch.
     */
    public static long wallClockEpochBaseNs(final NanoClock clock)
    {
        return System.currentTimeMillis() * 1_000_000L - clock.nanoTime();
    }

    /**
     * {@return the pcap writer}
     */
    public PcapWriter writer()
    {
        return writer;
    }

    /**
     * {@inheritDoc}
     * <p>
     * True: the capture records every packet as IPv4 protocol 146, so the protocol fills the checksum it would carry.
     */
    @Override
    public boolean carriesIpProtocol146()
    {
        return true;
    }

    /**
     * {@inheritDoc}
     * <p>
     * The record always shows the completed checksum, as the wire would; the packet itself needs one from the
     * protocol only where the wrapped driver puts it on a wire as protocol 146 without completing it.
     */
    @Override
    public boolean completesChecksum()
    {
        final NicDriver delegate = delegate();
        return !delegate.carriesIpProtocol146() || delegate.completesChecksum();
    }

    /**
     * {@inheritDoc}
     * <p>
     * False: the capture records the packet's own bytes, so the protocol copies every byte into it.
     */
    @Override
    public boolean gathersPayload()
    {
        return false;
    }

    /**
     * Send through the wrapped driver and, if it queued the packet, record it.
     * <p>
     * {@inheritDoc}
     */
    @Override
    public boolean send(final Packet packet, final long destination, final int priority)
    {
        final boolean queued = delegate.send(packet, destination, priority);
        if (queued)
        {
            record(packet, delegate.localAddress(), destination, priority, ipIdentification++);
        }
        return queued;
    }

    /**
     * Poll the wrapped driver, recording each packet before the sink gets it.
     * <p>
     * {@inheritDoc}
     */
    @Override
    public int poll(final PacketSink sink, final int limit)
    {
        this.sink = sink;
        try
        {
            return delegate.poll(recordingSink, limit);
        }
        finally
        {
            this.sink = null;
        }
    }

    /**
     * Close the wrapped driver, then flush and close the capture.
     */
    @Override
    public void close()
    {
        try
        {
            delegate.close();
        }
        finally
        {
            writer.close();
        }
    }

    private void onReceived(final Packet packet)
    {
        // The sender's IP identification is not visible through the SPI; 0 marks a synthesized header.
        record(packet, packet.source(), delegate.localAddress(), packet.priority(), 0);
        sink.onPacket(packet);
    }

    private void record(
        final Packet packet, final long source, final long destination, final int priority, final int ipId)
    {
        final long dstMac = macResolver.macOf(destination);
        final long srcMac = macResolver.macOf(source);
        final int srcIp = HostAddress.ipv4Of(source);
        final int dstIp = HostAddress.ipv4Of(destination);
        final int length = packet.length();
        final int headerLength = priority >= 0 && priority <= PriorityMapping.MAX_LEVEL ?
            frameWriter.writeHeaders(headers, 0, dstMac, srcMac, srcIp, dstIp, length, priority, ipId) :
            frameWriter.writeUntaggedHeaders(headers, 0, dstMac, srcMac, srcIp, dstIp, length, -1, ipId);
        // The first Homa bytes go through the header scratch with the completed checksum where the protocol left it
        // to the driver: the packet's own field then holds nothing or only the seed its driver leaves for the NIC.
        final int head = Math.min(length, HomaChecksum.CHECKSUM_OFFSET + 2);
        packet.buffer().getBytes(0, headers, headerLength, head);
        if (HomaChecksum.CHECKSUM_OFFSET + 2 == head && completesChecksum())
        {
            headers.putShort(headerLength + HomaChecksum.CHECKSUM_OFFSET,
                (short)HomaChecksum.compute(packet.buffer(), 0, length, srcIp, dstIp), BIG_ENDIAN);
        }
        writer.writeFrame(epochBaseNs + clock.nanoTime(), headers, 0, headerLength + head, packet.buffer(), head,
            length - head);
    }
}
