package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.homa.nic.Packet;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.frame.HomaFrameWriter;
import dev.homa.nic.frame.Ipv4Flyweight;
import dev.homa.nic.frame.TcpHijack;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.MessageVector;
import dev.homa.nic.linux.PacketPool;
import org.agrona.concurrent.UnsafeBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The send batch of a raw Ethernet driver: frames queued between flushes and handed to the kernel with one system
 * call.
 * <p>
 * {@link #queue} writes the frame's prefix (the {@code virtio_net_hdr} where the checksum is offloaded, then
 * Ethernet, 802.1Q and IPv4) into the headroom in front of the packet's pool slot and fills one {@code mmsghdr} of a
 * {@link MessageVector}
 * whose first iovec covers prefix and the packet's own bytes, followed by one iovec per piece of gathered payload.
 * {@link #flush()} hands the batch over with one non-blocking {@code sendmmsg}, or with a plain {@code send} when the
 * batch is a single contiguous frame (no message vector for the kernel to copy in). Why not a {@code TPACKET_V2} TX
 * ring: with a ring every packet is copied once more in user space, frames need a status hand-shake before reuse, and
 * an error in one frame stalls the ring; {@code sendmmsg} is one system call per batch like the ring's doorbell,
 * reports errors per message, and points the kernel at the pool and the message's bytes directly. If the same packet
 * is queued twice in one batch (to two hosts) the second prefix goes to a staging buffer, so neither overwrites the
 * other.
 * <p>
 * <b>Checksum offload</b> ({@code PACKET_VNET_HDR}): the virtio header asks for a partial checksum from the Homa
 * header to the end of the frame, stored in the common header's checksum field, which is seeded here with the
 * pseudo-header sum: the kernel's Homa hands its packets down the same way ({@code CHECKSUM_PARTIAL}), and the NIC,
 * or {@code skb_checksum_help} where the device cannot, completes it.
 * <p>
 * <b>Segmentation offload</b> ({@code tso}, with the checksum offloaded): consecutive DATA packets of one message to
 * one peer, queued back to back, leave as one frame of up to 64 KiB, the first packet's header followed by all their
 * payloads, which the device's TCP segmentation offload (or the kernel's software fallback) cuts into wire packets;
 * such a frame travels as TCP hijacked by Homa ({@link TcpHijack}), so each wire packet gets a copy of the DATA header
 * with {@code sequence} advanced to its own offset. Every other frame stays protocol 146, and runs go only to hosts
 * Homa has been received from ({@link KnownPeers}), so that a host without Homa still answers ICMP. Which packets
 * make a run is {@link OffloadRun}'s rule. A veth device passes the frame to its peer whole, one {@code skb} where
 * there would be one per packet.
 */
final class FrameTransmitter
{
    // struct virtio_net_hdr in front of every frame once PACKET_VNET_HDR is on: flags, gso_type, hdr_len, gso_size,
    // csum_start, csum_offset (little-endian on the hosts this runs on).
    static final int VNET_HDR_LENGTH = 10;
    private static final int VNET_FLAG_NEEDS_CSUM = 1;
    private static final int VNET_GSO_TYPE_OFFSET = 1;
    private static final int VNET_HDR_LEN_OFFSET = 2;
    private static final int VNET_GSO_SIZE_OFFSET = 4;
    private static final int VNET_GSO_TCPV4 = 1;
    private static final int VNET_CSUM_START_OFFSET = 6;
    private static final int VNET_CSUM_OFFSET_OFFSET = 8;

    // Per packet at most: the frame's own bytes (or staged headers and the rest of them) and the gathered payload.
    // A run's message takes its packets' iovecs one after another, so the batch never needs more than this each.
    private static final int PACKET_IOVECS = 2 + Packet.MAX_PAYLOAD_SEGMENTS;
    // Homa bytes a staged header carries along: up to and including the checksum, whose seed names the destination.
    private static final int STAGED_HOMA_BYTES = HomaChecksum.CHECKSUM_OFFSET + 2;
    private static final int STAGING_LENGTH = 128;
    private static final int TX_RETRIES = 64;

