package dev.homa.examples.stat;

import dev.homa.core.metrics.CountersFile;
import dev.homa.examples.Cli;
import org.agrona.concurrent.status.CountersReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code homa-stat}: the counters of the local Homa transports, read from their counters files
 * ({@link CountersFile}, as AeronStat reads Aeron's CnC file), once or every {@code --interval} seconds:
 * <pre>
 *   homa-stat                     every transport in /dev/shm/homa-$USER, nonzero counters
 *   homa-stat --pid 4242 --all    one process, zeros too
 *   homa-stat --interval 1        again every second until Ctrl-C
 * </pre>
 * Engine counters are named as {@code HomaMetrics} names them (the kernel's {@code homa_metrics} style), driver
 * counters start with {@code driver.}.
 */
@Command(name = "homa-stat", mixinStandardHelpOptions = true,
    description = "Print the counters of running Homa transports (from their counters files).")
public final class HomaStat implements Callable<Integer>
{
    @Option(names = "--dir", description = "Directory of the counters files (default: /dev/shm/homa-$USER).")
    Path dir;

    @Option(names = "--pid", defaultValue = "0", description = "Only this process (default: every one).")
    long pid;

    @Option(names = "--all", description = "Print counters that are zero too.")
    boolean all;

    @Option(names = "--interval", defaultValue = "0",
        description = "Print again every this many seconds until interrupted (default 0: once).")
    long intervalSeconds;

    @Option(names = "--count", defaultValue = "0", description = "With --interval, stop after this many reports.")
    long count;

    private PrintStream out = System.out;

    /**
     * Run {@code homa-stat} and exit with its status.
     *
     * @param args the command line; {@code --help} for the options.
     */
    public static void main(final String[] args)
    {
        System.exit(Cli.execute(new HomaStat(), args));
    }

    /**
     * @param out where to print (tests).
     * @return this.
     */
    HomaStat out(final PrintStream out)
    {
        this.out = out;
        return this;
    }

    @Override
    public Integer call()
    {
        final Path directory = null != dir ? dir : CountersFile.defaultDirectory();
        for (long report = 1; ; report++)
        {
            final List<Path> files = CountersFile.live(directory);
            files.removeIf((file) -> 0 != pid && CountersFile.pidOf(file) != pid);
            if (files.isEmpty())
            {
                throw new IllegalStateException("no running Homa transport" + (0 != pid ? " of process " + pid : "") +
                    " has counters in " + directory + " (counters files are on unless homa.counters.enabled=false)");
            }
            for (final Path file : files)
            {
                print(file);
            }
            if (0 == intervalSeconds || (0 != count && report >= count))
            {
                return 0;
            }
            LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(intervalSeconds));
            if (Thread.interrupted())
            {
                return 0;
            }
        }
    }

    private void print(final Path file)
    {
        try (CountersFile.Reader reader = new CountersFile.Reader(file))
        {
            final long nowMs = System.currentTimeMillis();
            out.printf("%s  pid %d  up %.1f s  updated %d ms ago%n", reader.role(), reader.pid(),
                (nowMs - reader.startTimeMs()) / 1000.0, Math.max(0, nowMs - reader.heartbeatMs()));
            final CountersReader counters = reader.counters();
            counters.forEach((counterId, typeId, keyBuffer, label) ->
            {
                final long value = counters.getCounterValue(counterId);
                if (all || 0 != value)
                {
                    out.printf("    %-40s %,18d%n", label, value);
                }
            });
        }
    }
}
