package dev.homa.bench.load;

import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What one load client does: which peer it speaks to and how (the transport), what it sends (sizes, response
 * length), how (closed loop with K outstanding, or open loop with Poisson arrivals at a rate, K outstanding at most
 * and a backlog beyond), and how it checks the answers. The runner renders it into a client process's arguments
 * ({@link #toArguments()}); the client reads it back with picocli.
 */
final class LoadSpec
{
    @Option(names = "--peer", required = true, description = "homa, nio or netty.")
    String peer;

    @Option(names = "--server", required = true, paramLabel = "IP[:PORT]",
        description = "The server: TCP address and port; for Homa its host (IP and UDP port over udp://, IP alone " +
            "over raw://).")
    String server;

    @Option(names = "--homa-uri", description = "Homa: the client's driver URI (udp://IP:0, raw://IFNAME).")
    String homaUri;

    @Option(names = "--homa-port", defaultValue = "99", description = "Homa: the server socket's port.")
    int homaPort;

    @Option(names = "--homa-threading", defaultValue = "invoker",
        description = "Homa: invoker (the client's one thread runs the protocol) or dedicated (the transport's " +
            "own protocol thread, the application blocking in homaRecv).")
    String homaThreading;

    @Option(names = "--sizes", defaultValue = "1000000", description = "Request size (100, 64k, 1m) or w1..w5.")
    String sizes;

    @Option(names = "--response", defaultValue = "echo", description = "echo (as long as the request) or a size.")
    String response;

    @Option(names = "--outstanding", defaultValue = "1", description = "K: most RPCs in flight at once.")
    int outstanding;

    @Option(names = "--rate", defaultValue = "0", description = "Open loop: Poisson arrivals per second; " +
        "0 = closed loop (a new request as soon as one of the K completes).")
    double rate;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of sizes and arrivals.")
    long seed;

    @Option(names = "--verify", defaultValue = "sample", description = "none, sample (header and 16 longs) or full.")
    String verify;

    @Option(names = "--baseline", description = "Unloaded latency by size for slowdowns: LEN:NS,LEN:NS,...")
    String baseline;

    @Option(names = "--connections", defaultValue = "1",
        description = "TCP: connections to the server; requests go to them in turn.")
    int connections;

    /**
     * @return the arguments that make a client process read this spec back.
     */
    List<String> toArguments()
    {
        final List<String> args = new ArrayList<>(List.of("--peer", peer, "--server", server,
            "--homa-threading", homaThreading, "--sizes", sizes, "--response", response,
            "--outstanding", Integer.toString(outstanding), "--rate", Double.toString(rate),
            "--seed", Long.toString(seed), "--verify", verify, "--connections", Integer.toString(connections),
            "--homa-port", Integer.toString(homaPort)));
        if (null != homaUri)
        {
            args.addAll(List.of("--homa-uri", homaUri));
        }
        if (null != baseline)
        {
            args.addAll(List.of("--baseline", baseline));
        }
        return args;
    }

    LoadSpec copy()
    {
        final LoadSpec spec = new LoadSpec();
        spec.peer = peer;
        spec.server = server;
        spec.homaUri = homaUri;
        spec.homaPort = homaPort;
        spec.homaThreading = homaThreading;
        spec.sizes = sizes;
        spec.response = response;
        spec.outstanding = outstanding;
        spec.rate = rate;
        spec.seed = seed;
        spec.verify = verify;
        spec.baseline = baseline;
        spec.connections = connections;
        return spec;
    }

    /**
     * @return -1 for echo, else the response length.
     */
    int responseLength()
    {
        return "echo".equalsIgnoreCase(response) ? -1 : (int)MessageSizes.parseBytes(response);
    }

    boolean verifyFull()
    {
        return "full".equalsIgnoreCase(verify);
    }

    boolean verifyNone()
    {
        return "none".equalsIgnoreCase(verify);
    }

    boolean dedicated()
    {
        return "dedicated".equalsIgnoreCase(homaThreading);
    }

    /**
     * The unloaded latency by size, for slowdowns: linear between the given points, flat beyond the ends.
     */
    static final class Baseline
    {
        private final long[] lengths;
        private final long[] nanos;

        private Baseline(final long[] lengths, final long[] nanos)
        {
            this.lengths = lengths;
            this.nanos = nanos;
        }

        /**
         * @param text {@code LEN:NS,LEN:NS,...} with lengths increasing.
         * @return the table, or null for null text.
         */
        static Baseline parse(final String text)
        {
            if (null == text || text.isBlank())
            {
                return null;
            }
            final String[] points = text.split(",");
            final long[] lengths = new long[points.length];
            final long[] nanos = new long[points.length];
            for (int i = 0; i < points.length; i++)
            {
                final String[] pair = points[i].split(":");
                lengths[i] = Long.parseLong(pair[0].trim());
                nanos[i] = Long.parseLong(pair[1].trim());
                if (i > 0 && lengths[i] <= lengths[i - 1])
                {
                    throw new IllegalArgumentException("baseline lengths must increase: " + text);
                }
            }
            return new Baseline(lengths, nanos);
        }

        /**
         * @param lengths request lengths, increasing.
         * @param nanos   unloaded latency of each.
         * @return the table as {@link #parse(String)} reads it.
         */
        static String format(final long[] lengths, final long[] nanos)
        {
            final StringBuilder text = new StringBuilder();
            for (int i = 0; i < lengths.length; i++)
            {
                text.append(0 == i ? "" : ",").append(lengths[i]).append(':').append(nanos[i]);
            }
            return text.toString();
        }

        /**
         * @param length request length.
         * @return unloaded latency in ns.
         */
        long nanosFor(final int length)
        {
            if (length <= lengths[0])
            {
                return nanos[0];
            }
            final int last = lengths.length - 1;
            if (length >= lengths[last])
            {
                return nanos[last];
            }
            int i = Arrays.binarySearch(lengths, length);
            if (i >= 0)
            {
                return nanos[i];
            }
            i = -i - 1;
            final double f = (double)(length - lengths[i - 1]) / (lengths[i] - lengths[i - 1]);
            return Math.round(nanos[i - 1] + f * (nanos[i] - nanos[i - 1]));
        }
    }

    @Override
    public String toString()
    {
        return String.format(Locale.ROOT, "%s sizes=%s K=%d %s", peer, sizes, outstanding,
            0 == rate ? "closed" : String.format(Locale.ROOT, "open %.0f/s", rate));
    }
}
