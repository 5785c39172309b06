package dev.homa.nic.linux;

import dev.homa.nic.Packet;

/**
 * The packets a driver's {@code send} has queued for its next {@code flush}: each with its destination and
 * priority level, in the order they were queued, bounded by a capacity fixed when the driver opens.
 */
public final class TransmitQueue
{
    private final Packet[] packets;
    private final long[] destinations;
    private final int[] priorities;
    private int count;

    /**
     * @param capacity most packets queued between two flushes.
     */
    public TransmitQueue(final int capacity)
    {
        packets = new Packet[capacity];
        destinations = new long[capacity];
        priorities = new int[capacity];
    }

    /**
     * @param packet      the packet.
     * @param destination where it goes.
     * @param priority    its level.
     * @return false if the queue is full.
     */
    public boolean add(final Packet packet, final long destination, final int priority)
    {
        if (count == packets.length)
        {
            return false;
        }
        packets[count] = packet;
        destinations[count] = destination;
        priorities[count] = priority;
        count++;
        return true;
    }

    /**
     * Empty the queue, dropping its references to the packets.
     */
    public void clear()
    {
        for (int i = 0; i < count; i++)
        {
            packets[i] = null;
        }
        count = 0;
    }

    /**
     * A segmentation run: consecutive packets to one destination at one level, all as long as the first except the
     * last, which may be shorter, within a segment count and a byte limit.
     *
     * @param start       first packet of the run.
     * @param maxSegments most packets in a run.
     * @param maxBytes    most wire bytes in a run.
     * @return index after the run's last packet; {@code start + 1} for a run of one.
     */
    public int runEnd(final int start, final int maxSegments, final int maxBytes)
    {
        final long destination = destinations[start];
        final int level = priorities[start];
        final int segmentLength = packets[start].wireLength();
        if (0 == segmentLength)
        {
            return start + 1;
        }
        int total = segmentLength;
        int end = start + 1;
        while (end < count && end - start < maxSegments &&
            destination == destinations[end] && level == priorities[end])
        {
            final int length = packets[end].wireLength();
            if (0 == length || length > segmentLength || total + length > maxBytes)
            {
                break;
            }
            total += length;
            end++;
            if (length < segmentLength)
            {
                break;
            }
        }
        return end;
    }

    /**
     * @return packets queued.
     */
    public int count()
    {
        return count;
    }

    /**
     * @return the queue's capacity.
     */
    public int capacity()
    {
        return packets.length;
    }

    /**
     * @param i index below {@link #count()}.
     * @return the i-th packet.
     */
    public Packet packet(final int i)
    {
        return packets[i];
    }

    /**
     * @param i index below {@link #count()}.
     * @return the i-th packet's destination.
     */
    public long destination(final int i)
    {
        return destinations[i];
    }

    /**
     * @param i index below {@link #count()}.
     * @return the i-th packet's level.
     */
    public int priority(final int i)
    {
        return priorities[i];
    }
}