    // Offload frames refused in a row, none taken between, after which runs go as single frames: the device has
    // stopped segmenting (offload switched off while the driver runs) and the bypassed qdisc cannot fall back.
    private static final int MAX_OFFLOAD_REFUSALS = 8;
    // A whole offload frame stays below the device's 64 KiB gso_max_size, beyond which the kernel would segment in
    // software.
    private static final int MAX_GSO_FRAME_LENGTH = 0xFFFF;

    private final MemorySegment errno;
    private final int fd;
    private final PacketPool pool;
    private final KnownPeers knownPeers;
    private final RawEthernetCounters counters;
    private final HomaFrameWriter frameWriter;
    private final boolean tagged;
    private final boolean checksumOffload;
    private final int headerLength;
    private final int prefixLength;
    private final OffloadRun run;
    private final long localMac;
    private final int localIp;
    private final int capacity;
    private final MessageVector messages;
    private final UnsafeBuffer staging;
    private final long stagingAddress;
    private final int[] frameLength;
    private final int[] entryPackets;
    private final int[] slotBatch;
    private final Packet[] ownedInBatch;
    private int ownedInBatchCount;
    private boolean offload;
    private int offloadRefusals;
    private int count;
    private int queuedPackets;
    private int nextIovec;
    private int entryFirstIovec;
    private int batch = 1;
    private int ipId;
    private long flushedWireBytes;

    FrameTransmitter(
        final Arena arena,
        final MemorySegment errno,
        final PacketSocket socket,
        final PacketPool pool,
        final KnownPeers knownPeers,
        final RawEthernetDriverContext context,
        final RawEthernetCounters counters)
    {
        this.errno = errno;
        this.fd = socket.fd();
        this.pool = pool;
        this.knownPeers = knownPeers;
        this.counters = counters;
        this.frameWriter = new HomaFrameWriter(context.vlanId, Ipv4Flyweight.DEFAULT_TTL, true);
        this.tagged = context.tagged;
        this.checksumOffload = socket.checksumOffload();
        this.offload = checksumOffload && context.tso && (socket.deviceSegments() || !context.qdiscBypass);
        this.headerLength = context.tagged ? FrameLayout.TAGGED_HEADER_LENGTH : FrameLayout.UNTAGGED_HEADER_LENGTH;
        this.prefixLength = (checksumOffload ? VNET_HDR_LENGTH : 0) + headerLength;
        this.run = new OffloadRun(Math.min(HomaFrameWriter.MAX_HOMA_LENGTH, MAX_GSO_FRAME_LENGTH - headerLength));
        this.localMac = socket.localMac();
        this.localIp = socket.localIp();
        this.capacity = context.txBatch;
        this.messages = new MessageVector(arena, capacity, capacity * PACKET_IOVECS, 0);
        final MemorySegment stagingSegment = arena.allocate((long)STAGING_LENGTH * capacity, 64);
        this.staging = new UnsafeBuffer(stagingSegment.address(), (int)stagingSegment.byteSize());
        this.stagingAddress = stagingSegment.address();
        this.frameLength = new int[capacity];
        this.entryPackets = new int[capacity];
        this.slotBatch = new int[context.poolPackets];
        this.ownedInBatch = new Packet[capacity];
    }

    /**
     * @return frames queued for the next flush.
     */
    int count()
    {
        return count;
    }

    /**
     * @return true if runs of DATA packets leave as segmentation-offload frames.
     */
    boolean offloads()
    {
        return offload;
    }

    /**
     * @return packets that can still be queued before the next flush.
     */
    int room()
    {
        return capacity - queuedPackets;
    }

    /**
     * @return wire bytes (with framing overhead, without the 802.1Q and IPv4 headers the protocol does not count)
     *         the kernel took in the last {@link #flush()}.
     */
    long flushedWireBytes()
    {
        return flushedWireBytes;
    }

