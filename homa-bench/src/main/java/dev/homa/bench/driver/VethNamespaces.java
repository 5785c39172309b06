package dev.homa.bench.driver;

import dev.homa.nic.netns.NetnsPair;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.homa.nic.netns.NetnsPair.run;
import static dev.homa.nic.netns.NetnsPair.tryRun;

/**
 * Two network namespaces joined by one veth pair: the benchmark's two hosts. Namespace A
 * ({@code <prefix><pid>n<k>a}) holds {@value #IF_A} with 198.18.{subnet}.1 and MAC {@code 02:00:c6:12:<subnet>:01};
 * B holds {@value #IF_B} with .2 and {@code ...:02}. Both sides get a permanent neighbour entry for the other, so no
 * ARP happens during a measurement and the raw paths know the peer's MAC without asking.
 * <p>
 * Teardown on every exit path: {@link #close()} deletes both namespaces (the veth dies with them) and stops the
 * processes started through {@link #start}; a JVM shutdown hook does the same if the program is interrupted before
 * it gets there, and {@link #create} first removes namespaces with the same prefix left by JVMs that no longer run.
 * Only addresses in 198.18.0.0/15 are used.
 */
public final class VethNamespaces implements AutoCloseable
{
    /** Interface of the veth end in namespace A. */
    public static final String IF_A = "veth-a";
    /** Interface of the veth end in namespace B. */
    public static final String IF_B = "veth-b";

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final long PID = ProcessHandle.current().pid();
    private static final long CAP_NET_RAW = 1L << 13;

    private final String nsA;
    private final String nsB;
    private final int subnet;
    private final List<Process> processes = new ArrayList<>();
    private final Thread shutdownHook;
    private boolean closed;

    private VethNamespaces(final String nsA, final String nsB, final int subnet)
    {
        this.nsA = nsA;
        this.nsB = nsB;
        this.subnet = subnet;
        this.shutdownHook = new Thread(this::teardown, "veth-namespaces-cleanup");
    }

