package dev.homa.bench.load;

import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The raw driver's bare frame-rate ceiling on a path: one process sends full-size frames through
 * {@code raw://IF} as fast as the driver takes them, another receives them through its own raw driver and counts
 * them, with no protocol in between. Homa over {@code raw://} is held against this figure: an echo moves data one
 * way at a time, so its goodput can at best reach the one-way ceiling.
 */
final class RawCeiling
{
    private static final long START_NS = 60_000_000_000L;
    private static final int BURST = 64;

    private RawCeiling()
    {
    }

    /**
     * @param hosts           veth hosts.
     * @param warmupSeconds   warm-up.
     * @param durationSeconds measured window.
     * @return received payload bits per second in Gb/s.
     */
    static double measure(final Hosts hosts, final double warmupSeconds, final double durationSeconds)
    {
        try (ChildProcess sink = ChildProcess.start("raw-sink", hosts.serverNamespace, List.of(),
            List.of("raw-sink", "--uri", "raw://" + hosts.serverInterface));
            ChildProcess blaster = ChildProcess.start("raw-blast", hosts.clientNamespace, List.of(),
                List.of("raw-blast", "--uri", "raw://" + hosts.clientInterface, "--to", hosts.serverIp)))
        {
            sink.awaitLine(LoadGenerator.READY, START_NS);
            blaster.awaitLine(LoadGenerator.READY, START_NS);
            sink.send(ClientControl.GO);
            blaster.send(ClientControl.GO);
            sleep(warmupSeconds);
            sink.send(ClientControl.MEASURE);
            sleep(durationSeconds);
            sink.send(ClientControl.STOP);
            blaster.send(ClientControl.STOP);
            final String line = sink.awaitLine(LoadGenerator.RESULT, START_NS);
            final String[] fields = line.split(" ");
            final long bytes = Long.parseLong(fields[1]);
            final long windowNs = Long.parseLong(fields[2]);
            return bytes * 8.0 / windowNs;
        }
    }

    private static void sleep(final double seconds)
    {
        try
        {
            Thread.sleep((long)(seconds * 1000));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", ex);
        }
    }

    /**
     * Receives and counts frames' Homa bytes between {@code MEASURE} and {@code STOP}; prints
     * {@code RESULT <bytes> <windowNs>}.
     */
    @Command(name = "raw-sink", description = "Count frames received through a raw driver (started by 'run').")
    static final class Sink implements Callable<Integer>
    {
        @Option(names = "--uri", required = true)
        String uri;

        private long bytes;

        @Override
        public Integer call()
        {
            final PrintStream out = System.out;
            final ClientControl control = new ClientControl();
            try (NicDriver driver = NicDrivers.open(uri))
            {
                final NicDriver d = driver;
                final PacketSink sink = new PacketSink()
                {
                    @Override
                    public void onPacket(final Packet packet)
                    {
                        bytes += packet.length();
                        d.release(packet);
                    }

                    @Override
                    public boolean needsTimestamps()
                    {
                        return false;
                    }

                    @Override
                    public boolean releasesBeforeReturn()
                    {
                        return true;
                    }
                };
                out.println(LoadGenerator.READY + " 0");
                out.flush();
                control.listen(System.in);
                long startNs = 0;
                while (true)
                {
                    final int phase = control.next();
                    if (ClientControl.PHASE_MEASURE == phase)
                    {
                        bytes = 0;
                        startNs = System.nanoTime();
                    }
                    else if (ClientControl.PHASE_STOP == phase)
                    {
                        out.println(LoadGenerator.RESULT + " " + bytes + " " + (System.nanoTime() - startNs));
                        out.flush();
                        return 0;
                    }
                    driver.poll(sink, BURST);
                }
            }
        }
    }

    /**
     * Sends full-size frames to one address as fast as the driver takes them, from {@code GO} to {@code STOP}.
     */
    @Command(name = "raw-blast", description = "Send frames through a raw driver (started by 'run').")
    static final class Blaster implements Callable<Integer>
    {
        @Option(names = "--uri", required = true)
        String uri;

        @Option(names = "--to", required = true)
        String to;

        @Override
        public Integer call()
        {
            final ClientControl control = new ClientControl();
            final long destination = HostAddress.parseIpv4(to);
            try (NicDriver driver = NicDrivers.open(uri))
            {
                final int length = driver.maxPacketLength();
                final Packet[] burst = new Packet[BURST];
                System.out.println(LoadGenerator.READY);
                System.out.flush();
                control.listen(System.in);
                boolean sending = false;
                while (true)
                {
                    final int phase = control.next();
                    if (ClientControl.PHASE_GO == phase)
                    {
                        sending = true;
                    }
                    else if (ClientControl.PHASE_STOP == phase)
                    {
                        return 0;
                    }
                    if (!sending)
                    {
                        Thread.onSpinWait();
                        continue;
                    }
                    int count = 0;
                    for (; count < BURST; count++)
                    {
                        final Packet packet = driver.acquire();
                        if (null == packet)
                        {
                            break;
                        }
                        packet.length(length);
                        burst[count] = packet;
                        if (!driver.send(packet, destination, 0))
                        {
                            driver.release(packet);
                            break;
                        }
                    }
                    driver.flush();
                    for (int i = 0; i < count; i++)
                    {
                        driver.release(burst[i]);
                        burst[i] = null;
                    }
                }
            }
        }
    }
}
