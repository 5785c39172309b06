package dev.homa.nic.loopback;

import dev.homa.nic.HostAddress;
import org.agrona.DirectBuffer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Records a fabric's packet events for tests: each as an {@link Entry} (optionally with a copy of the Homa bytes,
 * to decode headers afterwards), plus a running 64-bit digest of everything, bytes included, to compare two runs
 * cheaply. Allocates per event: a test tool, not for benchmarks.
 */
public final class FabricTraceRecorder implements FabricTraceListener
{
    /** Mask selecting every event kind. */
    public static final int ALL_EVENTS = (1 << SENT) | (1 << ENQUEUED) | (1 << DROPPED) | (1 << DELIVERED);

    private final boolean copyBytes;
    private final int maxEntries;
    private final int eventMask;
    private final List<Entry> entries = new ArrayList<>();
    private long digest = 0xCBF2_9CE4_8422_2325L;
    private long count;

    /**
     * One recorded event.
     *
     * @param event       {@link FabricTraceListener} event code.
     * @param detail      fault flags or {@link DropReason}.
     * @param timeNs      virtual time.
     * @param source      sending host.
     * @param destination receiving host.
     * @param priority    priority level.
     * @param length      Homa bytes.
     * @param contentHash 64-bit hash of the Homa bytes.
     * @param bytes       copy of the Homa bytes, or null if the recorder does not copy.
     */
    public record Entry(
        int event,
        int detail,
        long timeNs,
        long source,
        long destination,
        int priority,
        int length,
        long contentHash,
        byte[] bytes)
    {
        /**
         * {@inheritDoc}
         */
        @Override
        public String toString()
        {
            final StringBuilder builder = new StringBuilder(96).append(timeNs).append(' ')
                .append(FabricTraceListener.eventName(event)).append(' ');
            HostAddress.appendTo(builder, source).append("->");
            HostAddress.appendTo(builder, destination).append(" p").append(priority).append(" len=").append(length);
            if (FabricTraceListener.DROPPED == event)
            {
                builder.append(' ').append(DropReason.name(detail));
            }
            else if (0 != detail)
            {
                builder.append(" flags=").append(detail);
            }
            return builder.append(" #").append(Long.toHexString(contentHash)).toString();
        }
    }

    /**
     * A recorder that keeps up to 100,000 entries without copying bytes (the digest covers every event).
     */
    public FabricTraceRecorder()
    {
        this(false, 100_000);
    }

    /**
     * @param copyBytes  keep a copy of each packet's Homa bytes.
     * @param maxEntries entries to keep; later events still go into the digest and the count.
     */
    public FabricTraceRecorder(final boolean copyBytes, final int maxEntries)
    {
        this(copyBytes, maxEntries, ALL_EVENTS);
    }

    /**
     * @param copyBytes  keep a copy of each packet's Homa bytes.
     * @param maxEntries entries to keep; later events still go into the digest and the count.
     * @param eventMask  which events to record and digest: bit {@code 1 << event}, e.g. {@code 1 << SENT} to see
     *                   only what hosts put on the wire; {@link #ALL_EVENTS} for all.
     */
    public FabricTraceRecorder(final boolean copyBytes, final int maxEntries, final int eventMask)
    {
        this.copyBytes = copyBytes;
        this.maxEntries = maxEntries;
        this.eventMask = eventMask;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void onPacketEvent(
        final int event,
        final int detail,
        final long timeNs,
        final long source,
        final long destination,
        final int priority,
        final DirectBuffer buffer,
        final int length)
    {
        if (0 == (eventMask & (1 << event)))
        {
            return;
        }
        long hash = 0xCBF2_9CE4_8422_2325L;
        for (int i = 0; i < length; i++)
        {
            hash = (hash ^ (buffer.getByte(i) & 0xFF)) * 0x1000_0000_01B3L;
        }
        long d = digest;
        d = mix(d, event);
        d = mix(d, detail);
        d = mix(d, timeNs);
        d = mix(d, source);
        d = mix(d, destination);
        d = mix(d, priority);
        d = mix(d, length);
        digest = mix(d, hash);
        count++;
        if (entries.size() < maxEntries)
        {
            byte[] bytes = null;
            if (copyBytes)
            {
                bytes = new byte[length];
                buffer.getBytes(0, bytes);
            }
            entries.add(new Entry(event, detail, timeNs, source, destination, priority, length, hash, bytes));
        }
    }

    /**
     * @return digest of every event so far: equal digests mean (with overwhelming probability) equal traces.
     */
    public long digest()
    {
        return digest;
    }

    /**
     * @return events seen, kept or not.
     */
    public long count()
    {
        return count;
    }

    /**
     * @return the kept entries, oldest first.
     */
    public List<Entry> entries()
    {
        return Collections.unmodifiableList(entries);
    }

    /**
     * @param event an event code.
     * @return kept entries of that kind, oldest first.
     */
    public List<Entry> entries(final int event)
    {
        final List<Entry> selected = new ArrayList<>();
        for (final Entry entry : entries)
        {
            if (event == entry.event())
            {
                selected.add(entry);
            }
        }
        return selected;
    }

    /**
     * @return the kept entries, one line each.
     */
    public List<String> lines()
    {
        final List<String> lines = new ArrayList<>(entries.size());
        for (final Entry entry : entries)
        {
            lines.add(entry.toString());
        }
        return lines;
    }

    /**
     * Forget everything.
     */
    public void clear()
    {
        entries.clear();
        digest = 0xCBF2_9CE4_8422_2325L;
        count = 0;
    }

    private static long mix(final long digest, final long value)
    {
        long h = (digest ^ value) * 0x9E37_79B9_7F4A_7C15L;
        h ^= h >>> 29;
        return h;
    }
}
