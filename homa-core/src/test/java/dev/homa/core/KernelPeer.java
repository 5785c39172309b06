package dev.homa.core;

import dev.homa.nic.Packet;
import dev.homa.nic.loopback.FabricDriver;
import dev.homa.nic.loopback.Steppable;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Test support: a fabric host that writes and reads Homa packets as the current kernel module lays them out
 * (HomaModule homa_wire.h), from this class's own byte offsets and never through the project's flyweights, so that
 * a test checks the engine against the kernel's layout rather than against itself. Headers carry what a current
 * kernel sends: doff 14 words on DATA and 5 on the rest, flags 6 and urgent 0xb97d (homa_hijack_set_hdr), a DATA
 * offset in {@code sequence} with seg.offset 0xffffffff (a retransmission has it in both). Added to a simulation, it
 * takes what arrives as it arrives.
 */
final class KernelPeer implements Steppable
{
    static final int DATA = 0x10;
    static final int GRANT = 0x11;
    static final int RESEND = 0x12;
    static final int RPC_UNKNOWN = 0x13;
    static final int BUSY = 0x14;
    static final int CUTOFFS = 0x15;
    static final int NEED_ACK = 0x17;
    static final int ACK = 0x18;

    static final int DATA_HEADER = 56;
    static final int HIJACK_FLAGS = 6;
    static final int HIJACK_URGENT = 0xb97d;

    final FabricDriver driver;
    final long address;
    final List<Received> received = new ArrayList<>();
    /** Called with every packet as it arrives, to script the peer's answers. */
    Consumer<Received> responder = r -> {};

    KernelPeer(final FabricDriver driver)
    {
        this.driver = driver;
        this.address = driver.localAddress();
    }

    /**
     * One packet the peer received, copied out of the driver.
     *
     * @param bytes    the Homa packet.
     * @param source   sending host.
     * @param priority level it travelled at.
     */
    record Received(byte[] bytes, long source, int priority)
    {
        ByteBuffer view()
        {
            return ByteBuffer.wrap(bytes).order(BIG_ENDIAN);
        }

        int type()
        {
            return bytes[11] & 0xFF;
        }

        int sourcePort()
        {
            return view().getShort(0) & 0xFFFF;
        }

        int destinationPort()
        {
            return view().getShort(2) & 0xFFFF;
        }

        long senderId()
        {
            return view().getLong(20);
        }

        int u8(final int offset)
        {
            return bytes[offset] & 0xFF;
        }

        int u16(final int offset)
        {
            return view().getShort(offset) & 0xFFFF;
        }

        int u32(final int offset)
        {
            return view().getInt(offset);
        }

        long u64(final int offset)
        {
            return view().getLong(offset);
        }

        /** DATA: where the payload goes, read as homa_gro_receive does (seg.offset -1 means "in sequence"). */
        int dataOffset()
        {
            final int seg = u32(52);
            return -1 == seg ? u32(4) : seg;
        }

        int messageLength()
        {
            return u32(28);
        }

        int payloadLength()
        {
            return bytes.length - DATA_HEADER;
        }

        /** GRANT offset, RESEND offset. */
        int offset()
        {
            return u32(28);
        }

        /** GRANT: byte 32; RESEND: byte 36. */
        int priorityField()
        {
            return GRANT == type() ? u8(32) : u8(36);
        }

        int resendLength()
        {
            return u32(32);
        }

        @Override
        public String toString()
        {
            return "type 0x" + Integer.toHexString(type()) + " id " + senderId() + " len " + bytes.length +
                " prio " + priority;
        }
    }

    /**
     * A packet with the common header filled in as a kernel does, the rest zero.
     */
    static ByteBuffer packet(
        final int type, final int length, final int sourcePort, final int destinationPort, final long senderId)
    {
        final ByteBuffer b = ByteBuffer.allocate(length).order(BIG_ENDIAN);
        b.putShort(0, (short)sourcePort);
        b.putShort(2, (short)destinationPort);
        b.put(11, (byte)type);
        b.put(12, (byte)((DATA == type ? DATA_HEADER / 4 : 5) << 4));
        b.put(13, (byte)HIJACK_FLAGS);
        b.putShort(18, (short)HIJACK_URGENT);
        b.putLong(20, senderId);
        return b;
    }

    /**
     * DATA as homa_tx_data_pkt_alloc writes it for a single-segment packet (or homa_resend_data for a
     * retransmission), payload bytes {@code (offset + i) * 7}.
     */
    static ByteBuffer data(
        final int sourcePort, final int destinationPort, final long senderId, final int messageLength,
        final int incoming, final int offset, final int payload, final long ackId, final int ackServerPort,
        final int cutoffVersion, final boolean retransmit)
    {
        final ByteBuffer b = packet(DATA, DATA_HEADER + payload, sourcePort, destinationPort, senderId);
        b.putInt(4, offset);
        b.putInt(28, messageLength);
        b.putInt(32, incoming);
        b.putLong(36, ackId);
        b.putShort(44, (short)ackServerPort);
        b.putShort(46, (short)cutoffVersion);
        b.put(48, (byte)(retransmit ? 1 : 0));
        b.putInt(52, retransmit ? offset : -1);
        for (int i = 0; i < payload; i++)
        {
            b.put(DATA_HEADER + i, payloadByte(offset + i));
        }
        return b;
    }

