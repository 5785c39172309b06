package dev.homa.core.engine;

/**
 * The last {@code capacity} acknowledged server RPCs, so that a late copy of a request whose RPC was acknowledged
 * and freed does not execute again (draft section 7.1). Keys are already well-mixed 64-bit hashes of (client host,
 * client port, id, server port), so they index an open-addressing table directly, with linear probing and
 * backward-shift deletion; a FIFO ring says which key leaves when a new one comes. Exact for the keys it holds:
 * a key is never reported after it left, and one that is held is always found. No allocation after construction.
 * <p>
 * This replaces a general hash set whose re-hashing and chain compaction were one of the larger shares of a small
 * RPC's engine time (each RPC adds one key and evicts another).
 */
final class AckedHistory
{
    private static final long EMPTY = 0;

    private final long[] table;
    private final long[] ring;
    private final int mask;
    private int next;

    /**
     * @param capacity keys remembered; the table has four slots per key (a quarter full at most).
     */
    AckedHistory(final int capacity)
    {
        if (capacity < 1 || Integer.bitCount(capacity) != 1)
        {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        this.ring = new long[capacity];
        this.table = new long[capacity * 4];
        this.mask = table.length - 1;
    }

    /**
     * @param key the RPC's key.
     * @return true if it is among the last {@code capacity} remembered.
     */
    boolean contains(final long key)
    {
        final long k = nonEmpty(key);
        final long[] table = this.table;
        for (int i = (int)k & mask; ; i = (i + 1) & mask)
        {
            final long slot = table[i];
            if (slot == k)
            {
                return true;
            }
            if (EMPTY == slot)
            {
                return false;
            }
        }
    }

    /**
     * Remember a key, forgetting the oldest one when full. A key already held keeps its place (it leaves
     * {@code capacity} additions after it first came).
     *
     * @param key the RPC's key.
     */
    void add(final long key)
    {
        final long k = nonEmpty(key);
        if (contains(k))
        {
            return;
        }
        final long old = ring[next];
        if (EMPTY != old)
        {
            remove(old);
        }
        ring[next] = k;
        next = (next + 1) & (ring.length - 1);
        insert(k);
    }

    private void insert(final long k)
    {
        final long[] table = this.table;
        int i = (int)k & mask;
        while (true)
        {
            final long slot = table[i];
            if (slot == k)
            {
                return;
            }
            if (EMPTY == slot)
            {
                table[i] = k;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    private void remove(final long k)
    {
        final long[] table = this.table;
        int i = (int)k & mask;
        while (true)
        {
            final long slot = table[i];
            if (EMPTY == slot)
            {
                return;
            }
            if (slot == k)
            {
                break;
            }
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: move later members of the probe run into the hole when their home slot allows.
        int hole = i;
        int j = i;
        while (true)
        {
            j = (j + 1) & mask;
            final long slot = table[j];
            if (EMPTY == slot)
            {
                break;
            }
            final int home = (int)slot & mask;
            // Move the entry at j into the hole unless its home lies cyclically within (hole, j].
            if (((j - home) & mask) >= ((j - hole) & mask))
            {
                table[hole] = slot;
                hole = j;
            }
        }
        table[hole] = EMPTY;
    }

    /**
     * Key 0 marks an empty slot, so it is stored as 1: the two are one key here, which for 64-bit hashes of RPC
     * coordinates means a false match with probability 2^-63.
     */
    private static long nonEmpty(final long key)
    {
        return EMPTY == key ? 1 : key;
    }
}
