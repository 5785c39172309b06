package dev.homa.nic.loopback;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Names in-memory fabrics so that a transport can be pointed at one by configuration alone:
 * {@code loopback://NAME/198.18.0.2} is host 198.18.0.2 of the fabric registered as NAME.
 * <p>
 * Control-path only: registration and lookup happen when transports start, never per packet.
 * <p>
 * A fabric is single-threaded: every driver of one fabric must be driven from the same thread, so transports on
 * it run in {@code INVOKER} mode from one loop (as the tests and the simulator do), never each on a
 * {@code DEDICATED} thread of its own.
 */
public final class FabricRegistry
{
    private static final ConcurrentHashMap<String, Fabric> FABRICS = new ConcurrentHashMap<>();

    private FabricRegistry()
    {
    }

    /**
     * @param name   the name in {@code loopback://NAME/...}.
     * @param fabric the fabric.
     * @throws IllegalStateException if the name is taken by another fabric.
     */
    public static void register(final String name, final Fabric fabric)
    {
        final Fabric previous = FABRICS.putIfAbsent(name, fabric);
        if (null != previous && previous != fabric)
        {
            throw new IllegalStateException("a fabric is already registered as '" + name + "'");
        }
    }

    /**
     * @param name   the registered name.
     * @param fabric the fabric expected under it; nothing happens if another fabric holds the name.
     */
    public static void unregister(final String name, final Fabric fabric)
    {
        FABRICS.remove(name, fabric);
    }

    /**
     * @param name the registered name.
     * @return the fabric.
     * @throws IllegalArgumentException naming the fabrics that do exist, if none has that name.
     */
    public static Fabric lookup(final String name)
    {
        final Fabric fabric = FABRICS.get(name);
        if (null == fabric)
        {
            throw new IllegalArgumentException(
                "no in-memory fabric registered as '" + name + "' (registered: " + FABRICS.keySet() + ")");
        }
        return fabric;
    }
}
