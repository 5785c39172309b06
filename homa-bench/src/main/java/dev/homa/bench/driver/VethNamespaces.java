package dev.homa.bench.driver;

import dev.homa.nic.linux.NetworkNamespace;
import dev.homa.test.NetnsPair;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * Two network namespaces joined by one veth pair: the benchmark's two hosts, a {@link NetnsPair} built with static
 * neighbours. Namespace A ({@code <prefix><pid>n<k>a}) holds {@value #IF_A} with 198.18.{subnet}.1 and MAC
 * {@code 02:00:c6:12:<subnet>:01}; B holds {@value #IF_B} with .2 and {@code ...:02}. Both sides get a permanent
 * neighbour entry for the other, so no ARP happens during a measurement and the raw paths know the peer's MAC
 * without asking.
 * <p>
 * What this adds to the pair: the benchmark's own capability check, and the server processes it starts in a
 * namespace. Teardown on every exit path: {@link #close()} stops the processes started through {@link #start} and
 * deletes both namespaces (the veth dies with them); a JVM shutdown hook does the same if the program is interrupted
 * before it gets there, and {@link #create} first removes namespaces with the same prefix left by JVMs that no
 * longer run. Only addresses in 198.18.0.0/15 are used.
 */
public final class VethNamespaces implements AutoCloseable
{
    /** Interface of the veth end in namespace A. */
    public static final String IF_A = NetnsPair.IF_A;
    /** Interface of the veth end in namespace B. */
    public static final String IF_B = NetnsPair.IF_B;

    private static final long CAP_NET_RAW = 1L << 13;

    private final NetnsPair pair;
    private final List<Process> processes = new ArrayList<>();
    private final Thread shutdownHook;
    private boolean closed;

    private VethNamespaces(final NetnsPair pair)
    {
        this.pair = pair;
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
        final VethNamespaces hosts = new VethNamespaces(NetnsPair.create(prefix, subnet, true));
        Runtime.getRuntime().addShutdownHook(hosts.shutdownHook);
        return hosts;
    }

    /**
     * {@return namespace A (the client side in the benchmarks)}
     */
    public String nsA()
    {
        return pair.nsA();
    }

    /**
     * {@return namespace B (the server side)}
     */
    public String nsB()
    {
        return pair.nsB();
    }

    /**
     * {@return dotted IPv4 of A}
     */
    public String ipA()
    {
        return pair.ipA();
    }

    /**
     * {@return dotted IPv4 of B}
     */
    public String ipB()
    {
        return pair.ipB();
    }

    /**
     * {@return MAC of A's veth end}
     */
    public String macA()
    {
        return pair.macA();
    }

    /**
     * {@return MAC of B's veth end}
     */
    public String macB()
    {
        return pair.macB();
    }

    /**
     * Start a process inside a namespace ({@code ip netns exec}); it is stopped at {@link #close()} if still running.
     * Its standard error goes to ours; its standard input and output are the caller's to use.
     *
     * @param namespace {@link #nsA()} or {@link #nsB()}.
     * @param command   program and arguments.
     * @return the process.
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
     * Threads that enter the namespace (setns) before they run anything: sockets they open live there.
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
                NetworkNamespace.enter(namespace, IllegalStateException::new);
                task.run();
            }, "netns-" + namespace);
            thread.setDaemon(true);
            return thread;
        };
    }

    /**
     * Stop the processes started here and delete both namespaces. Idempotent.
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
        pair.close();
    }
}
