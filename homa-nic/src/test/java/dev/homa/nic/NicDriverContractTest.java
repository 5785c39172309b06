package dev.homa.nic;

import dev.homa.nic.frame.HomaChecksum;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What every {@link NicDriver} promises, run against each driver by a subclass that opens two drivers able to reach
 * each other: packets arrive whole with their source and level, pools are bounded and refill, misuse throws, and a
 * poll takes no more than it is allowed. Each test can fail: it checks the bytes, not just a count.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class NicDriverContractTest
{
    private static final long SEED = Long.getLong("homa.seed", 0xC0_47_AC_75L);
    private static final long RECEIVE_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    private static final int HOMA_HEADER_LENGTH = 28;

    private NicDriver a;
    private NicDriver b;

    /**
     * Open two drivers that can send to each other's {@link NicDriver#localAddress()}; skip (with an assumption
     * naming the reason) where the environment cannot.
     *
     * @return the two drivers.
     * @throws Exception if opening fails.
     */
    protected abstract NicDriver[] openPair() throws Exception;

    /**
     * Release what {@link #openPair()} set up besides the drivers, which are closed already.
     *
     * @throws Exception if tearing down fails.
     */
    protected void closeEnvironment() throws Exception
    {
    }

    @BeforeEach
    final void openDrivers() throws Exception
    {
        System.out.println("seed=" + SEED + " (replay with -Dhoma.seed=" + SEED + ")");
        final NicDriver[] pair = openPair();
        a = pair[0];
        b = pair[1];
    }

    @AfterEach
    final void closeDrivers() throws Exception
    {
        try
        {
            if (null != a)
            {
                a.close();
            }
            if (null != b)
            {
                b.close();
            }
        }
        finally
        {
            closeEnvironment();
        }
    }

    @Test
    void anAcquiredPacketIsEmptyAndHoldsTheLargestPacket()
    {
        final Packet packet = a.acquire();
        assertNotNull(packet);
        assertEquals(0, packet.length());
        assertTrue(packet.buffer().capacity() >= a.maxPacketLength(),
            "capacity " + packet.buffer().capacity() + " < " + a.maxPacketLength());
        a.release(packet);
    }

    @Test
    void packetsArriveWholeWithTheirSourceAndLevel()
    {
        final SplittableRandom random = new SplittableRandom(SEED);
        final int levels = Math.min(a.priorityLevels(), b.priorityLevels());
        final int[] lengths = { HOMA_HEADER_LENGTH, 100, a.maxPacketLength() / 2, a.maxPacketLength() };
        final List<byte[]> sent = new ArrayList<>();
        final List<Integer> sentLevels = new ArrayList<>();
        for (int level = 0; level < levels; level++)
        {
            for (final int length : lengths)
            {
                final byte[] bytes = new byte[length];
                random.nextBytes(bytes);
                bytes[0] = (byte)sent.size();
                bytes[1] = (byte)level;
                final Packet packet = a.acquire();
                packet.buffer().putBytes(0, bytes);
                packet.length(length);
                assertTrue(a.send(packet, b.localAddress(), level));
                assertEquals(1, a.flush());
                a.release(packet);
                sent.add(bytes);
                sentLevels.add(level);
            }
        }
        final List<Long> sources = new ArrayList<>();
        final List<Integer> priorities = new ArrayList<>();
        final List<byte[]> receivedBytes = new ArrayList<>();
        receive(b, sent.size(), packet ->
        {
            final byte[] bytes = new byte[packet.length()];
            packet.buffer().getBytes(0, bytes);
            receivedBytes.add(bytes);
            sources.add(packet.source());
            priorities.add(packet.priority());
            b.release(packet);
        });
        // Packets of different levels may be reordered, as in a switch with priority queues: match by index.
        boolean levelsKnown = false;
        for (int i = 0; i < receivedBytes.size(); i++)
        {
            final byte[] bytes = receivedBytes.get(i);
            final int index = bytes[0] & 0xFF;
            final byte[] expected = sent.get(index).clone();
            if (a.completesChecksum())
            {
                // The driver's NIC or stack fills the Homa checksum in: every other byte arrives as sent.
                expected[HomaChecksum.CHECKSUM_OFFSET] = bytes[HomaChecksum.CHECKSUM_OFFSET];
                expected[HomaChecksum.CHECKSUM_OFFSET + 1] = bytes[HomaChecksum.CHECKSUM_OFFSET + 1];
            }
            assertArrayEquals(expected, bytes, "packet " + index + " arrived whole");
            assertEquals(a.localAddress(), (long)sources.get(i), "source of packet " + index);
            final int priority = priorities.get(i);
            levelsKnown |= -1 != priority;
            if (-1 != priority)
            {
                assertEquals(sentLevels.get(index), priority, "level of packet " + index);
            }
        }
        assertTrue(levelsKnown || !reportsLevels(), "received packets carry the level they were sent at");
    }

    /**
     * @return true if the driver under test learns each received packet's level.
     */
    protected boolean reportsLevels()
    {
        return true;
    }

    @Test
    void aPollTakesNoMoreThanItsLimit()
    {
        final int count = 6;
        for (int i = 0; i < count; i++)
        {
            final Packet packet = a.acquire();
            packet.buffer().putInt(0, i);
            packet.length(HOMA_HEADER_LENGTH);
            assertTrue(a.send(packet, b.localAddress(), 0));
            assertEquals(1, a.flush());
            a.release(packet);
        }
        final int[] got = new int[1];
        final long deadlineNs = System.nanoTime() + RECEIVE_TIMEOUT_NS;
        while (got[0] < count)
        {
            final int polled = b.poll(packet ->
            {
                got[0]++;
                b.release(packet);
            }, 2);
            assertTrue(polled <= 2, "poll(limit 2) delivered " + polled);
            if (System.nanoTime() > deadlineNs)
            {
                fail("received " + got[0] + " of " + count);
            }
        }
        assertEquals(count, got[0]);
    }

    @Test
    void flushCountsWhatWasQueued()
    {
        final List<Packet> packets = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            final Packet packet = a.acquire();
            packet.length(HOMA_HEADER_LENGTH);
            assertTrue(a.send(packet, b.localAddress(), i));
            packets.add(packet);
        }
        assertEquals(3, a.flush());
        assertEquals(0, a.flush(), "nothing left to flush");
        packets.forEach(a::release);
        receive(b, 3, b::release);
    }

    @Test
    void thePoolIsBoundedAndRefills()
    {
        final List<Packet> held = new ArrayList<>();
        Packet packet;
        while (null != (packet = a.acquire()))
        {
            held.add(packet);
            assertTrue(held.size() <= 1 << 20, "a bounded pool");
        }
        assertTrue(held.size() > 0);
        held.forEach(a::release);
        final Packet again = a.acquire();
        assertNotNull(again, "released packets can be acquired again");
        a.release(again);
    }

    @Test
    void misuseThrows()
    {
        final Packet packet = a.acquire();
        packet.length(HOMA_HEADER_LENGTH);
        assertThrows(IllegalArgumentException.class, () -> a.send(packet, b.localAddress(), a.priorityLevels()));
        assertThrows(IllegalArgumentException.class, () -> a.send(packet, b.localAddress(), -1));
        assertThrows(IllegalArgumentException.class, () -> b.release(packet), "a packet of another driver");
        a.release(packet);
        assertThrows(IllegalStateException.class, () -> a.release(packet), "released twice");
        assertNotNull(a.destinationError(HostAddress.NONE), "no host is no destination");
    }

    @Test
    void closingTwiceIsHarmless()
    {
        a.close();
        a.close();
        a = null;
    }

    private void receive(final NicDriver driver, final int count, final PacketSink sink)
    {
        final int[] got = new int[1];
        final long deadlineNs = System.nanoTime() + RECEIVE_TIMEOUT_NS;
        while (got[0] < count)
        {
            got[0] += driver.poll(sink, count - got[0]);
            if (System.nanoTime() > deadlineNs)
            {
                fail("received " + got[0] + " of " + count + " packets");
            }
        }
    }
}
