package dev.homa.core.metrics;

import java.io.PrintStream;

/**
 * Prints a {@link MetricsSnapshot} for humans: one {@code name value} line per nonzero counter, in counter order
 * (per type, per priority, life cycle, drops), as the kernel's {@code /proc/net/homa_metrics} does.
 */
public final class MetricsPrinter
{
    private MetricsPrinter()
    {
    }

    /**
     * @param snapshot counters to print.
     * @param out      where to print.
     */
    public static void print(final MetricsSnapshot snapshot, final PrintStream out)
    {
        out.print(format(snapshot));
    }

    /**
     * @param snapshot counters to format.
     * @return one line per nonzero counter.
     */
    public static String format(final MetricsSnapshot snapshot)
    {
        final StringBuilder builder = new StringBuilder(2048);
        for (int i = 0; i < snapshot.length(); i++)
        {
            final long value = snapshot.get(i);
            if (0 != value)
            {
                final String name = snapshot.name(i);
                builder.append(name);
                for (int pad = name.length(); pad < 36; pad++)
                {
                    builder.append(' ');
                }
                builder.append(String.format("%,15d", value)).append('\n');
            }
        }
        return builder.toString();
    }
}
