package dev.homa.nic.loopback;

import dev.homa.nic.Packet;

/**
 * Bounded FIFO of packets; sized to the host's pool, so it can never overflow.
 */
final class PacketRing
{
    private final Packet[] packets;
    private int head;
    private int count;

    PacketRing(final int capacity)
    {
        packets = new Packet[capacity];
    }

    void add(final Packet packet)
    {
        if (count == packets.length)
        {
            throw new IllegalStateException("packet ring full: " + count);
        }
        int index = head + count;
        if (index >= packets.length)
        {
            index -= packets.length;
        }
        packets[index] = packet;
        count++;
    }

    Packet poll()
    {
        if (0 == count)
        {
            return null;
        }
        final Packet packet = packets[head];
        packets[head] = null;
        if (++head == packets.length)
        {
            head = 0;
        }
        count--;
        return packet;
    }

    int size()
    {
        return count;
    }

    boolean isEmpty()
    {
        return 0 == count;
    }
}
