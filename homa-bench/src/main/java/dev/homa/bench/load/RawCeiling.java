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
 * {@code raw://IF}, another receives them through its own raw driver and counts them. The only protocol in between
 * is the least any reliable transport needs: the receiver acknowledges every {@value #ACK_EVERY} frames and the
 * sender keeps at most {@value #WINDOW} frames unacknowledged, half the receive ring, so the figure is what the
 * path delivers rather than what it drops (a window unacknowledged for 50 ms is written off as lost). Both sides
 * yield the processor when they have nothing to do, as Homa's idle strategy does, so that the softirq work which
 * moves frames between them can run. Homa over {@code raw://} is held against this figure: an echo moves data one
 * way at a time, so its goodput can at best reach the one-way ceiling.
 */
final class RawCeiling
{
    private static final long START_NS = 60_000_000_000L;
    private static final int BURST = 64;
    static final int WINDOW = 256;
    static final int ACK_EVERY = 32;
    private static final int ACK_LENGTH = 64;
    private static final int COUNT_OFFSET = 32;
    /** A window without acknowledgement this long is taken as lost and written off. */
    private static final long LOSS_TIMEOUT_NS = 50_000_000L;

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
            List.of("raw-sink", "--uri", "raw://" + hosts.serverInterface, "--to", hosts.clientIp));
            ChildProcess blaster = ChildProcess.start("raw-blast", hosts.clientNamespace, List.of(),
                List.of("raw-blast", "--uri", "raw://" + hosts.clientInterface, "--to", hosts.serverIp)))
        {
            sink.awaitLine(LoadGenerator.READY, START_NS);
            blaster.awaitLine(LoadGenerator.READY, START_NS);
            sink.send(ClientControl.GO);
            blaster.send(ClientControl.GO);
            Trial.sleep(warmupSeconds);
            sink.send(ClientControl.MEASURE);
            Trial.sleep(durationSeconds);
            sink.send(ClientControl.STOP);
            blaster.send(ClientControl.STOP);
            final String line = sink.awaitLine(LoadGenerator.RESULT, START_NS);
            final String[] fields = line.split(" ");
            final long bytes = Long.parseLong(fields[1]);
            final long windowNs = Long.parseLong(fields[2]);
            return bytes * 8.0 / windowNs;
        }
    }

    /**
     * Receives and counts frames' Homa bytes between {@code MEASURE} and {@code STOP}, acknowledging every
     * {@value #ACK_EVERY} frames with the total received so far; prints {@code RESULT <bytes> <windowNs>}.
     */
    @Command(name = "raw-sink", description = "Count frames received through a raw driver (started by 'run').")
    static final class Sink implements Callable<Integer>
    {
        @Option(names = "--uri", required = true)
        String uri;

        @Option(names = "--to", required = true, description = "Address acknowledgements go to.")
        String to;

        private long bytes;
        private long frames;

        @Override
        public Integer call()
        {
            final PrintStream out = System.out;
            final ClientControl control = new ClientControl();
            try (NicDriver driver = NicDrivers.open(uri))
            {
                final NicDriver d = driver;
                final PacketSink sink = new InPlaceSink()
                {
                    @Override
                    public void onPacket(final Packet packet)
                    {
                        bytes += packet.length();
                        frames++;
                        d.release(packet);
                    }
                };
                final long destination = HostAddress.parseIpv4(to);
                out.println(LoadGenerator.READY + " 0");
                out.flush();
                control.listen(System.in);
                long startNs = 0;
                long acked = 0;
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
                    if (0 == driver.poll(sink, BURST))
                    {
                        Thread.yield();
                    }
                    if (frames - acked >= ACK_EVERY && acknowledge(driver, destination, frames))
                    {
                        acked = frames;
                    }
                }
            }
        }

        private static boolean acknowledge(final NicDriver driver, final long destination, final long frames)
        {
            final Packet ack = driver.acquire();
            if (null == ack)
            {
                return false;
            }
            ack.length(ACK_LENGTH);
            ack.buffer().putLong(COUNT_OFFSET, frames);
            final boolean sent = driver.send(ack, destination, 0);
            driver.flush();
            driver.release(ack);
            return sent;
        }
    }

    /**
     * Sends full-size frames to one address from {@code GO} to {@code STOP}, never more than {@value #WINDOW} beyond
     * the sink's last acknowledgement.
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
                final long[] acked = new long[1];
                final NicDriver d = driver;
                final PacketSink acks = new InPlaceSink()
                {
                    @Override
                    public void onPacket(final Packet packet)
                    {
                        if (packet.length() == ACK_LENGTH)
                        {
                            acked[0] = Math.max(acked[0], packet.buffer().getLong(COUNT_OFFSET));
                        }
                        d.release(packet);
                    }
                };
                long sent = 0;
                long lastAckNs = System.nanoTime();
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
                    final long before = acked[0];
                    driver.poll(acks, BURST);
                    final long nowNs = System.nanoTime();
                    if (acked[0] != before)
                    {
                        lastAckNs = nowNs;
                    }
                    else if (nowNs - lastAckNs > LOSS_TIMEOUT_NS)
                    {
                        sent = acked[0];
                        lastAckNs = nowNs;
                    }
                    final int allowed = (int)Math.min(BURST, WINDOW - (sent - acked[0]));
                    if (allowed <= 0)
                    {
                        Thread.yield();
                        continue;
                    }
                    int count = 0;
                    for (; count < allowed; count++)
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
                    sent += count;
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
