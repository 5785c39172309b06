package dev.homa.bench.load;

import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import dev.homa.nic.Packet;
import org.agrona.MutableDirectBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The UDP driver's bare echo: the floor under Homa's echo over {@code udp://}. A client sends a message of the
 * echo's size through the driver as its largest datagrams, back to back; the server counts them and, once the whole
 * message is in, sends as many bytes back to where they came from; the client counts those, and the next message
 * starts. There is no protocol: no grants, no acknowledgements, no message state, no copy out of the driver's
 * buffers, so what is left is the system calls and kernel work that any transport over the same sockets pays for the
 * same bytes. Homa's echo over {@code udp://} is held against it in the same run, and so are the TCP peers: a TCP
 * peer faster than this floor is faster than any protocol over UDP sockets can be on that path.
 * <p>
 * Each datagram starts with the message's sequence number and length. A message that loses a datagram is written
 * off after {@value #LOSS_TIMEOUT_NS} ns and sent again under a new sequence number (counted).
 */
final class UdpEchoFloor
{
    private static final long START_NS = 60_000_000_000L;
    private static final long LOSS_TIMEOUT_NS = 50_000_000L;
    private static final int SEQUENCE_OFFSET = 0;
    private static final int LENGTH_OFFSET = 8;
    /** Bytes of each datagram the floor reads or writes: its sequence number and message length. */
    static final int HEADER_LENGTH = 12;
    private static final int BURST = 64;
    private static final int POLL_LIMIT = 64;

    private UdpEchoFloor()
    {
    }

    /**
     * @param hosts           where the server and client run.
     * @param messageBytes    request and response length.
     * @param warmupSeconds   warm-up.
     * @param durationSeconds measured window.
     * @return request and response bytes moved per second in Gb/s, as the echo's goodput counts them.
     */
    static double measure(
        final Hosts hosts, final int messageBytes, final double warmupSeconds, final double durationSeconds)
    {
        try (ChildProcess server = ChildProcess.start("udp-floor-server", hosts.serverNamespace, List.of(),
            List.of("udp-floor-server", "--uri", "udp://" + hosts.serverIp + ":0")))
        {
            final String ready = server.awaitLine(LoadGenerator.READY, START_NS);
            final String port = ready.substring(ready.indexOf(' ') + 1).trim();
            try (ChildProcess client = ChildProcess.start("udp-floor-client", hosts.clientNamespace, List.of(),
                List.of("udp-floor-client", "--uri", "udp://" + hosts.clientIp + ":0",
                    "--to", hosts.serverIp + ":" + port, "--size", Integer.toString(messageBytes))))
            {
                client.awaitLine(LoadGenerator.READY, START_NS);
                client.send(ClientControl.GO);
                Trial.sleep(warmupSeconds);
                client.send(ClientControl.MEASURE);
                Trial.sleep(durationSeconds);
                client.send(ClientControl.STOP);
                final String[] fields = client.awaitLine(LoadGenerator.RESULT, START_NS).split(" ");
                final long messages = Long.parseLong(fields[1]);
                final long windowNs = Long.parseLong(fields[2]);
                final long lost = Long.parseLong(fields[3]);
                if (lost > 0)
                {
                    System.err.println("udp floor: " + lost + " messages of " + messageBytes +
                        " bytes lost and sent again (" + messages + " answered)");
                }
                return 2.0 * messages * messageBytes * 8 / windowNs;
            }
        }
    }

    /**
     * Print the bare echo per size, best and median of the rounds, and each transport's median goodput against the
     * best. The floor is held at its best round because its rounds split between two speeds: the kernel copies
     * each datagram with {@code rep movsb}, which on some processors runs an order of magnitude slower when the
     * destination's offset in its page is a few bytes past the source's, and with datagrams of one fixed size a
     * process meets that alignment on every datagram or on none.
     *
     * @param report where the lines go.
     * @param byKey  the echo's trials by {@code size/transport}.
     * @param floors the bare echo's goodput by size, one per round.
     */
    static void report(final Report report, final Map<String, List<Trial.Result>> byKey,
        final Map<String, List<Double>> floors)
    {
        report.line(String.format(Locale.ROOT, "%nThe UDP driver's bare echo on this path (no protocol, the same " +
            "datagrams and system calls), best and median of the rounds, and each transport's median goodput " +
            "against the best:"));
        for (final Map.Entry<String, List<Double>> entry : floors.entrySet())
        {
            final double best = entry.getValue().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
            final StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s: %.2f Gb/s (median %.2f);",
                entry.getKey(), best, Report.median(entry.getValue())));
            for (final Map.Entry<String, List<Trial.Result>> results : byKey.entrySet())
            {
                if (results.getKey().startsWith(entry.getKey() + "/"))
                {
                    final double goodput = Report.median(results.getValue().stream()
                        .map(Trial.Result::goodputGbps).toList());
                    line.append(String.format(Locale.ROOT, " %s %.2fx",
                        results.getKey().substring(entry.getKey().length() + 1), goodput / best));
                }
            }
            report.line(line.toString());
        }
    }

    /**
     * One side of the echo: counts the datagrams of the newest message and sends messages as the driver takes them.
     */
    static final class Endpoint extends InPlaceSink
    {
        private final NicDriver driver;
        private final int datagramLength;
        private final Packet[] burst = new Packet[BURST];
        private long sequence = -1;
        private long receivedBytes;
        private int messageLength;
        private long source = HostAddress.NONE;
        private long answered = -1;
        private long sendSequence;
        private int sendLength;
        private int sendOffset;
        private long sendTo;

        /**
         * @param driver the driver, opened on the side's address.
         */
        Endpoint(final NicDriver driver)
        {
            this.driver = driver;
            this.datagramLength = driver.maxPacketLength();
        }

        @Override
        public void onPacket(final Packet packet)
        {
            if (packet.length() >= HEADER_LENGTH)
            {
                final MutableDirectBuffer buffer = packet.buffer();
                final long packetSequence = buffer.getLong(SEQUENCE_OFFSET);
                if (packetSequence > sequence)
                {
                    sequence = packetSequence;
                    receivedBytes = 0;
                    messageLength = buffer.getInt(LENGTH_OFFSET);
                    source = packet.source();
                }
                if (packetSequence == sequence)
                {
                    receivedBytes += packet.length();
                }
            }
            driver.release(packet);
        }

        /**
         * @return datagrams received.
         */
        int poll()
        {
            return driver.poll(this, POLL_LIMIT);
        }

        /**
         * @return the newest message's sequence number if all its bytes are in, else -1.
         */
        long completeSequence()
        {
            return sequence >= 0 && receivedBytes >= messageLength ? sequence : -1;
        }

        /**
         * Start sending a message; it goes out in {@link #pump()}.
         */
        void send(final long messageSequence, final int length, final long destination)
        {
            sendSequence = messageSequence;
            sendLength = Math.max(length, HEADER_LENGTH);
            sendOffset = 0;
            sendTo = destination;
        }

        /**
         * @return true while part of the message is still to be handed to the driver.
         */
        boolean sending()
        {
            return sendOffset < sendLength;
        }

        /**
         * The server's step: once the newest message is all in and nothing else is being sent, start sending as
         * many bytes back to its source; then go on sending.
         *
         * @return datagrams sent.
         */
        int answer()
        {
            final long complete = completeSequence();
            if (!sending() && complete > answered)
            {
                answered = complete;
                send(complete, messageLength, source);
            }
            return sending() ? pump() : 0;
        }

        /**
         * Hand the driver as much of the message as it takes now.
         *
         * @return datagrams sent.
         */
        int pump()
        {
            int count = 0;
            while (count < BURST && sendOffset < sendLength)
            {
                final Packet packet = driver.acquire();
                if (null == packet)
                {
                    break;
                }
                final int length = Math.max(HEADER_LENGTH, Math.min(datagramLength, sendLength - sendOffset));
                packet.length(length);
                packet.buffer().putLong(SEQUENCE_OFFSET, sendSequence);
                packet.buffer().putInt(LENGTH_OFFSET, sendLength);
                if (!driver.send(packet, sendTo, 0))
                {
                    driver.release(packet);
                    break;
                }
                burst[count++] = packet;
                sendOffset += length;
            }
            driver.flush();
            for (int i = 0; i < count; i++)
            {
                driver.release(burst[i]);
                burst[i] = null;
            }
            return count;
        }
    }

    /**
     * Answers each whole message with as many bytes; prints {@code READY <port>}, serves until standard input closes.
     */
    @Command(name = "udp-floor-server", description = "Echo through a bare UDP driver (started by 'run').")
    static final class Server implements Callable<Integer>
    {
        @Option(names = "--uri", required = true)
        String uri;

        @Override
        public Integer call()
        {
            final PrintStream out = System.out;
            final ClientControl control = new ClientControl();
            try (NicDriver driver = NicDrivers.open(uri))
            {
                final Endpoint endpoint = new Endpoint(driver);
                out.println(LoadGenerator.READY + " " + HostAddress.portOf(driver.localAddress()));
                out.flush();
                control.listen(System.in);
                while (ClientControl.PHASE_STOP != control.next())
                {
                    if (0 == endpoint.poll() + endpoint.answer())
                    {
                        Thread.yield();
                    }
                }
            }
            return 0;
        }
    }

    /**
     * Sends one message at a time and counts the answers between {@code MEASURE} and {@code STOP}; prints
     * {@code RESULT <messages> <windowNs> <lost>}.
     */
    @Command(name = "udp-floor-client", description = "Send echo messages through a bare UDP driver (started by " +
        "'run').")
    static final class Client implements Callable<Integer>
    {
        @Option(names = "--uri", required = true)
        String uri;

        @Option(names = "--to", required = true, description = "The server's address and port.")
        String to;

        @Option(names = "--size", required = true, description = "Bytes per message, each way.")
        int size;

        @Override
        public Integer call()
        {
            final PrintStream out = System.out;
            final ClientControl control = new ClientControl();
            final long destination = HostAddress.parseIpv4(to);
            try (NicDriver driver = NicDrivers.open(uri))
            {
                final Endpoint endpoint = new Endpoint(driver);
                out.println(LoadGenerator.READY);
                out.flush();
                control.listen(System.in);
                long sequence = 0;
                long sentNs = 0;
                long messages = 0;
                long lost = 0;
                long measureNs = 0;
                boolean running = false;
                while (true)
                {
                    final int phase = control.next();
                    final long nowNs = System.nanoTime();
                    if (ClientControl.PHASE_GO == phase)
                    {
                        running = true;
                        endpoint.send(++sequence, size, destination);
                        sentNs = nowNs;
                    }
                    else if (ClientControl.PHASE_MEASURE == phase)
                    {
                        messages = 0;
                        lost = 0;
                        measureNs = nowNs;
                    }
                    else if (ClientControl.PHASE_STOP == phase)
                    {
                        out.println(LoadGenerator.RESULT + " " + messages + " " + (nowNs - measureNs) + " " + lost);
                        out.flush();
                        return 0;
                    }
                    if (!running)
                    {
                        Thread.onSpinWait();
                        continue;
                    }
                    int work = endpoint.poll();
                    if (endpoint.completeSequence() == sequence && !endpoint.sending())
                    {
                        messages++;
                        endpoint.send(++sequence, size, destination);
                        sentNs = nowNs;
                    }
                    else if (nowNs - sentNs > LOSS_TIMEOUT_NS)
                    {
                        lost++;
                        endpoint.send(++sequence, size, destination);
                        sentNs = nowNs;
                    }
                    if (endpoint.sending())
                    {
                        work += endpoint.pump();
                    }
                    if (0 == work)
                    {
                        Thread.yield();
                    }
                }
            }
        }
    }
}
