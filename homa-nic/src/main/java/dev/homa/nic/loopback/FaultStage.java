package dev.homa.nic.loopback;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * The one place a {@link Fabric} applies its {@link FaultInjector}s, in both modes: where a frame reaches the switch
 * (timed) or on flush (instant). A frame is first lost or not ({@link #lose}); a frame that goes on is then
 * corrupted, duplicated and held back, asked in that order ({@link #alter}), so a seeded injector makes the same
 * decisions for the same frames whichever mode carries them. Counts what the injectors did.
 */
final class FaultStage
{
    /** {@link #alter} result bit: the caller should deliver a copy as well (and call {@link #onDuplicated()}). */
    static final int DUPLICATE = 1 << 16;

    private final Long2ObjectHashMap<FaultInjector> linkFaults = new Long2ObjectHashMap<>();
    private FaultInjector defaultFaults;
    private long delayNs;
    private long lossDrops;
    private long duplicates;
    private long reorders;
    private long corruptions;

    FaultStage(final FaultInjector defaultFaults)
    {
        this.defaultFaults = requireInjector(defaultFaults);
    }

    /**
     * @return the injector of the directed link between two hosts.
     */
    FaultInjector injector(final int sourceIndex, final int destinationIndex)
    {
        if (linkFaults.isEmpty())
        {
            return defaultFaults;
        }
        final FaultInjector injector = linkFaults.get(linkKey(sourceIndex, destinationIndex));
        return null == injector ? defaultFaults : injector;
    }

    /**
     * Set the injector of every link, replacing per-link ones.
     */
    void injector(final FaultInjector injector)
    {
        defaultFaults = requireInjector(injector);
        linkFaults.clear();
    }

    /**
     * Set the injector of one directed link.
     */
    void injector(final int sourceIndex, final int destinationIndex, final FaultInjector injector)
    {
        linkFaults.put(linkKey(sourceIndex, destinationIndex), requireInjector(injector));
    }

    /**
     * @return true if the frame is lost (counted).
     */
    boolean lose(
        final FaultInjector injector, final long source, final long destination, final DirectBuffer bytes,
        final int length)
    {
        if (injector.shouldDrop(source, destination, bytes, length))
        {
            lossDrops++;
            return true;
        }
        return false;
    }

    /**
     * Corrupt the frame in place, decide on a duplicate and on a hold-back ({@link #delayNs()}), counting each.
     *
     * @return {@link FabricTraceListener#FLAG_CORRUPTED} and {@link FabricTraceListener#FLAG_REORDERED} as they
     * apply, and {@link #DUPLICATE} if a copy should follow.
     */
    int alter(
        final FaultInjector injector, final long source, final long destination, final MutableDirectBuffer bytes,
        final int length)
    {
        int flags = 0;
        if (injector.corrupt(source, destination, bytes, length))
        {
            corruptions++;
            flags |= FabricTraceListener.FLAG_CORRUPTED;
        }
        if (injector.shouldDuplicate(source, destination, bytes, length))
        {
            flags |= DUPLICATE;
        }
        delayNs = injector.reorderDelayNs(source, destination, bytes, length);
        if (delayNs > 0)
        {
            reorders++;
            flags |= FabricTraceListener.FLAG_REORDERED;
        }
        return flags;
    }

    /**
     * @return how long the last {@link #alter}ed frame is held back, 0 if not.
     */
    long delayNs()
    {
        return delayNs;
    }

    /**
     * A duplicate asked for by {@link #alter} was made.
     */
    void onDuplicated()
    {
        duplicates++;
    }

    long lossDrops()
    {
        return lossDrops;
    }

    long duplicates()
    {
        return duplicates;
    }

    long reorders()
    {
        return reorders;
    }

    long corruptions()
    {
        return corruptions;
    }

    static FaultInjector requireInjector(final FaultInjector injector)
    {
        if (null == injector)
        {
            throw new NullPointerException("fault injector; use FaultInjector.NONE for none");
        }
        return injector;
    }

    private static long linkKey(final int sourceIndex, final int destinationIndex)
    {
        return ((long)sourceIndex << 32) | destinationIndex;
    }
}
