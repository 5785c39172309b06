package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.homa.nic.frame.FrameLayout;
import dev.homa.nic.linux.LibC;
import org.agrona.concurrent.UnsafeBuffer;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * The memory-mapped receive ring of an {@code AF_PACKET} socket, walked without system calls. The kernel writes a
 * frame and flips its status word to {@code TP_STATUS_USER}; we read it in place and hand it back with a release
 * store of {@code TP_STATUS_KERNEL}. Ring headers are in host order (little-endian on the hosts we run on).
 * <pre>
 *  TPACKET_V2: | block 0: frame 0 | frame 1 | ... | block 1: ... |   one status word per frame
 *              frame = tpacket2_hdr (32) | sockaddr_ll | pad | Ethernet frame at tp_mac
 *  TPACKET_V3: | block 0: tpacket_block_desc | pkt | pkt | ... |      one status word per block
 *              pkt = tpacket3_hdr (48) | sockaddr_ll | pad | Ethernet frame at tp_mac, next at tp_next_offset
 * </pre>
 * Use: {@link #nextFrame()} gives the offset of the oldest unread frame (or -1), the accessors read its header,
 * {@link #consume()} returns it. A frame not consumed is offered again by the next {@link #nextFrame()}, which lets
 * the driver stop when its pool is empty without losing the frame. Single-threaded.
 */
final class ReceiveRing
{
    /** Frames the ring holds when the block count is left to the driver. */
    static final int DEFAULT_RING_FRAMES = 512;
    /** Frames the ring holds by default when each must take a 64 KiB segmentation-offload frame. */
    static final int DEFAULT_LARGE_RING_FRAMES = 256;
    // V2 frames up to this size are a power of two; larger ones are only aligned, as a power of two would double
    // a 64 KiB frame.
    private static final int POWER_OF_TWO_FRAME_LIMIT = 16 * 1024;
    private static final int TPACKET_ALIGNMENT = 16;

    private static final int TP_STATUS_KERNEL = 0;
    private static final int TP_STATUS_USER = 1;
    private static final int TP_STATUS_VLAN_VALID = 1 << 4;

    // struct tpacket_req3 (seven u32), struct tpacket_block_desc / tpacket_hdr_v1, struct tpacket3_hdr.
    private static final int TPACKET_REQ3_LENGTH = 28;
    private static final int BLOCK_STATUS_OFFSET = 8;
    private static final int BLOCK_NUM_PKTS_OFFSET = 12;
    private static final int BLOCK_FIRST_PKT_OFFSET = 16;
    private static final int TP3_NEXT_OFFSET = 0;
    private static final int TP3_SNAPLEN_OFFSET = 12;
    private static final int TP3_LEN_OFFSET = 16;
    private static final int TP3_STATUS_OFFSET = 20;
    private static final int TP3_MAC_OFFSET = 24;
    private static final int TP3_VLAN_TCI_OFFSET = 32;
    private static final int TP3_PKTTYPE_OFFSET = 48 + 10;
    private static final int TP3_FRAME_SIZE = 2048;

    // struct tpacket_req (four u32), struct tpacket2_hdr; sockaddr_ll follows at TPACKET_ALIGN(32).
    private static final int TPACKET_REQ_LENGTH = 16;
    private static final int TP2_STATUS_OFFSET = 0;
    private static final int TP2_LEN_OFFSET = 4;
    private static final int TP2_SNAPLEN_OFFSET = 8;
    private static final int TP2_MAC_OFFSET = 12;
    private static final int TP2_VLAN_TCI_OFFSET = 24;
    private static final int TP2_PKTTYPE_OFFSET = 32 + 10;
    // Room in a V2 frame for the kernel's header, sockaddr_ll and alignment in front of the Ethernet frame.
    private static final int TP2_FRAME_HEADROOM = 128;

    private final boolean blocks;
    private final MemorySegment mapping;
    private final UnsafeBuffer ring;
    private final RawEthernetCounters counters;
    private final int blockSize;
    private final int blockCount;
    private final int frameSize;
    private final int framesPerBlock;
    private final int frameCount;
    private final int statusOffset;
    private final int lenOffset;
    private final int snapLenOffset;
    private final int macOffset;
    private final int vlanTciOffset;
    private final int pktTypeOffset;

    private int currentFrame;
    private int currentBlock;
    private int packetsLeftInBlock;
    private int packetOffset;

    private ReceiveRing(
        final RawEthernetDriverContext.RxRing layout,
        final MemorySegment mapping,
        final RawEthernetCounters counters,
        final int blockSize,
        final int blockCount,
        final int frameSize)
    {
        this.blocks = RawEthernetDriverContext.RxRing.V3 == layout;
        this.mapping = mapping;
        this.ring = new UnsafeBuffer(mapping.address(), (int)mapping.byteSize());
        this.counters = counters;
        this.blockSize = blockSize;
        this.blockCount = blockCount;
        this.frameSize = frameSize;
        this.framesPerBlock = blockSize / frameSize;
        this.frameCount = framesPerBlock * blockCount;
        this.statusOffset = blocks ? TP3_STATUS_OFFSET : TP2_STATUS_OFFSET;
        this.lenOffset = blocks ? TP3_LEN_OFFSET : TP2_LEN_OFFSET;
        this.snapLenOffset = blocks ? TP3_SNAPLEN_OFFSET : TP2_SNAPLEN_OFFSET;
        this.macOffset = blocks ? TP3_MAC_OFFSET : TP2_MAC_OFFSET;
        this.vlanTciOffset = blocks ? TP3_VLAN_TCI_OFFSET : TP2_VLAN_TCI_OFFSET;
        this.pktTypeOffset = blocks ? TP3_PKTTYPE_OFFSET : TP2_PKTTYPE_OFFSET;
    }

    /**
     * Configure the socket's ring (before bind, so no frame arrives unmapped) and map it.
     *
     * @param arena           for the request structures.
     * @param errno           errno capture segment.
     * @param fd              the packet socket.
     * @param layout          V2 or V3.
     * @param blockSize       bytes per block, a power of two multiple of the page size.
     * @param requestedBlocks blocks, 0 for enough to hold {@link #DEFAULT_RING_FRAMES} frames.
     * @param blockTimeoutMs  V3 retire timer.
     * @param maxPacketLength largest Homa packet, sizes V2 frames.
     * @param counters        where consumed blocks are counted.
     * @return the mapped ring.
     */
    static ReceiveRing open(
        final Arena arena,
        final MemorySegment errno,
        final int fd,
        final RawEthernetDriverContext.RxRing layout,
        final int blockSize,
        final int requestedBlocks,
        final int blockTimeoutMs,
        final int maxPacketLength,
        final RawEthernetCounters counters)
    {
        final boolean v3 = RawEthernetDriverContext.RxRing.V3 == layout;
        final int frameSize = v3 ? TP3_FRAME_SIZE : v2FrameSize(maxPacketLength);
        if (frameSize > blockSize)
        {
            throw new RawEthernetException("receive-ring block of " + blockSize + " bytes cannot hold a frame of " +
                frameSize + " bytes; raise blockSize");
        }
        final int framesPerBlock = blockSize / frameSize;
        final int defaultFrames =
            frameSize > POWER_OF_TWO_FRAME_LIMIT ? DEFAULT_LARGE_RING_FRAMES : DEFAULT_RING_FRAMES;
        final int blockCount = 0 != requestedBlocks ? requestedBlocks :
            Math.max(2, (defaultFrames + framesPerBlock - 1) / framesPerBlock);
        final long ringBytes = (long)blockSize * blockCount;
        final MemorySegment version = arena.allocate(4, 4);
        version.set(JAVA_INT, 0, v3 ? LibC.TPACKET_V3 : LibC.TPACKET_V2);
        if (0 != LibC.setsockopt(errno, fd, LibC.SOL_PACKET, LibC.PACKET_VERSION, version, 4))
        {
            throw new RawEthernetException("setsockopt(PACKET_VERSION, " + layout + ") failed: " +
                LibC.describe(LibC.errno(errno)));
        }
        final MemorySegment request = arena.allocate(TPACKET_REQ3_LENGTH, 8);
        request.set(JAVA_INT, 0, blockSize);
        request.set(JAVA_INT, 4, blockCount);
        request.set(JAVA_INT, 8, frameSize);
        request.set(JAVA_INT, 12, framesPerBlock * blockCount);
        if (v3)
        {
            request.set(JAVA_INT, 16, blockTimeoutMs);
        }
        final int requestLength = v3 ? TPACKET_REQ3_LENGTH : TPACKET_REQ_LENGTH;
        if (0 != LibC.setsockopt(errno, fd, LibC.SOL_PACKET, LibC.PACKET_RX_RING, request, requestLength))
        {
            throw new RawEthernetException("setsockopt(PACKET_RX_RING, " + layout + ", " + blockCount +
                " blocks of " + blockSize + " bytes) failed: " + LibC.describe(LibC.errno(errno)));
        }
        final MemorySegment mapped = LibC.mmap(errno, ringBytes, LibC.PROT_READ | LibC.PROT_WRITE,
            LibC.MAP_SHARED | LibC.MAP_POPULATE, fd);
        if (-1L == mapped.address())
        {
            throw new RawEthernetException("mmap of the " + ringBytes + "-byte receive ring failed: " +
                LibC.describe(LibC.errno(errno)));
        }
        return new ReceiveRing(layout, mapped.reinterpret(ringBytes), counters, blockSize, blockCount, frameSize);
    }

    /**
     * @return offset in {@link #buffer()} of the oldest frame the kernel has handed over, or -1 if none.
     */
    int nextFrame()
    {
        if (!blocks)
        {
            final int frame = (currentFrame / framesPerBlock) * blockSize + (currentFrame % framesPerBlock) * frameSize;
            return 0 != (ring.getIntVolatile(frame + TP2_STATUS_OFFSET) & TP_STATUS_USER) ? frame : -1;
        }
        while (0 == packetsLeftInBlock)
        {
            final int block = currentBlock * blockSize;
            if (0 == (ring.getIntVolatile(block + BLOCK_STATUS_OFFSET) & TP_STATUS_USER))
            {
                return -1;
            }
            packetsLeftInBlock = ring.getInt(block + BLOCK_NUM_PKTS_OFFSET, LITTLE_ENDIAN);
            packetOffset = block + ring.getInt(block + BLOCK_FIRST_PKT_OFFSET, LITTLE_ENDIAN);
            if (0 == packetsLeftInBlock)
            {
                releaseBlock();
            }
        }
        return packetOffset;
    }

    /**
     * Hand the frame last returned by {@link #nextFrame()} back to the kernel (V2) or move past it, returning its
     * block when it was the block's last (V3).
     */
    void consume()
    {
        if (!blocks)
        {
            final int frame = (currentFrame / framesPerBlock) * blockSize + (currentFrame % framesPerBlock) * frameSize;
            ring.putIntRelease(frame + TP2_STATUS_OFFSET, TP_STATUS_KERNEL);
            currentFrame = currentFrame + 1 == frameCount ? 0 : currentFrame + 1;
            return;
        }
        packetOffset += ring.getInt(packetOffset + TP3_NEXT_OFFSET, LITTLE_ENDIAN);
        if (0 == --packetsLeftInBlock)
        {
            releaseBlock();
        }
    }

    UnsafeBuffer buffer()
    {
        return ring;
    }

    /**
     * @param frame from {@link #nextFrame()}.
     * @return bytes of the frame in the ring.
     */
    int snapLength(final int frame)
    {
        return ring.getInt(frame + snapLenOffset, LITTLE_ENDIAN);
    }

    /**
     * @param frame from {@link #nextFrame()}.
     * @return bytes of the frame on the wire (larger than {@link #snapLength} if truncated).
     */
    int wireLength(final int frame)
    {
        return ring.getInt(frame + lenOffset, LITTLE_ENDIAN);
    }

    /**
     * @param frame from {@link #nextFrame()}.
     * @return offset in {@link #buffer()} of the frame's destination MAC.
     */
    int macOffset(final int frame)
    {
        return frame + (ring.getShort(frame + macOffset, LITTLE_ENDIAN) & 0xFFFF);
    }

    /**
     * @param frame from {@link #nextFrame()}.
     * @return sockaddr_ll packet type (PACKET_HOST, PACKET_OUTGOING, ...).
     */
    int packetType(final int frame)
    {
        return ring.getByte(frame + pktTypeOffset) & 0xFF;
    }

    /**
     * @param frame from {@link #nextFrame()}.
     * @return the 802.1Q TCI the kernel stripped into the header, or -1 if there was none.
     */
    int strippedTci(final int frame)
    {
        if (0 == (ring.getInt(frame + statusOffset, LITTLE_ENDIAN) & TP_STATUS_VLAN_VALID))
        {
            return -1;
        }
        return ring.getShort(frame + vlanTciOffset, LITTLE_ENDIAN) & 0xFFFF;
    }

    void close(final MemorySegment errno)
    {
        LibC.munmap(errno, mapping, mapping.byteSize());
    }

    private void releaseBlock()
    {
        ring.putIntRelease(currentBlock * blockSize + BLOCK_STATUS_OFFSET, TP_STATUS_KERNEL);
        counters.rxBlocks++;
        packetsLeftInBlock = 0;
        currentBlock = currentBlock + 1 == blockCount ? 0 : currentBlock + 1;
    }

    private static int v2FrameSize(final int maxPacketLength)
    {
        final int needed = TP2_FRAME_HEADROOM + FrameLayout.TAGGED_HEADER_LENGTH + maxPacketLength;
        if (needed <= POWER_OF_TWO_FRAME_LIMIT)
        {
            // A power of two so that frames tile the (power-of-two) blocks exactly.
            return Integer.highestOneBit(needed - 1) << 1;
        }
        return (needed + TPACKET_ALIGNMENT - 1) & -TPACKET_ALIGNMENT;
    }

    /**
     * @return blocks in the ring.
     */
    int blockCount()
    {
        return blockCount;
    }
}
