package dev.homa.nic.udp;

import dev.homa.nic.linux.TransmitQueue;
import org.agrona.concurrent.UnsafeBuffer;

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

    private final UnsafeBuffer slots;
    private final int count;
    private int taken;

    /**
     * @param arena owns the slots' memory.
     * @param count how many runs one batch may stage.
     */
    RunStaging(final Arena arena, final int count)
    {
        this.count = count;
        slots = new UnsafeBuffer(arena.allocate((long)count * SLOT_BYTES, PAGE_BYTES).address(), count * SLOT_BYTES);
    }

    /**
     * @return a free slot's offset, or -1 when every slot is taken until {@link #freeAll()}.
     */
    int take()
    {
        return taken < count ? SLOT_BYTES * taken++ : -1;
    }

    void freeAll()
    {
        taken = 0;
    }

    /**
     * @param slot a slot's offset from {@link #take()}.
     * @return its address.
     */
    long address(final int slot)
    {
        return slots.addressOffset() + slot;
    }

    /**
     * Copies a run's packets back to back, as they go on the wire.
     *
     * @param queue the batch.
     * @param start the run's first packet.
     * @param end   one past its last.
     * @param slot  a slot's offset from {@link #take()}.
     * @return the run's length in bytes.
     */
    int copy(final TransmitQueue queue, final int start, final int end, final int slot)
    {
        int at = slot;
        for (int j = start; j < end; j++)
        {
            at += queue.packet(j).copyWireBytes(slots, at);
        }
        return at - slot;
    }
}