    /**
     * Queue one frame of a pool packet for the next flush: the prefix in the slot's headroom, or in a staging buffer
     * if the packet is already in this batch, and one iovec per contiguous piece after it. The caller checked
     * {@link #room()}.
     */
    void queue(
        final Packet packet, final int slot, final int destinationIp, final long destinationMac, final int priority)
    {
        queuedPackets++;
        final int homaOffset = pool.packetOffset(slot);
        if (run.extendable() &&
            run.continuedBy(pool.regionBuffer(), packet, homaOffset, destinationIp, destinationMac, priority))
        {
            appendToRun(packet, homaOffset);
            return;
        }
        closeRun();
        final int entry = count++;
        final int ownLength = packet.length();
        final int homaLength = packet.wireLength();
        final long homaAddress = pool.regionAddress() + homaOffset;
        entryFirstIovec = nextIovec;
        int iov = nextIovec;
        if (batch != slotBatch[slot])
        {
            // Usual case: prefix in the slot's headroom, contiguous with the packet's own bytes.
            slotBatch[slot] = batch;
            final int prefixOffset = homaOffset - prefixLength;
            if (offload && knownPeers.contains(destinationIp) &&
                OffloadRun.canStart(pool.regionBuffer(), packet, homaOffset))
            {
                run.open(pool.regionBuffer(), entry, prefixOffset, homaOffset, homaLength, destinationIp,
                    destinationMac, priority);
            }
            else
            {
                writePrefix(pool.regionBuffer(), prefixOffset, destinationMac, destinationIp, homaLength, priority,
                    Ipv4Flyweight.PROTOCOL_HOMA);
                if (checksumOffload)
                {
                    writeSeed(pool.regionBuffer(), homaOffset, homaLength, destinationIp);
                }
            }
            iov = putIovec(iov, pool.regionAddress() + prefixOffset, prefixLength + ownLength);
        }
        else
        {
            // Same packet already queued in this batch (to another host): its headroom is taken, and the checksum
            // seed names the other destination, so the first Homa bytes travel with the staged prefix.
            counters.txStagedHeaders++;
            final int stagingOffset = entry * STAGING_LENGTH;
            writePrefix(staging, stagingOffset, destinationMac, destinationIp, homaLength, priority,
                Ipv4Flyweight.PROTOCOL_HOMA);
            final int staged = checksumOffload ? Math.min(ownLength, STAGED_HOMA_BYTES) : 0;
            if (0 != staged)
            {
                pool.regionBuffer().getBytes(homaOffset, staging, stagingOffset + prefixLength, staged);
                writeSeed(staging, stagingOffset + prefixLength, homaLength, destinationIp);
            }
            iov = putIovec(iov, stagingAddress + stagingOffset, prefixLength + staged);
            if (ownLength > staged)
            {
                iov = putIovec(iov, homaAddress + staged, ownLength - staged);
            }
        }
        iov = putPayload(packet, iov);
        nextIovec = iov;
        messages.iovecs(entry, entryFirstIovec, iov - entryFirstIovec);
        frameLength[entry] = headerLength + homaLength;
        entryPackets[entry] = 1;
    }

    /**
     * Queue a packet the transmitter owns, returned to the pool once the batch has left.
     */
    void queueOwned(final Packet packet, final int destinationIp, final long destinationMac, final int priority)
    {
        queue(packet, pool.slotOf(packet), destinationIp, destinationMac, priority);
        ownedInBatch[ownedInBatchCount++] = packet;
    }

