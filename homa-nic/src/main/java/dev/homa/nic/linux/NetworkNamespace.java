package dev.homa.nic.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Work done inside a named network namespace, from a short-lived thread that entered it with {@code setns(2)}:
 * only that thread moves, and every socket keeps the namespace it was created in, so what it opens then works from
 * any thread while the rest of the JVM stays where it is.
 */
public final class NetworkNamespace
{
    private static final String NAMED_NAMESPACES = "/var/run/netns/";

    private NetworkNamespace()
    {
    }

    /**
     * Run an action on a thread inside a namespace and wait for it.
     *
     * @param name    a name under /var/run/netns (as made by {@code ip netns add}) or an absolute path such as
     *                /proc/PID/ns/net.
     * @param action  what to do there; its exception is thrown here.
     * @param failure makes the exception for a namespace that cannot be entered or an interrupted wait.
     * @param <T>     what the action makes.
     * @return what the action returned.
     */
    public static <T> T callIn(
        final String name, final Supplier<T> action, final Function<String, RuntimeException> failure)
    {
        final Object[] result = new Object[1];
        final RuntimeException[] thrown = new RuntimeException[1];
        final Thread worker = new Thread(() ->
        {
            try
            {
                enter(name, failure);
                result[0] = action.get();
            }
            catch (final RuntimeException ex)
            {
                thrown[0] = ex;
            }
        }, "homa-netns-" + name);
        worker.start();
        try
        {
            worker.join();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw failure.apply("interrupted while working in network namespace " + name);
        }
        if (null != thrown[0])
        {
            throw thrown[0];
        }
        @SuppressWarnings("unchecked")
        final T value = (T)result[0];
        return value;
    }

    /**
     * Move the calling thread into a namespace.
     *
     * @param name    a name under /var/run/netns or an absolute path.
     * @param failure makes the exception if the namespace cannot be opened or entered (naming CAP_SYS_ADMIN if
     *                that is missing).
     */
    public static void enter(final String name, final Function<String, RuntimeException> failure)
    {
        final String path = name.startsWith("/") ? name : NAMED_NAMESPACES + name;
        try (Arena local = Arena.ofConfined())
        {
            final MemorySegment state = LibC.newErrnoState(local);
            final int nsFd = LibC.open(state, local.allocateFrom(path), LibC.O_RDONLY | LibC.O_CLOEXEC);
            if (nsFd < 0)
            {
                throw failure.apply("cannot open network namespace " + path + ": " + LibC.describe(LibC.errno(state)));
            }
            try
            {
                if (0 != LibC.setns(state, nsFd, LibC.CLONE_NEWNET))
                {
                    final int error = LibC.errno(state);
                    throw failure.apply("setns(" + path + ") failed: " + LibC.describe(error) +
                        (LibC.EPERM == error ? " (entering a network namespace needs CAP_SYS_ADMIN)" : ""));
                }
            }
            finally
            {
                LibC.close(nsFd);
            }
        }
    }
}
