package dev.homa.core.metrics;

/**
 * An immutable copy of every {@link HomaMetrics} counter at one moment (each slot read atomically; slots read one
 * after another). Index by the {@link HomaMetrics} counter ids or look a counter up by name.
 */
public final class MetricsSnapshot
{
    private final long[] values;
    private final String[] names;

    MetricsSnapshot(final long[] values, final String[] names)
    {
        this.values = values;
        this.names = names;
    }

    /**
     * @param id a {@link HomaMetrics} counter id.
     * @return the value at snapshot time.
     */
    public long get(final int id)
    {
        return values[id];
    }

    /**
     * @param name a counter name as printed, e.g. {@code packets_sent.GRANT}.
     * @return the value, or -1 if there is no such counter.
     */
    public long get(final String name)
    {
        for (int i = 0; i < names.length; i++)
        {
            if (name.equals(names[i]))
            {
                return values[i];
            }
        }
        return -1;
    }

    /**
     * @return number of counters.
     */
    public int length()
    {
        return values.length;
    }

    /**
     * @param id counter id.
     * @return its name.
     */
    public String name(final int id)
    {
        return names[id];
    }

    /**
     * @param earlier a snapshot taken before this one from the same metrics.
     * @return per-counter differences this - earlier (gauges become changes too).
     */
    public MetricsSnapshot minus(final MetricsSnapshot earlier)
    {
        final long[] diff = new long[values.length];
        for (int i = 0; i < values.length; i++)
        {
            diff[i] = values[i] - earlier.values[i];
        }
        return new MetricsSnapshot(diff, names);
    }
}
