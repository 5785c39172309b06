package dev.homa.nic.frame;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.HexFormat;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class Ipv4FlyweightTest
{
    private static final int SOURCE = (198 << 24) | (18 << 16) | 1;
    private static final int DESTINATION = (198 << 24) | (19 << 16) | (255 << 8) | 254;

    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[128]);
    private final Ipv4Flyweight ip = new Ipv4Flyweight();

    @Test
    void roundTripsEveryField()
    {
        ip.wrap(buffer, 18)
            .versionAndIhl(4, 5)
            .tos(0xA3)
            .totalLength(1500)
            .identification(0xBEEF)
            .flagsAndFragmentOffset(Ipv4Flyweight.FLAG_DONT_FRAGMENT)
            .ttl(64)
            .protocol(Ipv4Flyweight.PROTOCOL_HOMA)
            .sourceAddress(SOURCE)
            .destinationAddress(DESTINATION)
            .updateChecksum();

        final Ipv4Flyweight reader = new Ipv4Flyweight().wrap(buffer, 18);
        assertEquals(4, reader.version());
        assertEquals(5, reader.ihl());
        assertEquals(20, reader.headerLength());
        assertEquals(0xA3, reader.tos());
        assertEquals(0xA3 >>> 2, reader.dscp());
        assertEquals(3, reader.ecn());
        assertEquals(1500, reader.totalLength());
        assertEquals(0xBEEF, reader.identification());
        assertTrue(reader.dontFragment());
        assertFalse(reader.moreFragments());
        assertEquals(0, reader.fragmentOffset());
        assertEquals(64, reader.ttl());
        assertEquals(146, reader.protocol());
        assertEquals(146, Ipv4Flyweight.protocolOf(buffer, 18));
        assertEquals(SOURCE, reader.sourceAddress());
        assertEquals(DESTINATION, reader.destinationAddress());
        assertTrue(reader.isChecksumValid());
    }

    @Test
    void fragmentFieldsDecode()
    {
        ip.wrap(buffer, 0).flagsAndFragmentOffset(Ipv4Flyweight.FLAG_MORE_FRAGMENTS | 185);

        assertFalse(ip.dontFragment());
        assertTrue(ip.moreFragments());
        assertEquals(185, ip.fragmentOffset());
    }

    @Test
    void checksumMatchesAKnownHeader()
    {
        // A real UDP packet's header (RFC 1071 arithmetic worked by hand in many references): checksum 0xb861.
        final byte[] header = HexFormat.of().parseHex("450000730000400040110000c0a80001c0a800c7");
        buffer.putBytes(0, header);
        ip.wrap(buffer, 0);

        assertFalse(ip.isChecksumValid(), "a zero checksum field is not valid");
        assertEquals(0xB861, Ipv4Flyweight.checksum(buffer, 0, 20));
        ip.updateChecksum();
        assertEquals(0xB861, ip.headerChecksum());
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void checksumHandlesOddLengthsAndCarries()
    {
        buffer.putBytes(0, new byte[]{ (byte)0xFF, (byte)0xFF, (byte)0xFF, (byte)0xFF, (byte)0x12 });
        // 0xFFFF + 0xFFFF + 0x1200 = 0x211FE -> end-around carry 0x11FE + 2 = 0x1200 -> complement 0xEDFF.
        assertEquals(0xEDFF, Ipv4Flyweight.checksum(buffer, 0, 5));
        assertEquals(0xFFFF, Ipv4Flyweight.checksum(buffer, 100, 0));
    }

    @Test
    void everySingleBitCorruptionIsDetected()
    {
        writeValidHeader();
        for (int bit = 0; bit < 160; bit++)
        {
            final int index = bit >>> 3;
            final byte original = buffer.getByte(index);
            buffer.putByte(index, (byte)(original ^ (1 << (bit & 7))));
            assertFalse(ip.isChecksumValid(), "flipped bit " + bit);
            buffer.putByte(index, original);
        }
        assertTrue(ip.isChecksumValid());
    }

    @Test
    void checksumAgreesWithAPlainSixteenBitSumOverRandomHeaders()
    {
        final long seed = Long.getLong("homa.seed", 0x5EED_1071L);
        System.out.println("seed=" + seed);
        final SplittableRandom random = new SplittableRandom(seed);
        final byte[] bytes = new byte[60];
        for (int round = 0; round < 2_000; round++)
        {
            random.nextBytes(bytes);
            final int length = 1 + random.nextInt(60);
            buffer.putBytes(0, bytes);
            assertEquals(referenceChecksum(bytes, length), Ipv4Flyweight.checksum(buffer, 0, length),
                "round " + round + " length " + length);
        }
    }

    @Test
    void optionsAreCoveredByTheChecksum()
    {
        ip.wrap(buffer, 0).versionAndIhl(4, 6).totalLength(24).protocol(146);
        buffer.putInt(20, 0x01020304);
        ip.updateChecksum();
        assertEquals(24, ip.headerLength());
        assertTrue(ip.isChecksumValid());

        buffer.putByte(22, (byte)0x77);
        assertFalse(ip.isChecksumValid(), "a change in the options must break the checksum");
    }

    private void writeValidHeader()
    {
        ip.wrap(buffer, 0)
            .versionAndIhl(4, 5)
            .tos(0x60)
            .totalLength(84)
            .identification(7)
            .flagsAndFragmentOffset(Ipv4Flyweight.FLAG_DONT_FRAGMENT)
            .ttl(64)
            .protocol(146)
            .sourceAddress(SOURCE)
            .destinationAddress(DESTINATION)
            .updateChecksum();
    }

    private static int referenceChecksum(final byte[] bytes, final int length)
    {
        long sum = 0;
        for (int i = 0; i < length; i += 2)
        {
            final int high = bytes[i] & 0xFF;
            final int low = i + 1 < length ? bytes[i + 1] & 0xFF : 0;
            sum += (high << 8) | low;
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int)(~sum & 0xFFFF);
    }
}
