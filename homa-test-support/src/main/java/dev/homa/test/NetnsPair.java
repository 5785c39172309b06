package dev.homa.test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Two network namespaces joined by a veth pair, for tests that need real hosts: {@code <prefix><pid>n<k>a} with
 * interface {@link #ifA()} = {@value #IF_A} holding {@link #ipA()}, and {@code ...b} with {@value #IF_B} holding
 * {@link #ipB()}, both in 198.18.{subnet}.0/24 (the benchmark range). Both links and both loopbacks are up.
 * <p>
 * The veth is created directly inside the namespaces, so its names never collide with another test's pair in the
 * root namespace; the namespace names carry the JVM's pid and a counter so parallel builds do not collide either.
 * {@link #close()} deletes both namespaces (which destroys the veth); a JVM shutdown hook does the same if a test
 * never reaches {@code close()}, and {@link #create(String)} removes leftovers of dead JVMs with the same prefix.
 * <p>
 * Code can run inside a namespace without a child process: {@link #callIn(String, Callable)} runs on a dedicated
 * thread that has entered the namespace with {@code setns(2)} (which affects only the calling thread), called
 * through the {@link NamespaceEntry} registered on the class path. Sockets keep the namespace they were created in,
 * so a socket opened there can be used from any thread afterwards. Note that {@code /proc/self/net} and
 * {@code /sys/class/net} still show the root namespace on such a thread; use {@code /proc/thread-self/net} or socket
 * ioctls.
 * <p>
 * Typical use:
 * <pre>{@code
 *   Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
 *   try (NetnsPair pair = NetnsPair.create("hraw"))
 *   {
 *       final Driver a = pair.callIn(pair.nsA(), () -> openDriver(pair.ifA()));
 *   }
 * }</pre>
 */
public final class NetnsPair implements AutoCloseable
{
    /** Interface name of the veth end in namespace A. */
    public static final String IF_A = "veth-a";
    /** Interface name of the veth end in namespace B. */
    public static final String IF_B = "veth-b";

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final long PID = ProcessHandle.current().pid();

    private final String nsA;
    private final String nsB;
    private final String ipA;
    private final String ipB;
    private final String macA;
    private final String macB;
    private final List<ExecutorService> executors = new ArrayList<>();
    private final Thread shutdownHook;
    private boolean closed;

    private NetnsPair(
        final String nsA, final String nsB, final String ipA, final String ipB, final String macA, final String macB)
    {
        this.nsA = nsA;
        this.nsB = nsB;
        this.ipA = ipA;
        this.ipB = ipB;
        this.macA = macA;
        this.macB = macB;
        this.shutdownHook = new Thread(this::deleteNamespaces, "netns-cleanup-" + nsA);
    }

    /**
     * Whether this process may build namespaces: root (CAP_SYS_ADMIN and CAP_NET_ADMIN), an {@code ip} binary, and
     * a kernel that lets us add a namespace. Probed once.
     *
     * @return null if {@link #create(String)} can work, else a sentence saying why not, for JUnit assumptions.
     */
    public static String skipReasonIfUnavailable()
    {
        return NetnsAvailability.skipReason();
    }

    /**
     * Build a pair in subnet 198.18.0.0/24: A = 198.18.0.1, B = 198.18.0.2.
     *
     * @param prefix short lowercase tag naming the test suite, at most 8 characters (e.g. "hraw", "hudp").
     * @return the pair, links up.
     */
    public static NetnsPair create(final String prefix)
    {
        return create(prefix, 0);
    }

    /**
     * Build a pair in subnet 198.18.{subnet}.0/24: A = .1, B = .2.
     *
     * @param prefix short lowercase tag naming the test suite, at most 8 characters.
     * @param subnet third octet, 0..255.
     * @return the pair, links up.
     */
    public static NetnsPair create(final String prefix, final int subnet)
    {
        return create(prefix, subnet, false);
    }

    /**
     * Build a pair in subnet 198.18.{subnet}.0/24: A = .1, B = .2; with {@code staticNeighbours}, A's veth end gets
     * MAC {@code 02:00:c6:12:<subnet>:01}, B's {@code ...:02}, and each side a permanent neighbour entry for the
     * other, so nothing ARPs later (what a benchmark wants; a test of neighbour resolution wants the default).
     *
     * @param prefix           short lowercase tag naming the user, at most 8 characters.
     * @param subnet           third octet, 0..255.
     * @param staticNeighbours fixed MACs and permanent neighbour entries.
     * @return the pair, links up.
     */
    public static NetnsPair create(final String prefix, final int subnet, final boolean staticNeighbours)
    {
        if (prefix.isEmpty() || prefix.length() > 8 || !prefix.matches("[a-z][a-z0-9]*"))
        {
            throw new IllegalArgumentException("prefix must be 1..8 lowercase letters/digits: " + prefix);
        }
        if (subnet < 0 || subnet > 255)
        {
            throw new IllegalArgumentException("subnet out of range 0..255: " + subnet);
        }
        final String reason = skipReasonIfUnavailable();
        if (null != reason)
        {
            throw new IllegalStateException(reason);
        }
        removeLeftovers(prefix);

        final String base = prefix + PID + "n" + COUNTER.incrementAndGet();
        final NetnsPair pair = new NetnsPair(base + "a", base + "b", "198.18." + subnet + ".1",
            "198.18." + subnet + ".2", staticNeighbours ? String.format("02:00:c6:12:%02x:01", subnet) : null,
            staticNeighbours ? String.format("02:00:c6:12:%02x:02", subnet) : null);
        Runtime.getRuntime().addShutdownHook(pair.shutdownHook);
        try
        {
            run("ip", "netns", "add", pair.nsA);
            run("ip", "netns", "add", pair.nsB);
            if (staticNeighbours)
            {
                run("ip", "link", "add", "name", IF_A, "address", pair.macA, "netns", pair.nsA, "type", "veth",
                    "peer", "name", IF_B, "address", pair.macB, "netns", pair.nsB);
            }
            else
            {
                run("ip", "link", "add", "name", IF_A, "netns", pair.nsA, "type", "veth",
                    "peer", "name", IF_B, "netns", pair.nsB);
            }
            run("ip", "-n", pair.nsA, "addr", "add", pair.ipA + "/24", "dev", IF_A);
            run("ip", "-n", pair.nsB, "addr", "add", pair.ipB + "/24", "dev", IF_B);
            run("ip", "-n", pair.nsA, "link", "set", "lo", "up");
            run("ip", "-n", pair.nsB, "link", "set", "lo", "up");
            run("ip", "-n", pair.nsA, "link", "set", IF_A, "up");
            run("ip", "-n", pair.nsB, "link", "set", IF_B, "up");
            if (staticNeighbours)
            {
                run("ip", "-n", pair.nsA, "neigh", "replace", pair.ipB, "lladdr", pair.macB, "dev", IF_A,
                    "nud", "permanent");
                run("ip", "-n", pair.nsB, "neigh", "replace", pair.ipA, "lladdr", pair.macA, "dev", IF_B,
                    "nud", "permanent");
            }
        }
        catch (final RuntimeException ex)
        {
            pair.close();
            throw ex;
        }
        return pair;
    }

    /**
     * {@return name of namespace A}
     */
    public String nsA()
    {
        return nsA;
    }

    /**
     * {@return name of namespace B}
     */
    public String nsB()
    {
        return nsB;
    }

    /**
     * {@return interface name of the veth end in A}
     */
    public String ifA()
    {
        return IF_A;
    }

    /**
     * {@return interface name of the veth end in B}
     */
    public String ifB()
    {
        return IF_B;
    }

    /**
     * {@return dotted IPv4 address of A's veth end}
     */
    public String ipA()
    {
        return ipA;
    }

    /**
     * {@return dotted IPv4 address of B's veth end}
     */
    public String ipB()
    {
        return ipB;
    }

    /**
     * The MAC of A's veth end.
     *
     * @return MAC of A's veth end.
     * @throws IllegalStateException unless the pair was built with static neighbours (else the kernel chose it).
     */
    public String macA()
    {
        return staticMac(macA);
    }

    /**
     * The MAC of B's veth end.
     *
     * @return MAC of B's veth end.
     * @throws IllegalStateException unless the pair was built with static neighbours.
     */
    public String macB()
    {
        return staticMac(macB);
    }

    private static String staticMac(final String mac)
    {
        if (null == mac)
        {
            throw new IllegalStateException("MACs are fixed only for a pair built with static neighbours");
        }
        return mac;
    }

    /**
     * Run a command inside a namespace ({@code ip netns exec ns command...}) and wait for it (at most 60 s).
     *
     * @param ns      {@link #nsA()} or {@link #nsB()} (or any namespace name).
     * @param command program and arguments.
     * @return standard output and error, merged.
     * @throws IllegalStateException if it exits non-zero or times out.
     */
    public String exec(final String ns, final String... command)
    {
        return run(inNamespace(ns, command));
    }

    /**
     * Start a command inside a namespace without waiting (e.g. a capture). The caller destroys it.
     *
     * @param ns      namespace name.
     * @param command program and arguments.
     * @return the running process, output and error merged into its input stream.
     */
    public Process start(final String ns, final String... command)
    {
        try
        {
            return new ProcessBuilder(inNamespace(ns, command)).redirectErrorStream(true).start();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot start " + String.join(" ", command) + " in " + ns, ex);
        }
    }

    /**
     * Run code on a thread that has entered the namespace (one thread per namespace, reused, ended at
     * {@link #close()}). Sockets created there belong to the namespace for their whole life.
     *
     * @param ns   namespace name.
     * @param task the code.
     * @param <T>  result type.
     * @return the task's result.
     * @throws Exception what the task threw, or a timeout after 60 s.
     */
    public <T> T callIn(final String ns, final Callable<T> task) throws Exception
    {
        final Future<T> future = executor(ns).submit(task);
        try
        {
            return future.get(60, TimeUnit.SECONDS);
        }
        catch (final ExecutionException ex)
        {
            if (ex.getCause() instanceof Exception cause)
            {
                throw cause;
            }
            throw ex;
        }
        catch (final TimeoutException ex)
        {
            future.cancel(true);
            throw ex;
        }
    }

    /**
     * A single-thread executor whose thread lives in the namespace; created on first use, shut down at
     * {@link #close()}.
     *
     * @param ns namespace name.
     * @return the executor.
     */
    public synchronized ExecutorService executor(final String ns)
    {
        final String name = "netns-" + ns;
        for (final ExecutorService existing : executors)
        {
            if (existing instanceof NamedExecutor named && named.name.equals(name))
            {
                return existing;
            }
        }
        final NamedExecutor executor = new NamedExecutor(name, ns, namespaceEntry());
        executors.add(executor);
        return executor;
    }

    /**
     * @return the registered way into a namespace.
     * @throws IllegalStateException if the class path has none.
     */
    static NamespaceEntry namespaceEntry()
    {
        return ServiceLoader.load(NamespaceEntry.class, NetnsPair.class.getClassLoader()).findFirst()
            .orElseThrow(() -> new IllegalStateException("no " + NamespaceEntry.class.getName() + " on the class " +
                "path: code runs in a namespace through the project's setns(2) binding, which homa-nic's test " +
                "classes register (add homa-nic's test-jar as a test dependency)"));
    }

    /**
     * Delete both namespaces. Idempotent.
     */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final ExecutorService executor : executors)
        {
            executor.shutdownNow();
        }
        deleteNamespaces();
        try
        {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        }
        catch (final IllegalStateException ignore)
        {
            // Already shutting down: the hook runs anyway and deleting twice is harmless.
        }
    }

    private void deleteNamespaces()
    {
        tryRun("ip", "netns", "del", nsA);
        tryRun("ip", "netns", "del", nsB);
    }

    private static String[] inNamespace(final String ns, final String... command)
    {
        final String[] full = new String[command.length + 4];
        full[0] = "ip";
        full[1] = "netns";
        full[2] = "exec";
        full[3] = ns;
        System.arraycopy(command, 0, full, 4, command.length);
        return full;
    }

    /**
     * Delete the namespaces that a dead process of this naming scheme ({@code prefix + pid + "n" + ...}) left
     * behind; namespaces of live processes are left alone. Shared with the benchmark's namespace pair.
     *
     * @param prefix the tag the namespaces were created with.
     */
    public static void removeLeftovers(final String prefix)
    {
        final String list;
        try
        {
            list = run("ip", "netns", "list");
        }
        catch (final RuntimeException ex)
        {
            return;
        }
        for (final String line : list.split("\n"))
        {
            final String name = line.split(" ")[0].trim();
            if (name.startsWith(prefix) && name.length() > prefix.length())
            {
                final String rest = name.substring(prefix.length());
                final int n = rest.indexOf('n');
                if (n > 0 && rest.substring(0, n).chars().allMatch(Character::isDigit))
                {
                    final long pid = Long.parseLong(rest.substring(0, n));
                    if (pid != PID && ProcessHandle.of(pid).isEmpty())
                    {
                        tryRun("ip", "netns", "del", name);
                    }
                }
            }
        }
    }

    /**
     * {@link #run} for teardown: a failure is ignored.
     *
     * @param command program and arguments.
     */
    public static void tryRun(final String... command)
    {
        try
        {
            run(command);
        }
        catch (final RuntimeException ignore)
        {
            // Best effort teardown: the namespace may already be gone.
        }
    }

    /**
     * Run a command in this namespace and wait for it (60 s at most).
     *
     * @param command program and arguments.
     * @return its output (standard error merged in).
     * @throws IllegalStateException naming the command if it cannot start, times out or exits non-zero.
     */
    public static String run(final String... command)
    {
        try
        {
            final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            final String output;
            try (InputStream in = process.getInputStream())
            {
                output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!process.waitFor(60, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", command));
            }
            if (0 != process.exitValue())
            {
                throw new IllegalStateException(
                    String.join(" ", command) + " exited " + process.exitValue() + ": " + output.trim());
            }
            return output;
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot run " + String.join(" ", command) + ": " + ex, ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + String.join(" ", command), ex);
        }
    }

    private static final class NamedExecutor extends java.util.concurrent.ThreadPoolExecutor
    {
        private final String name;

        NamedExecutor(final String name, final String ns, final NamespaceEntry entry)
        {
            super(1, 1, 0, TimeUnit.MILLISECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
                (runnable) ->
                {
                    final Thread thread = new Thread(() ->
                    {
                        entry.enter(ns);
                        runnable.run();
                    }, name);
                    thread.setDaemon(true);
                    return thread;
                });
            this.name = name;
        }
    }
}
