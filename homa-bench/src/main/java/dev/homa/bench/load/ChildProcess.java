package dev.homa.bench.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A server or client JVM the runner started (in a network namespace through {@code ip netns exec}, or not): lines
 * to its standard input, lines from its standard output (read on a daemon thread; its standard error goes to the
 * runner's), and its CPU time from {@code /proc}. {@code ip netns exec} replaces itself with the JVM, so the PID is
 * the JVM's.
 */
final class ChildProcess implements AutoCloseable
{
    private static final String[] JVM_OPTIONS = {
        "-Xms512m", "-Xmx512m", "-XX:+UseParallelGC", "-XX:MaxDirectMemorySize=2g",
        "--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED" };
    private static final long CLOCK_TICKS_PER_SECOND = 100;
    private static final long POLL_NS = 200_000_000L;

    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final OutputStream input;
    private final String name;

    private ChildProcess(final String name, final Process process)
    {
        this.name = name;
        this.process = process;
        this.input = process.getOutputStream();
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader out = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while (null != (line = out.readLine()))
                {
                    lines.add(line);
                }
            }
            catch (final IOException ignore)
            {
                // The process ended.
            }
        }, "output-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Start a JVM running {@link LoadGenerator} with the given arguments.
     *
     * @param name       for messages.
     * @param namespace  network namespace, or null.
     * @param jvmOptions extra JVM options (system properties).
     * @param args       the subcommand and its options.
     * @return the process.
     */
    static ChildProcess start(
        final String name, final String namespace, final List<String> jvmOptions, final List<String> args)
    {
        final List<String> command = new ArrayList<>();
        if (null != namespace)
        {
            command.addAll(List.of("ip", "netns", "exec", namespace));
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(JVM_OPTIONS));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), LoadGenerator.class.getName()));
        command.addAll(args);
        try
        {
            return new ChildProcess(name,
                new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot start " + String.join(" ", command), ex);
        }
    }

    /**
     * @param prefix    start of the line wanted; lines before it are skipped.
     * @param timeoutNs how long to wait.
     * @return the line.
     * @throws IllegalStateException if the process ends or the time runs out first.
     */
    String awaitLine(final String prefix, final long timeoutNs)
    {
        final long deadlineNs = System.nanoTime() + timeoutNs;
        try
        {
            while (true)
            {
                final long leftNs = deadlineNs - System.nanoTime();
                final String line = lines.poll(Math.max(0, Math.min(leftNs, POLL_NS)), TimeUnit.NANOSECONDS);
                if (null == line && leftNs > POLL_NS && process.isAlive())
                {
                    continue;
                }
                if (null == line)
                {
                    throw new IllegalStateException(name + ": no line starting '" + prefix + "' within " +
                        timeoutNs / 1_000_000_000 + " s" + (process.isAlive() ? "" : " (exited " +
                        process.exitValue() + ")"));
                }
                if (line.startsWith(prefix))
                {
                    return line;
                }
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for " + name, ex);
        }
    }

    /**
     * @param line a command for the child.
     */
    void send(final String line)
    {
        try
        {
            input.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            input.flush();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(name + " does not take commands any more", ex);
        }
    }

    /**
     * @return user plus system CPU seconds the process has used so far (all its threads), from /proc.
     */
    double cpuSeconds()
    {
        try
        {
            return cpuSeconds(Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat")));
        }
        catch (final IOException | RuntimeException ex)
        {
            return Double.NaN;
        }
    }

    /**
     * @return CPU seconds the JVM's JIT compiler threads have used, from {@code /proc}; NaN if unknown.
     */
    double compilerSeconds()
    {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(process.pid()), "task")))
        {
            double total = 0;
            for (final Path task : (Iterable<Path>)tasks::iterator)
            {
                final String stat = Files.readString(task.resolve("stat"));
                // HotSpot names them "C1 CompilerThread0", "C2 CompilerThread0", ...; the kernel keeps 15 bytes.
                if (stat.contains("CompilerThre"))
                {
                    total += cpuSeconds(stat);
                }
            }
            return total;
        }
        catch (final IOException | RuntimeException ex)
        {
            return Double.NaN;
        }
    }

    private static double cpuSeconds(final String stat)
    {
        // Fields after the command name, which is in parentheses and may hold spaces.
        final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        final long utime = Long.parseLong(fields[11]);
        final long stime = Long.parseLong(fields[12]);
        return (utime + stime) / (double)CLOCK_TICKS_PER_SECOND;
    }

    /**
     * Close its input (the stop signal for a server) and wait for it to end, killing it if it does not.
     */
    @Override
    public void close()
    {
        try
        {
            input.close();
        }
        catch (final IOException ignore)
        {
            // Ending anyway.
        }
        try
        {
            if (!process.waitFor(10, TimeUnit.SECONDS))
            {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        catch (final InterruptedException ex)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
