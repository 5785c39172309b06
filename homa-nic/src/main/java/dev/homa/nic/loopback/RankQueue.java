package dev.homa.nic.loopback;

import java.util.Arrays;

/**
 * The queue of a pFabric port ({@link Topology.QueueDiscipline#RANK}): frames in arrival order, served lowest rank
 * first but, within that frame's flow, earliest arrival first, so a flow's packets leave in order while the flow as
 * a whole goes by its best rank; the highest rank is the one to drop. pFabric buffers hold a few dozen frames, so
 * linear scans beat any index. The array grows (and is kept) only when more frames wait than ever before.
 */
final class RankQueue
{
    private Frame[] frames = new Frame[64];
    private int count;

    int count()
    {
        return count;
    }

    void add(final Frame frame)
    {
        if (count == frames.length)
        {
            frames = Arrays.copyOf(frames, count << 1);
        }
        frames[count++] = frame;
    }

    /**
     * @return the frame to send next, removed; null if empty.
     */
    Frame poll()
    {
        if (0 == count)
        {
            return null;
        }
        int best = 0;
        for (int i = 1; i < count; i++)
        {
            if (frames[i].rank < frames[best].rank)
            {
                best = i;
            }
        }
        final long flow = frames[best].flowKey;
        for (int i = 0; i < best; i++)
        {
            if (frames[i].flowKey == flow)
            {
                best = i;
                break;
            }
        }
        return removeAt(best);
    }

    /**
     * @return the frame of highest rank (the latest among equals), not removed; null if empty.
     */
    Frame worst()
    {
        if (0 == count)
        {
            return null;
        }
        int worst = 0;
        for (int i = 1; i < count; i++)
        {
            if (frames[i].rank >= frames[worst].rank)
            {
                worst = i;
            }
        }
        return frames[worst];
    }

    void remove(final Frame frame)
    {
        for (int i = count - 1; i >= 0; i--)
        {
            if (frames[i] == frame)
            {
                removeAt(i);
                return;
            }
        }
        throw new IllegalStateException("frame not queued");
    }

    private Frame removeAt(final int index)
    {
        final Frame frame = frames[index];
        System.arraycopy(frames, index + 1, frames, index, count - index - 1);
        frames[--count] = null;
        return frame;
    }
}
