package dev.homa.bench.load;

import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.TcpHijack;
import org.agrona.MutableDirectBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * The raw driver's bare ceiling on a path: one process sends full-size packets through {@code raw://IF}, another
 * receives them through its own raw driver and counts them. The only protocol in between is the least any reliable
 * transport needs: the receiver acknowledges every {@value #ACK_EVERY} packets' worth of bytes and the sender keeps
 * at most {@value #WINDOW} packets unacknowledged, so the figure is what the path delivers rather than what it drops
 * (a window unacknowledged for 50 ms is written off as lost). The packets are shaped as one endless message's DATA,
 * so that with segmentation offload the driver sends them as offload frames, as it does Homa's; with
 * {@code tso=false} each is a frame of its own, the frame-rate ceiling. Either way the bytes counted are the Homa
 * bytes the wire carries, a header per packet. Both sides
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
    // The DATA header the packets carry (a kernel's struct homa_data_hdr): sequence, type, doff, the hijacking
    // marks, seg.offset -1.
    private static final int DATA_HEADER_LENGTH = 56;
    private static final int SEQUENCE_OFFSET = 4;
    private static final int SEGMENT_OFFSET_OFFSET = 52;
    /** A window without acknowledgement this long is taken as lost and written off. */
    private static final long LOSS_TIMEOUT_NS = 50_000_000L;

    private RawCeiling()
    {
    }

    /**
     * @param hosts           veth hosts.
     * @param warmupSeconds   warm-up.
     * @param durationSeconds measured window.
     * @param offload         runs of packets as segmentation-offload frames (the driver's default); false for one
     *                        frame per packet.
     * @return received Homa bits per second in Gb/s.
     */
    static double measure(
        final Hosts hosts, final double warmupSeconds, final double durationSeconds, final boolean offload)
    {
        final String options = offload ? "" : "?tso=false";
        try (ChildProcess sink = ChildProcess.start("raw-sink", hosts.serverNamespace, List.of(),
            List.of("raw-sink", "--uri", "raw://" + hosts.serverInterface + options, "--to", hosts.clientIp));
            ChildProcess blaster = ChildProcess.start("raw-blast", hosts.clientNamespace, List.of(),
                List.of("raw-blast", "--uri", "raw://" + hosts.clientInterface + options, "--to", hosts.serverIp)))
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
     * Receives and counts packets' Homa bytes between {@code MEASURE} and {@code STOP} (an offload frame as the
     * packets it carries, a header each), acknowledging every {@value #ACK_EVERY} packets' worth with the total
     * received so far; prints {@code RESULT <bytes> <windowNs>}.
     */
    @Command(name = "raw-sink", description = "Count frames received through a raw driver (started by 'run').")
    static final class Sink implements Callable<Integer>
    {
        @Option(names = "--uri", required = true)
        String uri;

        @Option(names = "--to", required = true, description = "Address acknowledgements go to.")
        String to;

        private long bytes;
        private long total;

        @Override
        public Integer call()
        {
            final PrintStream out = System.out;
            final ClientControl control = new ClientControl();
            try (NicDriver driver = NicDrivers.open(uri))
            {
                final NicDriver d = driver;
                final int segment = driver.maxPacketLength() - DATA_HEADER_LENGTH;
                final long ackEvery = (long)ACK_EVERY * driver.maxPacketLength();
                final PacketSink sink = new InPlaceSink()
                {
                    @Override
                    public void onPacket(final Packet packet)
                    {
                        final int length = packet.length();
                        final int packets = Math.max(1, (length - DATA_HEADER_LENGTH + segment - 1) / segment);
                        final long wire = length + (long)(packets - 1) * DATA_HEADER_LENGTH;
                        bytes += wire;
                        total += wire;
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
                    if (total - acked >= ackEvery && acknowledge(driver, destination, total))
                    {
                        acked = total;
                    }
                }
            }
        }

        private static boolean acknowledge(final NicDriver driver, final long destination, final long received)
        {
            final Packet ack = driver.acquire();
            if (null == ack)
            {
                return false;
            }
            ack.length(ACK_LENGTH);
            ack.buffer().putLong(COUNT_OFFSET, received);
            final boolean sent = driver.send(ack, destination, 0);
            driver.flush();
            driver.release(ack);
            return sent;
        }
    }

    /**
     * Sends full-size packets of one endless message to one address from {@code GO} to {@code STOP}, never more than
     * {@value #WINDOW} packets' bytes beyond the sink's last acknowledgement.
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
                final long window = (long)WINDOW * length;
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
                    final int allowed = (int)Math.min(BURST, (window - (sent - acked[0])) / length);
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
                        writeDataHeader(packet.buffer(), (int)(sent / length + count) * (length - DATA_HEADER_LENGTH));
                        burst[count] = packet;
                        if (!driver.send(packet, destination, 0))
                        {
                            driver.release(packet);
                            break;
                        }
                    }
                    driver.flush();
                    sent += (long)count * length;
                    for (int i = 0; i < count; i++)
                    {
                        driver.release(burst[i]);
                        burst[i] = null;
                    }
                }
            }
        }
    }

    /**
     * The header of a first transmission of DATA at {@code offset}, with the hijacking marks a kernel writes.
     */
    private static void writeDataHeader(final MutableDirectBuffer buffer, final int offset)
    {
        buffer.setMemory(0, DATA_HEADER_LENGTH, (byte)0);
        buffer.putInt(SEQUENCE_OFFSET, offset, BIG_ENDIAN);
        buffer.putByte(11, (byte)0x10);
        buffer.putByte(12, (byte)((DATA_HEADER_LENGTH / 4) << 4));
        buffer.putByte(TcpHijack.FLAGS_OFFSET, (byte)TcpHijack.FLAGS);
        buffer.putShort(TcpHijack.URGENT_OFFSET, (short)TcpHijack.URGENT, BIG_ENDIAN);
        buffer.putInt(SEGMENT_OFFSET_OFFSET, -1, BIG_ENDIAN);
    }
}
