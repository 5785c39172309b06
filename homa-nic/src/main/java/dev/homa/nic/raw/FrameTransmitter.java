package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.homa.nic.Packet;
import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.frame.HomaChecksum;
import dev.homa.nic.frame.HomaFrameWriter;
import dev.homa.nic.frame.Ipv4Flyweight;
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
 */
final class FrameTransmitter
{
    // struct virtio_net_hdr in front of every frame once PACKET_VNET_HDR is on: flags, gso_type, hdr_len, gso_size,
    // csum_start, csum_offset (little-endian on the hosts this runs on).
    static final int VNET_HDR_LENGTH = 10;
    private static final int VNET_FLAG_NEEDS_CSUM = 1;
    private static final int VNET_CSUM_START_OFFSET = 6;
    private static final int VNET_CSUM_OFFSET_OFFSET = 8;

    // Per message: the frame's own bytes (or staged headers and the rest of them) and the gathered payload.
    private static final int MESSAGE_IOVECS = 2 + Packet.MAX_PAYLOAD_SEGMENTS;
    // Homa bytes a staged header carries along: up to and including the checksum, whose seed names the destination.
    private static final int STAGED_HOMA_BYTES = HomaChecksum.CHECKSUM_OFFSET + 2;
    private static final int STAGING_LENGTH = 128;
    private static final int TX_RETRIES = 64;

    private final MemorySegment errno;
    private final int fd;
    private final PacketPool pool;
    private final RawEthernetCounters counters;
    private final HomaFrameWriter frameWriter;
    private final boolean tagged;
    private final boolean checksumOffload;
    private final int headerLength;
    private final int prefixLength;
    private final long localMac;
    private final int localIp;
    private final int capacity;
    private final MessageVector messages;
    private final UnsafeBuffer staging;
    private final long stagingAddress;
    private final int[] frameLength;
    private final int[] slotBatch;
    private final Packet[] ownedInBatch;
    private int ownedInBatchCount;
    private int count;
    private int batch = 1;
    private int ipId;
    private long flushedWireBytes;

    FrameTransmitter(
        final Arena arena,
        final MemorySegment errno,
        final PacketSocket socket,
        final PacketPool pool,
        final RawEthernetDriverContext context,
        final RawEthernetCounters counters)
    {
        this.errno = errno;
        this.fd = socket.fd();
        this.pool = pool;
        this.counters = counters;
        this.frameWriter = new HomaFrameWriter(context.vlanId, Ipv4Flyweight.DEFAULT_TTL, true);
        this.tagged = context.tagged;
        this.checksumOffload = socket.checksumOffload();
        this.headerLength = context.tagged ? FrameLayout.TAGGED_HEADER_LENGTH : FrameLayout.UNTAGGED_HEADER_LENGTH;
        this.prefixLength = (checksumOffload ? VNET_HDR_LENGTH : 0) + headerLength;
        this.localMac = socket.localMac();
        this.localIp = socket.localIp();
        this.capacity = context.txBatch;
        this.messages = new MessageVector(arena, capacity, capacity * MESSAGE_IOVECS, 0);
        final MemorySegment stagingSegment = arena.allocate((long)STAGING_LENGTH * capacity, 64);
        this.staging = new UnsafeBuffer(stagingSegment.address(), (int)stagingSegment.byteSize());
        this.stagingAddress = stagingSegment.address();
        this.frameLength = new int[capacity];
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
     * @return frames that can still be queued before the next flush.
     */
    int room()
    {
        return capacity - count;
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
        final int entry = count++;
        final int ownLength = packet.length();
        final int homaLength = packet.wireLength();
        final int homaOffset = pool.packetOffset(slot);
        final long homaAddress = pool.regionAddress() + homaOffset;
        final int firstIovec = entry * MESSAGE_IOVECS;
        int iov = firstIovec;
        if (batch != slotBatch[slot])
        {
            // Usual case: prefix in the slot's headroom, contiguous with the packet's own bytes.
            slotBatch[slot] = batch;
            final int prefixOffset = homaOffset - prefixLength;
            writePrefix(pool.regionBuffer(), prefixOffset, destinationMac, destinationIp, homaLength, priority);
            if (checksumOffload)
            {
                writeSeed(pool.regionBuffer(), homaOffset, homaLength, destinationIp);
            }
            iov = putIovec(iov, pool.regionAddress() + prefixOffset, prefixLength + ownLength);
        }
        else
        {
            // Same packet already queued in this batch (to another host): its headroom is taken, and the checksum
            // seed names the other destination, so the first Homa bytes travel with the staged prefix.
            counters.txStagedHeaders++;
            final int stagingOffset = entry * STAGING_LENGTH;
            writePrefix(staging, stagingOffset, destinationMac, destinationIp, homaLength, priority);
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
        for (int i = 0, segments = packet.payloadSegments(); i < segments; i++)
        {
            iov = putIovec(iov, packet.payloadAddress(i), packet.payloadLength(i));
        }
        messages.iovecs(entry, firstIovec, iov - firstIovec);
        frameLength[entry] = headerLength + homaLength;
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
                    final int length = frameLength[i];
                    counters.txBytes += length;
                    wireBytes += length - headerLength + FrameLayout.WIRE_OVERHEAD_BYTES;
                }
                counters.txPackets += result;
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
                    counters.txDropped += count - index;
                    break;
                }
                Thread.onSpinWait();
            }
            else if (LibC.ENOBUFS == error)
            {
                // The device (or the peer's backlog, for veth) dropped this frame: like loss on the wire.
                counters.txDropped++;
                index++;
            }
            else
            {
                // This message is refused for good (e.g. EMSGSIZE, ENETDOWN): drop it, send the rest.
                counters.txErrors++;
                counters.lastTxErrno = error;
                index++;
            }
        }
        this.count = 0;
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
            final int iov = index * MESSAGE_IOVECS;
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
        final int homaLength, final int priority)
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
                priority, ipId++);
        }
        else
        {
            frameWriter.writeUntaggedHeaders(frame, headerOffset, destinationMac, localMac, localIp, destinationIp,
                homaLength, priority, ipId++);
        }
    }

    private void writeSeed(final UnsafeBuffer buffer, final int homaOffset, final int homaLength, final int dstIp)
    {
        buffer.putShort(homaOffset + HomaChecksum.CHECKSUM_OFFSET,
            (short)HomaChecksum.seed(homaLength, localIp, dstIp), BIG_ENDIAN);
    }
}
