package dev.homa.nic.udp;

import dev.homa.nic.Packet;
import dev.homa.nic.linux.PacketPool;
import dev.homa.nic.linux.TransmitQueue;
import org.agrona.UnsafeApi;

import java.lang.foreign.Arena;

/**
 * Contiguous copies of the GSO runs {@link NativeDatapath} sends. Gathered from its slots, a run is two iovecs a
 * segment (a packet's header, then its payload piece), and the kernel's copy out of so many short pieces costs more
 * per byte than a copy here into one page-aligned buffer and the kernel's copy out of that together (figures in
 * {@code docs/benchmarks.md}). A run of 1,472-byte packets is 44 segments, so this is what every bulk message over a
 * 1,500-byte MTU pays. A packet on its own (a 64 KiB datagram on loopback, a control packet) still leaves gathered:
 * it is one or two pieces, and copying it first costs more than the kernel's copy saves.
 * <p>
 * The runs of one batch take {@value #SLOT_BYTES}-byte slots in turn and free them all once the batch is sent (the
 * kernel has copied them by then); a run that finds every slot taken leaves gathered.
 */
final class RunStaging
{
    /** A slot holds the largest UDP datagram, so any run fits one. */
    static final int SLOT_BYTES = 65_536;
    private static final int PAGE_BYTES = 4096;

    private final long base;
    private final int slots;
    private int taken;

    /**
     * @param arena owns the slots' memory.
     * @param slots how many runs one batch may stage.
     */
    RunStaging(final Arena arena, final int slots)
    {
        this.slots = slots;
        base = arena.allocate((long)slots * SLOT_BYTES, PAGE_BYTES).address();
    }

    /**
     * @return a free slot's address, or 0 when every slot is taken until {@link #freeAll()}.
     */
    long take()
    {
        return taken < slots ? base + (long)SLOT_BYTES * taken++ : 0L;
    }

    void freeAll()
    {
        taken = 0;
    }

    /**
     * Copies the bytes of a run's packets back to back, each packet's header and then its payload pieces, as they go
     * on the wire.
     *
     * @param queue the batch.
     * @param pool  the packets' slots.
     * @param start the run's first packet.
     * @param end   one past its last.
     * @param to    a slot from {@link #take()}.
     * @return the run's length in bytes.
     */
    static int copy(final TransmitQueue queue, final PacketPool pool, final int start, final int end, final long to)
    {
        long at = to;
        for (int j = start; j < end; j++)
        {
            final Packet packet = queue.packet(j);
            at = append(pool.packetAddress((int)packet.handle()), packet.length(), at);
            for (int k = 0; k < packet.payloadSegments(); k++)
            {
                at = append(packet.payloadAddress(k), packet.payloadLength(k), at);
            }
        }
        return (int)(at - to);
    }

    private static long append(final long from, final int length, final long at)
    {
        UnsafeApi.copyMemory(null, from, null, at, length);
        return at + length;
    }
}
