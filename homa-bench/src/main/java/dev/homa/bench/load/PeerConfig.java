package dev.homa.bench.load;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A transport as the runner compares it, by the name used in tables:
 * <ul>
 *     <li>{@code homa}: Homa over {@code udp://}, the README's settings for throughput (INVOKER threading: one
 *     thread per process runs the protocol and the application, as the TCP peers' one event-loop thread does; plus
 *     any {@code --homa-option} system properties);</li>
 *     <li>{@code homa-default}: Homa over {@code udp://} with nothing set, as the README's example runs it
 *     (DEDICATED threading: the transport's own protocol thread, the application blocking in {@code homaRecv});</li>
 *     <li>{@code homa-raw}: Homa over {@code raw://} (veth only), INVOKER;</li>
 *     <li>{@code homa-raw-frames}: the same with segmentation offload off ({@code tso=false}), a frame per
 *     packet;</li>
 *     <li>{@code nio}: Java NIO TCP, one selector thread per process;</li>
 *     <li>{@code netty}: Netty epoll TCP, one event loop per process;</li>
 *     <li>{@code BASE+LABEL}: a variant of one of the Homa transports above with system properties of its own
 *     ({@code --variant}), added after the base's, so that two settings run side by side in the same rounds.</li>
 * </ul>
 *
 * @param name        the table name.
 * @param peer        {@code homa}, {@code nio} or {@code netty}: the processes' {@code --peer}.
 * @param homaDriver  {@code udp} or {@code raw} for Homa, else null.
 * @param dedicated   Homa's DEDICATED threading.
 * @param jvmOptions  system properties for both sides' JVMs.
 * @param uriOptions  appended to both sides' {@code raw://} URIs.
 */
record PeerConfig(
    String name, String peer, String homaDriver, boolean dedicated, List<String> jvmOptions, String uriOptions)
{
    /**
     * @param name        a table name (see the class comment).
     * @param homaOptions system properties of the tuned Homa variants.
     * @param variants    each variant's own system properties, by its table name ({@code BASE+LABEL}).
     * @return the transport.
     */
    static PeerConfig parse(final String name, final List<String> homaOptions, final Map<String, List<String>> variants)
    {
        final int plus = name.indexOf('+');
        if (plus < 0)
        {
            return parse(name, homaOptions);
        }
        final List<String> own = variants.get(name);
        if (null == own)
        {
            throw new IllegalArgumentException("transport " + name + " names no --variant " + name + "=-Dprop=value");
        }
        final PeerConfig base = parse(name.substring(0, plus), homaOptions);
        if (!base.isHoma())
        {
            throw new IllegalArgumentException("a variant's base must be a Homa transport: " + name);
        }
        final List<String> options = new ArrayList<>(base.jvmOptions());
        options.addAll(own);
        return new PeerConfig(name, base.peer(), base.homaDriver(), base.dedicated(), List.copyOf(options),
            base.uriOptions());
    }

    private static PeerConfig parse(final String name, final List<String> homaOptions)
    {
        return switch (name)
        {
            case "homa" -> new PeerConfig(name, "homa", "udp", false, homaOptions, "");
            case "homa-default" -> new PeerConfig(name, "homa", "udp", true, List.of(), "");
            case "homa-raw" -> new PeerConfig(name, "homa", "raw", false, homaOptions, "");
            case "homa-raw-frames" -> new PeerConfig(name, "homa", "raw", false, homaOptions, "?tso=false");
            case "nio", "netty" -> new PeerConfig(name, name, null, false, List.of(), "");
            default -> throw new IllegalArgumentException(
                "transport must be homa, homa-default, homa-raw, homa-raw-frames, nio or netty: " + name);
        };
    }

    /**
     * The open loop offers loads as fractions of the highest load a TCP peer sustains: without one there is none.
     *
     * @param scenarios  the scenarios asked for.
     * @param transports the transports asked for.
     * @throws IllegalArgumentException if the open loop is asked for without nio or netty.
     */
    static void requireTcpForOpenLoop(final List<String> scenarios, final List<String> transports)
    {
        if (scenarios.stream().anyMatch(s -> "open".equals(s.trim())) &&
            transports.stream().map(String::trim).noneMatch(t -> "nio".equals(t) || "netty".equals(t)))
        {
            throw new IllegalArgumentException("--scenarios open offers loads as fractions of the highest load TCP " +
                "sustains: name nio or netty in --transports (given: " + String.join(",", transports) + ")");
        }
    }

    boolean isHoma()
    {
        return "homa".equals(peer);
    }

    boolean isTcp()
    {
        return !isHoma();
    }

    /**
     * @param hosts where the server runs.
     * @param port  UDP or TCP port to use.
     * @return the server process's arguments.
     */
    List<String> serverArguments(final Hosts hosts, final int port)
    {
        final List<String> args = new ArrayList<>(List.of("server", "--peer", peer,
            "--max-message", Integer.toString(MessageSizes.MAX_LENGTH)));
        if (isHoma())
        {
            args.addAll(List.of("--homa-uri", "raw".equals(homaDriver) ? "raw://" + hosts.serverInterface + uriOptions :
                "udp://" + hosts.serverIp + ":" + port, "--homa-threading", dedicated ? "dedicated" : "invoker"));
        }
        else
        {
            args.addAll(List.of("--bind", hosts.serverIp + ":" + port));
        }
        return args;
    }

    /**
     * Point a client spec at the server.
     *
     * @param spec       the client's spec (changed).
     * @param hosts      where the processes run.
     * @param serverPort the port the server reported.
     */
    void aim(final LoadSpec spec, final Hosts hosts, final int serverPort)
    {
        spec.peer = peer;
        if (isHoma() && "raw".equals(homaDriver))
        {
            spec.server = hosts.serverIp;
            spec.homaUri = "raw://" + hosts.clientInterface + uriOptions;
        }
        else
        {
            spec.server = hosts.serverIp + ":" + serverPort;
            spec.homaUri = isHoma() ? "udp://" + hosts.clientIp + ":0" : null;
        }
        spec.homaThreading = dedicated ? "dedicated" : "invoker";
    }
}