    /**
     * The checksum a kernel's packet carries (homa_hijack_set_hdr seeds tcp_v4_check, the offload completes it):
     * RFC 1071 over a pseudo-header with protocol 6 and the Homa length, then the packet with bytes 16-17 as 0.
     */
    static int kernelChecksum(final byte[] packet, final int srcIp, final int dstIp)
    {
        long sum = (srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + 6 + packet.length;
        for (int i = 0; i < packet.length; i += 2)
        {
            if (16 != i)
            {
                sum += ((packet[i] & 0xFF) << 8) | (i + 1 < packet.length ? packet[i + 1] & 0xFF : 0);
            }
        }
        while (0 != (sum >>> 16))
        {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        final int checksum = (int)(~sum & 0xFFFF);
        return 0 == checksum ? 0xFFFF : checksum;
    }

    static byte payloadByte(final int messageOffset)
    {
        return (byte)(messageOffset * 7);
    }

    static ByteBuffer grant(
        final int sourcePort, final int destinationPort, final long senderId, final int offset, final int priority)
    {
        final ByteBuffer b = packet(GRANT, 33, sourcePort, destinationPort, senderId);
        b.putInt(28, offset);
        b.put(32, (byte)priority);
        return b;
    }

    static ByteBuffer resend(
        final int sourcePort, final int destinationPort, final long senderId, final int offset, final int length,
        final int priority)
    {
        final ByteBuffer b = packet(RESEND, 37, sourcePort, destinationPort, senderId);
        b.putInt(28, offset);
        b.putInt(32, length);
        b.put(36, (byte)priority);
        return b;
    }

    static ByteBuffer cutoffs(
        final int sourcePort, final int destinationPort, final long senderId, final int[] cutoffs, final int version)
    {
        final ByteBuffer b = packet(CUTOFFS, 62, sourcePort, destinationPort, senderId);
        for (int i = 0; i < 8; i++)
        {
            b.putInt(28 + 4 * i, cutoffs[i]);
        }
        b.putShort(60, (short)version);
        return b;
    }

    /**
     * ACK: {@code acks} holds (client id, server port) pairs.
     */
    static ByteBuffer ack(final int sourcePort, final int destinationPort, final long senderId, final long... acks)
    {
        final ByteBuffer b = packet(ACK, 80, sourcePort, destinationPort, senderId);
        b.putShort(28, (short)(acks.length / 2));
        for (int i = 0; i < acks.length / 2; i++)
        {
            b.putLong(30 + 10 * i, acks[2 * i]);
            b.putShort(38 + 10 * i, (short)acks[2 * i + 1]);
        }
        return b;
    }

    static ByteBuffer control(final int type, final int sourcePort, final int destinationPort, final long senderId)
    {
        return packet(type, 28, sourcePort, destinationPort, senderId);
    }

    /**
     * Put the bytes on the fabric (control packets go at the highest level, as the kernel sends them).
     */
    void send(final ByteBuffer bytes, final long destination)
    {
        send(bytes, destination, DATA == (bytes.get(11) & 0xFF) ? 4 : 7);
    }

    void send(final ByteBuffer bytes, final long destination, final int priority)
    {
        final Packet packet = driver.acquire();
        final byte[] array = bytes.array();
        packet.buffer().putBytes(0, array, 0, array.length);
        packet.length(array.length);
        driver.send(packet, destination, priority);
        driver.flush();
        driver.release(packet);
    }

    @Override
    public int doWork()
    {
        return poll();
    }

    /**
     * Copy everything waiting in the driver into {@link #received}.
     *
     * @return packets taken.
     */
    int poll()
    {
        return driver.poll(packet ->
        {
            final byte[] bytes = new byte[packet.length()];
            packet.buffer().getBytes(0, bytes);
            final Received r = new Received(bytes, packet.source(), packet.priority());
            driver.release(packet);
            received.add(r);
            responder.accept(r);
        }, Integer.MAX_VALUE);
    }

    /**
     * @return the received packets of a type, in arrival order (polls first).
     */
    List<Received> ofType(final int type)
    {
        return matching(r -> r.type() == type);
    }

    List<Received> matching(final Predicate<Received> filter)
    {
        poll();
        final List<Received> out = new ArrayList<>();
        for (final Received r : received)
        {
            if (filter.test(r))
            {
                out.add(r);
            }
        }
        return out;
    }

    void clear()
    {
        poll();
        received.clear();
    }
}
