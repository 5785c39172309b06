package dev.homa.nic.loopback;

/**
 * Intrusive FIFO of frames through {@link Frame#next}: no node objects, no array to grow.
 */
final class FrameQueue
{
    private Frame head;
    private Frame tail;
    private int count;
    private long wireBytes;

    void add(final Frame frame)
    {
        frame.next = null;
        if (null == tail)
        {
            head = frame;
        }
        else
        {
            tail.next = frame;
        }
        tail = frame;
        count++;
        wireBytes += frame.wireBytes;
    }

    Frame poll()
    {
        final Frame frame = head;
        if (null != frame)
        {
            head = frame.next;
            if (null == head)
            {
                tail = null;
            }
            frame.next = null;
            count--;
            wireBytes -= frame.wireBytes;
        }
        return frame;
    }

    boolean isEmpty()
    {
        return null == head;
    }

    int count()
    {
        return count;
    }

    long wireBytes()
    {
        return wireBytes;
    }
}