    /**
     * Hand the batch to the kernel. A full send buffer is retried a bounded number of times; a frame the device
     * drops or the kernel refuses is counted and the rest still go.
     *
     * @return frames the kernel took; their wire bytes in {@link #flushedWireBytes()}.
     */
    int flush()
    {
        closeRun();
        final int count = this.count;
        int index = 0;
        int sent = 0;
        int retries = 0;
        long wireBytes = 0;
        while (index < count)
        {
            final int result = transmit(index, count - index);
            if (result > 0)
            {
                for (int i = index, end = index + result; i < end; i++)
                {
                    final int packets = entryPackets[i];
                    if (packets > 1)
                    {
                        offloadRefusals = 0;
                    }
                    counters.txBytes += frameLength[i];
                    counters.txPackets += packets;
                    // On the wire every packet of an offload frame carries the header and the framing again.
                    wireBytes += frameLength[i] - headerLength +
                        (long)(packets - 1) * OffloadRun.DATA_HEADER_LENGTH +
                        (long)packets * FrameLayout.WIRE_OVERHEAD_BYTES;
                }
                sent += result;
                index += result;
                continue;
            }
            final int error = LibC.errno(errno);
            if (LibC.EAGAIN == error || LibC.EINTR == error)
            {
                // Send buffer full (non-blocking socket): nothing was taken, the device drains it shortly.
                if (++retries > TX_RETRIES)
                {
                    for (int i = index; i < count; i++)
                    {
                        counters.txDropped += entryPackets[i];
                    }
                    break;
                }
                Thread.onSpinWait();
            }
            else if (LibC.ENOBUFS == error)
            {
                // The device (or the peer's backlog, for veth) dropped this frame: like loss on the wire.
                counters.txDropped += entryPackets[index];
                noteRefused(index);
                index++;
            }
            else
            {
                // This message is refused for good (e.g. EMSGSIZE, ENETDOWN): drop it, send the rest.
                counters.txErrors++;
                counters.lastTxErrno = error;
                noteRefused(index);
                index++;
            }
        }
        this.count = 0;
        queuedPackets = 0;
        nextIovec = 0;
        batch++;
        for (int i = 0; i < ownedInBatchCount; i++)
        {
            pool.release(ownedInBatch[i]);
            ownedInBatch[i] = null;
        }
        ownedInBatchCount = 0;
        flushedWireBytes = wireBytes;
        return sent;
    }

    /**
     * One system call for the queued messages from {@code index}: send(2) when a single contiguous frame is left
     * (the latency-bound case: no message vector to copy in), sendmmsg otherwise. Both first go through a downcall
     * with primitive arguments only; a failure, which means nothing was taken, is repeated through the errno
     * capturing variant to learn why (and may simply succeed then).
     *
     * @return messages taken, or -1 with the reason in {@link #errno}.
     */
    private int transmit(final int index, final int remaining)
    {
        counters.txSyscalls++;
        if (1 == remaining && 1 == messages.iovecCount(index))
        {
            final int iov = messages.firstIovec(index);
            final long address = messages.iovecBase(iov);
            final long length = messages.iovecLength(iov);
            if (LibC.sendFrameNoErrno(fd, address, length, LibC.MSG_DONTWAIT) >= 0)
            {
                return 1;
            }
            counters.txSyscalls++;
            return LibC.sendFrame(errno, fd, address, length, LibC.MSG_DONTWAIT) >= 0 ? 1 : -1;
        }
        final long address = messages.address(index);
        final int result = LibC.sendmmsgNoErrno(fd, address, remaining, LibC.MSG_DONTWAIT);
        if (result >= 0)
        {
            return result;
        }
        counters.txSyscalls++;
        return LibC.sendmmsg(errno, fd, address, remaining, LibC.MSG_DONTWAIT);
    }

    private void noteRefused(final int entry)
    {
        if (entryPackets[entry] > 1 && ++offloadRefusals >= MAX_OFFLOAD_REFUSALS && offload)
        {
            offload = false;
            counters.txOffloadStopped++;
        }
    }

    private int putPayload(final Packet packet, final int firstIovec)
    {
        int iov = firstIovec;
        for (int i = 0, segments = packet.payloadSegments(); i < segments; i++)
        {
            iov = putIovec(iov, packet.payloadAddress(i), packet.payloadLength(i));
        }
        return iov;
    }

