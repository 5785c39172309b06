package dev.homa.nic.frame;

import dev.homa.nic.loopback.Seeds;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.SplittableRandom;

import static java.nio.ByteOrder.BIG_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The common header's checksum against a plain RFC 1071 sum over 16-bit words of a TCP pseudo-header and the packet,
 * written here from the definition: every length from a bare header to a full packet, odd ones included, at odd
 * buffer offsets, whatever the field held before.
 */
class HomaChecksumTest
{
    @Test
    @Timeout(10)
    void matchesTheTcpStyleChecksumOverAPseudoHeader()
    {
        final long seed = Seeds.resolve("HomaChecksumTest");
        final SplittableRandom random = new SplittableRandom(seed);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1600]);
        for (int length = 18; length <= 1500; length += 1 + random.nextInt(7))
        {
            final int offset = random.nextInt(64);
            final byte[] packet = new byte[length];
            for (int i = 0; i < length; i++)
            {
                packet[i] = (byte)random.nextInt();
            }
            final int srcIp = random.nextInt();
            final int dstIp = random.nextInt();
            buffer.putBytes(offset, packet);
            final int expected = reference(packet, srcIp, dstIp);
            assertEquals(expected, HomaChecksum.compute(buffer, offset, length, srcIp, dstIp), "length " + length);
            HomaChecksum.write(buffer, offset, length, srcIp, dstIp);
            assertTrue(HomaChecksum.isValid(buffer, offset, length, srcIp, dstIp));
            assertEquals(expected, HomaChecksum.compute(buffer, offset, length, srcIp, dstIp), "field ignored");
            assertFalse(HomaChecksum.isValid(buffer, offset, length, srcIp, dstIp ^ 1), "the destination counts");
        }
    }

    @Test
    @Timeout(10)
    void aKnownPacket()
    {
        // A 28-byte BUSY from 10.0.0.1:32768 to 10.0.0.2:99, id 2, flags 6, urgent 0xb97d, worked by hand:
        // pseudo-header 0x0a00+0x0001+0x0a00+0x0002+0x0006+0x001c = 0x1425; header words 0x8000+0x0063+0x0014
        // +0x5006+0xb97d+0x0002 = 0x1_89fc -> 0x89fd; 0x1425 + 0x89fd = 0x9e22; checksum ~0x9e22 = 0x61dd.
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[28]);
        buffer.putShort(0, (short)32768, BIG_ENDIAN);
        buffer.putShort(2, (short)99, BIG_ENDIAN);
        buffer.putByte(11, (byte)0x14);
        buffer.putByte(12, (byte)0x50);
        buffer.putByte(13, (byte)6);
        buffer.putShort(18, (short)0xb97d, BIG_ENDIAN);
        buffer.putLong(20, 2, BIG_ENDIAN);
        assertEquals(0x61dd, HomaChecksum.compute(buffer, 0, 28, 0x0a000001, 0x0a000002));
    }

    @Test
    @Timeout(10)
    void theSeedIsWhatANicCompletesIntoTheChecksum()
    {
        final long seed = Seeds.resolve("HomaChecksumTest.seed");
        final SplittableRandom random = new SplittableRandom(seed);
        for (int length = 18; length <= 9000; length += 1 + random.nextInt(97))
        {
            final byte[] packet = new byte[length];
            for (int i = 0; i < length; i++)
            {
                packet[i] = (byte)random.nextInt();
            }
            final int srcIp = random.nextInt();
            final int dstIp = random.nextInt();
            final int expected = reference(packet, srcIp, dstIp);
            final UnsafeBuffer buffer = new UnsafeBuffer(packet);
            buffer.putShort(HomaChecksum.CHECKSUM_OFFSET, (short)HomaChecksum.seed(length, srcIp, dstIp), BIG_ENDIAN);
            assertEquals(expected, nicCompletion(packet), "length " + length);
        }
    }

    /**
     * What a NIC (or skb_checksum_help) does with CHECKSUM_PARTIAL: sum every byte from csum_start, the field
     * included as it stands, and store the complement of the folded sum.
     */
    private static int nicCompletion(final byte[] packet)
    {
        return complement(0, packet, -1);
    }

    private static int reference(final byte[] packet, final int srcIp, final int dstIp)
    {
        final long pseudoHeader =
            (srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + 6 + packet.length;
        return complement(pseudoHeader, packet, 16);
    }

    /**
     * RFC 1071 over 16-bit big-endian words: the complement of the folded sum of {@code start} and the packet's
     * words, the one at {@code skip} (if any) left out; a 0 result goes out as 0xFFFF.
     */
    private static int complement(final long start, final byte[] packet, final int skip)
    {
        long sum = start;
        for (int i = 0; i < packet.length; i += 2)
        {
            if (skip == i)
            {
                continue;
            }
            final int high = packet[i] & 0xFF;
            final int low = i + 1 < packet.length ? packet[i + 1] & 0xFF : 0;
            sum += (high << 8) | low;
        }
        while (0 != (sum >>> 16))
        {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        final int checksum = (int)(~sum & 0xFFFF);
        return 0 == checksum ? 0xFFFF : checksum;
    }
}
