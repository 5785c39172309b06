package dev.homa.nic.capture;

import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.BIG_ENDIAN;

/**
 * Homa packets written byte by byte at the kernel's offsets (protocol.md section 2), independently of the wire
 * flyweights in homa-core, so that the dissector is checked against the specification rather than against our
 * own encoder.
 */
final class HomaBytes
{
    static final int DATA = 0x10;
    static final int GRANT = 0x11;
    static final int RESEND = 0x12;
    static final int RPC_UNKNOWN = 0x13;
    static final int BUSY = 0x14;
    static final int CUTOFFS = 0x15;
    static final int FREEZE = 0x16;
    static final int NEED_ACK = 0x17;
    static final int ACK = 0x18;

    private HomaBytes()
    {
    }

    static int common(
        final MutableDirectBuffer buffer, final int type, final int sport, final int dport, final long senderId)
    {
        buffer.setMemory(0, 28, (byte)0);
        buffer.putShort(0, (short)sport, BIG_ENDIAN);
        buffer.putShort(2, (short)dport, BIG_ENDIAN);
        buffer.putByte(11, (byte)type);
        buffer.putByte(12, (byte)((DATA == type ? 14 : 5) << 4));
        buffer.putLong(20, senderId, BIG_ENDIAN);
        return 28;
    }

    static int data(
        final MutableDirectBuffer buffer,
        final int sport,
        final int dport,
        final long senderId,
        final int messageLength,
        final int incoming,
        final long ackClientId,
        final int ackServerPort,
        final int cutoffVersion,
        final boolean retransmit,
        final int segOffset,
        final int payloadLength)
    {
        common(buffer, DATA, sport, dport, senderId);
        buffer.putInt(4, segOffset, BIG_ENDIAN);
        buffer.putInt(28, messageLength, BIG_ENDIAN);
        buffer.putInt(32, incoming, BIG_ENDIAN);
        buffer.putLong(36, ackClientId, BIG_ENDIAN);
        buffer.putShort(44, (short)ackServerPort, BIG_ENDIAN);
        buffer.putShort(46, (short)cutoffVersion, BIG_ENDIAN);
        buffer.putByte(48, (byte)(retransmit ? 1 : 0));
        buffer.setMemory(49, 3, (byte)0);
        buffer.putInt(52, segOffset, BIG_ENDIAN);
        for (int i = 0; i < payloadLength; i++)
        {
            buffer.putByte(56 + i, (byte)(segOffset + i));
        }
        return 56 + payloadLength;
    }

    static int grant(
        final MutableDirectBuffer buffer,
        final int sport,
        final int dport,
        final long senderId,
        final int offset,
        final int priority)
    {
        common(buffer, GRANT, sport, dport, senderId);
        buffer.putInt(28, offset, BIG_ENDIAN);
        buffer.putByte(32, (byte)priority);
        return 33;
    }

    static int resend(
        final MutableDirectBuffer buffer,
        final int sport,
        final int dport,
        final long senderId,
        final int offset,
        final int length,
        final int priority)
    {
        common(buffer, RESEND, sport, dport, senderId);
        buffer.putInt(28, offset, BIG_ENDIAN);
        buffer.putInt(32, length, BIG_ENDIAN);
        buffer.putByte(36, (byte)priority);
        return 37;
    }

    static int cutoffs(
        final MutableDirectBuffer buffer,
        final int sport,
        final int dport,
        final long senderId,
        final int[] cutoffs,
        final int version)
    {
        common(buffer, CUTOFFS, sport, dport, senderId);
        for (int i = 0; i < 8; i++)
        {
            buffer.putInt(28 + 4 * i, cutoffs[i], BIG_ENDIAN);
        }
        buffer.putShort(60, (short)version, BIG_ENDIAN);
        return 62;
    }

    static int ack(
        final MutableDirectBuffer buffer,
        final int sport,
        final int dport,
        final long senderId,
        final long[] clientIds,
        final int[] serverPorts)
    {
        common(buffer, ACK, sport, dport, senderId);
        buffer.setMemory(28, 52, (byte)0);
        buffer.putShort(28, (short)clientIds.length, BIG_ENDIAN);
        for (int i = 0; i < clientIds.length; i++)
        {
            buffer.putLong(30 + 10 * i, clientIds[i], BIG_ENDIAN);
            buffer.putShort(38 + 10 * i, (short)serverPorts[i], BIG_ENDIAN);
        }
        return 80;
    }
}