    /**
     * Add a packet's payload to the open run: its header stays behind, as segmentation writes the first one's
     * in front of each segment.
     */
    private void appendToRun(final Packet packet, final int homaOffset)
    {
        final int header = OffloadRun.DATA_HEADER_LENGTH;
        final int ownLength = packet.length();
        int iov = nextIovec;
        if (ownLength > header)
        {
            iov = putIovec(iov, pool.regionAddress() + homaOffset + header, ownLength - header);
        }
        iov = putPayload(packet, iov);
        nextIovec = iov;
        messages.iovecs(run.entry(), entryFirstIovec, iov - entryFirstIovec);
        run.append(packet.wireLength() - header);
    }

    /**
     * Write the open run's prefix now that its length is known: the headers for the whole frame, and with more than
     * one packet the virtio header's request for TCP segmentation at the first packet's payload length.
     */
    private void closeRun()
    {
        final int entry = run.entry();
        if (entry < 0)
        {
            return;
        }
        run.close();
        final UnsafeBuffer buffer = pool.regionBuffer();
        final int prefixOffset = run.prefixOffset();
        final int homaLength = run.homaLength();
        final int packets = run.packets();
        final boolean segmented = packets > 1;
        writePrefix(buffer, prefixOffset, run.destinationMac(), run.destinationIp(), homaLength, run.priority(),
            segmented ? TcpHijack.IPPROTO_TCP : Ipv4Flyweight.PROTOCOL_HOMA);
        if (segmented)
        {
            buffer.putByte(prefixOffset + VNET_GSO_TYPE_OFFSET, (byte)VNET_GSO_TCPV4);
            buffer.putShort(prefixOffset + VNET_HDR_LEN_OFFSET, (short)(headerLength + OffloadRun.DATA_HEADER_LENGTH),
                LITTLE_ENDIAN);
            buffer.putShort(prefixOffset + VNET_GSO_SIZE_OFFSET, (short)run.segment(), LITTLE_ENDIAN);
            counters.txOffloadFrames++;
        }
        writeSeed(buffer, run.homaOffset(), homaLength, run.destinationIp());
        frameLength[entry] = headerLength + homaLength;
        entryPackets[entry] = packets;
    }

    private int putIovec(final int iov, final long address, final int length)
    {
        messages.iovec(iov, address, length);
        return iov + 1;
    }

    /**
     * The virtio header (where the checksum is offloaded) and the frame's Ethernet and IPv4 headers.
     */
    private void writePrefix(
        final UnsafeBuffer frame, final int offset, final long destinationMac, final int destinationIp,
        final int homaLength, final int priority, final int protocol)
    {
        int headerOffset = offset;
        if (checksumOffload)
        {
            // Checksum from the Homa header to the end of the frame, stored at the common header's checksum field.
            frame.setMemory(offset, VNET_HDR_LENGTH, (byte)0);
            frame.putByte(offset, (byte)VNET_FLAG_NEEDS_CSUM);
            frame.putShort(offset + VNET_CSUM_START_OFFSET, (short)headerLength, LITTLE_ENDIAN);
            frame.putShort(offset + VNET_CSUM_OFFSET_OFFSET, (short)HomaChecksum.CHECKSUM_OFFSET, LITTLE_ENDIAN);
            headerOffset += VNET_HDR_LENGTH;
        }
        if (tagged)
        {
            frameWriter.writeHeaders(frame, headerOffset, destinationMac, localMac, localIp, destinationIp, homaLength,
                priority, ipId++, protocol);
        }
        else
        {
            frameWriter.writeUntaggedHeaders(frame, headerOffset, destinationMac, localMac, localIp, destinationIp,
                homaLength, priority, ipId++, protocol);
        }
    }

    private void writeSeed(final UnsafeBuffer buffer, final int homaOffset, final int homaLength, final int dstIp)
    {
        buffer.putShort(homaOffset + HomaChecksum.CHECKSUM_OFFSET,
            (short)HomaChecksum.seed(homaLength, localIp, dstIp), BIG_ENDIAN);
    }
}