    /**
     * Whether namespaces can be built here: Linux, root capabilities, {@code ip}, and {@code ip netns add} allowed.
     *
     * @return null if {@link #create} can work, else the reason it cannot.
     */
    public static String skipReasonIfUnavailable()
    {
        final String reason = NetnsPair.skipReasonIfUnavailable();
        if (null != reason)
        {
            return reason;
        }
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
            {
                if (line.startsWith("CapEff:") &&
                    0 == (Long.parseUnsignedLong(line.substring(7).trim(), 16) & CAP_NET_RAW))
                {
                    return "the AF_PACKET floor and the raw driver need CAP_NET_RAW, which this process lacks";
                }
            }
            return null;
        }
        catch (final IOException ex)
        {
            return "cannot read /proc/self/status: " + ex;
        }
    }

    /**
     * Build the pair.
     *
     * @param prefix lowercase tag of at most 8 characters naming the user (e.g. "hbrtt").
     * @param subnet third octet of 198.18.x.0/24, 0..255.
     * @return the pair, links up, neighbours set.
     * @throws IllegalStateException if a command fails (whatever was built is removed first).
     */
    public static VethNamespaces create(final String prefix, final int subnet)
    {
        if (!prefix.matches("[a-z][a-z0-9]{0,7}"))
        {
            throw new IllegalArgumentException("prefix must be 1..8 lowercase letters/digits: " + prefix);
        }
        if (subnet < 0 || subnet > 255)
        {
            throw new IllegalArgumentException("subnet out of range 0..255: " + subnet);
        }
        NetnsPair.removeLeftovers(prefix);
        final String base = prefix + PID + "n" + COUNTER.incrementAndGet();
        final VethNamespaces pair = new VethNamespaces(base + "a", base + "b", subnet);
        Runtime.getRuntime().addShutdownHook(pair.shutdownHook);
        try
        {
            run("ip", "netns", "add", pair.nsA);
            run("ip", "netns", "add", pair.nsB);
            run("ip", "link", "add", "name", IF_A, "address", pair.macA(), "netns", pair.nsA, "type", "veth",
                "peer", "name", IF_B, "address", pair.macB(), "netns", pair.nsB);
            run("ip", "-n", pair.nsA, "addr", "add", pair.ipA() + "/24", "dev", IF_A);
            run("ip", "-n", pair.nsB, "addr", "add", pair.ipB() + "/24", "dev", IF_B);
            run("ip", "-n", pair.nsA, "link", "set", "lo", "up");
            run("ip", "-n", pair.nsB, "link", "set", "lo", "up");
            run("ip", "-n", pair.nsA, "link", "set", IF_A, "up");
            run("ip", "-n", pair.nsB, "link", "set", IF_B, "up");
            run("ip", "-n", pair.nsA, "neigh", "replace", pair.ipB(), "lladdr", pair.macB(), "dev", IF_A,
                "nud", "permanent");
            run("ip", "-n", pair.nsB, "neigh", "replace", pair.ipA(), "lladdr", pair.macA(), "dev", IF_B,
                "nud", "permanent");
        }
        catch (final RuntimeException ex)
        {
            pair.close();
            throw ex;
        }
        return pair;
    }

    /**
     * @return namespace A (the client side in the benchmarks).
     */
    public String nsA()
    {
        return nsA;
    }

    /**
     * @return namespace B (the server side).
     */
    public String nsB()
    {
        return nsB;
    }

    /**
     * @return dotted IPv4 of A.
     */
    public String ipA()
    {
        return "198.18." + subnet + ".1";
    }

    /**
     * @return dotted IPv4 of B.
     */
    public String ipB()
    {
        return "198.18." + subnet + ".2";
    }

    /**
     * @return MAC of A's veth end, colon form.
     */
    public String macA()
    {
        return String.format("02:00:c6:12:%02x:01", subnet);
    }

    /**
     * @return MAC of B's veth end, colon form.
     */
    public String macB()
    {
        return String.format("02:00:c6:12:%02x:02", subnet);
    }

    /**
     * Start a program inside a namespace with {@code ip netns exec}; {@link #close()} destroys it if it still runs.
     *
     * @param namespace {@link #nsA()} or {@link #nsB()}.
     * @param command   program and arguments.
     * @return the process; standard error is inherited, standard output is the caller's to read.
     */
    public synchronized Process start(final String namespace, final List<String> command)
    {
        if (closed)
        {
            throw new IllegalStateException("namespaces already removed");
        }
        final List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        full.addAll(command);
        try
        {
            final Process process = new ProcessBuilder(full).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            processes.add(process);
            return process;
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot start " + String.join(" ", full) + ": " + ex, ex);
        }
    }

    /**
     * Run a command in a namespace and wait for it.
     *
     * @param namespace namespace name.
     * @param command   program and arguments.
     * @return merged output.
     */
    public String exec(final String namespace, final String... command)
    {
        final String[] full = new String[command.length + 4];
        full[0] = "ip";
        full[1] = "netns";
        full[2] = "exec";
        full[3] = namespace;
        System.arraycopy(command, 0, full, 4, command.length);
        return run(full);
    }

    /**
     * A thread factory whose threads enter a namespace before running their task, for an in-process side.
     *
     * @param namespace namespace name.
     * @return the factory.
     */
    public static ThreadFactory threadsIn(final String namespace)
    {
        return (task) ->
        {
            final Thread thread = new Thread(() ->
            {
                LinuxNet.enterNamespace(namespace);
                task.run();
            }, "netns-" + namespace);
            thread.setDaemon(true);
            return thread;
        };
    }

    /**
     * Stop started processes and delete both namespaces. Idempotent.
     */
    @Override
    public void close()
    {
        teardown();
        try
        {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        }
        catch (final IllegalStateException ignore)
        {
            // Shutdown under way: the hook runs teardown too, which is idempotent.
        }
    }

    private synchronized void teardown()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final Process process : processes)
        {
            process.destroy();
        }
        for (final Process process : processes)
        {
            try
            {
                if (!process.waitFor(2, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                }
            }
            catch (final InterruptedException ex)
            {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        tryRun("ip", "netns", "del", nsA);
        tryRun("ip", "netns", "del", nsB);
    }
}
