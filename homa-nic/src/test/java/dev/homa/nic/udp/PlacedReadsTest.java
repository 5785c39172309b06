package dev.homa.nic.udp;

import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.frame.AllocationMeter;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.function.IntUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Large datagrams on loopback (its own MTU: 64 KiB datagrams, no GRO, so a placing sink is offered placement) read
 * straight to where a test sink says: by each datagram's peeked header, or with the peek off by guesses for the
 * packets after a large one, chosen by each test. Every packet must arrive whole or placed, with every byte intact,
 * whatever the guesses were.
 */
@Timeout(60)
class PlacedReadsTest
{
    private static final int HEADER = 56;
    private static final int COUNT = 16;
    /** Each packet's places: a region of its own, its payload split over two pieces, the second 1,000 bytes in. */
    private static final int REGION = 2 * 65_536;

    private UdpDriver a;
    private UdpDriver b;
    /** The sink names other places for a header the first time it is asked than the second. */
    private boolean firstAnswerWrong;

    @AfterEach
    void close()
    {
        if (null != a)
        {
            a.close();
            a = null;
        }
        if (null != b)
        {
            b.close();
            b = null;
        }
    }

    @Test
    void readsLargePayloadsStraightToWhereThePlacingSinkSays()
    {
        final Outcome outcome = exchange((i) -> i, false, (i) -> i);
        assertTrue(outcome.placed >= 5, "large payloads after the first reads are placed: " + outcome.placed);
        assertEquals(outcome.placed, b.counters().rxPlaced(), "placed datagrams are counted");
        assertEquals(0, b.counters().rxPlaceMisses(), "every guess held");
    }

    @Test
    void peekedHeadersPlaceEveryLargePayloadWithoutAGuess()
    {
        // Every guess would be wrong; with the headers peeked none is asked for.
        final Outcome outcome = exchange((i) -> COUNT + i, true, (i) -> i);
        assertEquals(0, outcome.guesses, "guesses asked for");
        // The first poll reads one or two datagrams before placing starts; packet 3 is too short to place.
        assertTrue(outcome.placed >= COUNT - 3, "every large payload after the first poll is placed: " +
            outcome.placed);
        assertEquals(outcome.placed, b.counters().rxPlaced(), "placed datagrams are counted");
        assertEquals(0, b.counters().rxPlaceMisses(), "no misses");
    }

    @Test
    void aPeekedPlaceTheHeaderReadDoesNotConfirmIsMovedToTheOneItNames()
    {
        // Asked at the peek, the sink names places the header read with the datagram does not (as a peek that saw
        // other datagrams than the read took would): each datagram is moved to the places named last, every byte its
        // own, before any is handed over.
        firstAnswerWrong = true;
        final Outcome outcome = exchange((i) -> i, true, (i) -> i);
        final long misses = b.counters().rxPlaceMisses();
        assertTrue(misses >= COUNT - 3, "every large payload after the first poll landed in the wrong places: " +
            misses);
        assertEquals(misses, b.counters().rxPlaceMoved(), "each is moved to the places its header names");
        assertEquals(misses, outcome.placed, "and arrives placed");
    }

    @Test
    void aPeekedDatagramNamingPlacesAnotherOfItsBatchIsReadIntoArrivesWhole()
    {
        // Packets 6, 9 and 12 are each sent three times in a row, and read two at a time, so one of each three shares
        // a batch with the copy before it, whose places it names: it is read into its slot and arrives whole, and
        // every byte of every packet is its own.
        final Outcome outcome = exchange((i) -> i, true, (i) -> i >= 6 && i < 15 ? 6 + 3 * ((i - 6) / 3) : i);
        assertEquals(3, outcome.wholeAfterGuess, "one copy of each three arrives whole");
        assertEquals(0, b.counters().rxPlaceMisses(), "no misses");
    }

    @Test
    void aWrongGuessIsMovedStraightToItsPlaces()
    {
        // The guesses for every third packet name a region that is no packet's: the packet read there is moved to
        // its own places, which no other datagram of its batch was read into.
        final Outcome outcome = exchange((i) -> 2 == i % 3 ? COUNT + i : i, false, (i) -> i);
        final long misses = b.counters().rxPlaceMisses();
        assertTrue(misses >= 2, "wrong guesses are counted: " + misses);
        assertEquals(misses, b.counters().rxPlaceMoved(), "each wrong guess is moved to its places");
        assertEquals(outcome.placed, b.counters().rxPlaced() + b.counters().rxPlaceMoved(),
            "moved datagrams arrive placed; only right guesses count as placed");
    }

    @Test
    void aWrongGuessWhosePlacesHoldAnotherDatagramsBytesGoesBackToItsSlot()
    {
        // Each guess names the places of the packet before: in a batch of two, the first datagram's own places hold
        // the second one's bytes, so it goes back to its slot and arrives whole; the second is then moved to its
        // places, which the first one's guess was.
        final Outcome outcome = exchange((i) -> i - 1, false, (i) -> i);
        final long misses = b.counters().rxPlaceMisses();
        final long moved = b.counters().rxPlaceMoved();
        assertTrue(moved >= 2, "wrong guesses are moved where nothing else landed: " + moved);
        assertTrue(misses - moved >= 2, "a wrong guess whose places hold another's bytes arrives whole: " + misses +
            " misses, " + moved + " moved");
        assertTrue(outcome.wholeAfterGuess >= misses - moved, "those arrive whole: " + outcome.wholeAfterGuess);
    }

    @Test
    void guessesForAnyPlacesDeliverEveryByteIntact()
    {
        // Each run guesses a random permutation of the regions, so guesses never overlap (as the engine's never do)
        // while a packet's own places may lie under another datagram's guess, confirmed or not yet checked.
        final Random random = new Random(UdpDriverTest.seed());
        long moved = 0;
        for (int run = 0; run < 20; run++)
        {
            final int[] regions = new int[2 * COUNT];
            for (int i = 0; i < regions.length; i++)
            {
                final int j = random.nextInt(i + 1);
                regions[i] = regions[j];
                regions[j] = i;
            }
            exchange((i) -> regions[i], false, (i) -> i);
            moved += b.counters().rxPlaceMoved();
        }
        assertTrue(moved > 0, "some wrong guesses were moved: " + moved);
    }

    @Test
    @Tag("allocation")
    void placedReadsAllocateNothing()
    {
        assertPlacedReadsAllocateNothing(true);
    }

    @Test
    @Tag("allocation")
    void guessedPlacedReadsAllocateNothing()
    {
        assertPlacedReadsAllocateNothing(false);
    }

    private void assertPlacedReadsAllocateNothing(final boolean peek)
    {
        a = new UdpDriver(new UdpDriverContext().bindAddress(UdpDriverTest.LOOPBACK));
        b = new UdpDriver(new UdpDriverContext().bindAddress(UdpDriverTest.LOOPBACK).peek(peek));
        final int length = 60_000;
        final int regions = 8;
        final UnsafeBuffer places = new UnsafeBuffer(ByteBuffer.allocateDirect(regions * 65_536));
        final int[] received = new int[1];
        final int[] placed = new int[1];
        final PacketSink sink = new PlacingSink()
        {
            @Override
            public void onPacket(final Packet packet)
            {
                received[0]++;
                if (packet.placedBytes() > 0)
                {
                    placed[0]++;
                }
                b.release(packet);
            }

            @Override
            int place(final DirectBuffer start, final int packetLength, final long source, final int following,
                final Packet into)
            {
                final int sequence = start.getInt(0) + following;
                into.appendPayload(places.addressOffset() + (long)(sequence % regions) * 65_536, packetLength - HEADER);
                return HEADER;
            }
        };
        final int[] sequence = new int[1];
        final long allocated = new AllocationMeter().measure(500, i ->
        {
            for (int k = 0; k < 4; k++)
            {
                final Packet packet = a.acquire();
                packet.buffer().putInt(0, sequence[0]++);
                packet.length(length);
                a.send(packet, b.localAddress(), 2);
                a.flush();
                a.release(packet);
            }
            final int expected = received[0] + 4;
            final long deadlineNs = System.nanoTime() + 5_000_000_000L;
            while (received[0] < expected && System.nanoTime() < deadlineNs)
            {
                b.poll(sink, 2);
            }
        });
        assertEquals(sequence[0], received[0], "every datagram sent arrived");
        assertTrue(placed[0] > received[0] / 2, "most were placed: " + placed[0]);
        assertEquals(0, allocated, "bytes allocated by 500 rounds of 4 placed reads");
    }

    /**
     * A sink that places payloads where {@link #place} says, its header {@link #HEADER} bytes long, and releases each
     * packet before it returns.
     */
    private abstract static class PlacingSink implements PacketSink
    {
        /**
         * @param following 0 for the packet that starts with {@code start}; n for the n-th after it.
         * @return {@link #HEADER}, the places appended to {@code into}; or -1 for none.
         */
        abstract int place(DirectBuffer start, int packetLength, long source, int following, Packet into);

        @Override
        public boolean releasesBeforeReturn()
        {
            return true;
        }

        @Override
        public int placementHeaderLength()
        {
            return HEADER;
        }

        @Override
        public int placePayload(
            final DirectBuffer start, final int headerLength, final int packetLength, final long source,
            final Packet into)
        {
            assertEquals(HEADER, headerLength);
            return place(start, packetLength, source, 0, into);
        }

        @Override
        public int placeFollowing(
            final DirectBuffer start, final int headerLength, final int packetLength, final long source,
            final int following, final Packet into)
        {
            return place(start, packetLength, source, following, into);
        }
    }

    private record Outcome(int placed, int wholeAfterGuess, int guesses)
    {
    }

    /**
     * Send {@link #COUNT} datagrams from a to b, datagram i a copy of packet {@code content(i)}, and read them two at
     * a time through a sink whose guess for packet i names the places of packet {@code guess(i)}; b peeks at the
     * headers or not.
     */
    private Outcome exchange(final IntUnaryOperator guess, final boolean peek, final IntUnaryOperator content)
    {
        close();
        a = new UdpDriver(new UdpDriverContext().bindAddress(UdpDriverTest.LOOPBACK));
        b = new UdpDriver(new UdpDriverContext().bindAddress(UdpDriverTest.LOOPBACK).peek(peek));
        final int freeAtStart = b.freePackets();
        final int[] lengths = new int[COUNT];
        for (int i = 0; i < COUNT; i++)
        {
            lengths[i] = 3 == i ? 300 : 40_000 + 1_000 * i;
        }
        for (int i = 0; i < COUNT; i++)
        {
            final int c = content.applyAsInt(i);
            final Packet packet = a.acquire();
            for (int j = 0; j < lengths[c]; j++)
            {
                packet.buffer().putByte(j, (byte)(c * 7 + j * 13));
            }
            packet.length(lengths[c]);
            assertTrue(a.send(packet, b.localAddress(), 2));
            assertEquals(1, a.flush());
            a.release(packet);
        }
        final UnsafeBuffer places = new UnsafeBuffer(ByteBuffer.allocateDirect(2 * COUNT * REGION));
        final int[] received = new int[1];
        final int[] placed = new int[1];
        final int[] wholeAfterGuess = new int[1];
        final int[] guesses = new int[1];
        final int[] asks = new int[COUNT];
        final PacketSink sink = new PlacingSink()
        {
            @Override
            public void onPacket(final Packet packet)
            {
                final int i = received[0]++;
                final int c = content.applyAsInt(i);
                final int total = packet.length() + packet.placedBytes();
                assertEquals(lengths[c], total, "length of packet " + i);
                for (int j = 0; j < total; j++)
                {
                    final byte got = j < packet.length() ? packet.buffer().getByte(j) :
                        places.getByte(placeOf(c, j - HEADER));
                    assertEquals((byte)(c * 7 + j * 13), got, "byte " + j + " of packet " + i);
                }
                if (packet.placedBytes() > 0)
                {
                    placed[0]++;
                    assertEquals(HEADER, packet.length());
                }
                else if (i > 5 && lengths[c] > HEADER)
                {
                    wholeAfterGuess[0]++;
                }
                b.release(packet);
            }

            @Override
            int place(final DirectBuffer start, final int packetLength, final long source, final int following,
                final Packet into)
            {
                final int i = (start.getByte(0) & 0xFF) / 7 + following;
                if (0 == following)
                {
                    assertEquals(a.localAddress(), source);
                    assertEquals(lengths[i], packetLength, "the header is that of a packet sent");
                    if (packetLength <= HEADER + 1_000)
                    {
                        return -1;
                    }
                    final boolean wrong = firstAnswerWrong && 0 == asks[i]++;
                    return appendPlaces(wrong ? COUNT + i : i, packetLength, into);
                }
                guesses[0]++;
                if (i + 1 >= COUNT || lengths[i] < 16 * 1024)
                {
                    return -1;
                }
                return appendPlaces(guess.applyAsInt(i), lengths[i], into);
            }

            private int appendPlaces(final int i, final int packetLength, final Packet into)
            {
                assertTrue(into.appendPayload(places.addressOffset() + placeOf(i, 0), 1_000));
                assertTrue(into.appendPayload(places.addressOffset() + placeOf(i, 1_000), packetLength - HEADER -
                    1_000));
                return HEADER;
            }

            private int placeOf(final int packet, final int payloadOffset)
            {
                return packet * REGION + (payloadOffset < 1_000 ? payloadOffset : 65_536 + payloadOffset);
            }
        };
        final long deadlineNs = System.nanoTime() + 10_000_000_000L;
        while (received[0] < COUNT)
        {
            // Two at a time: the first reads show what the next ones go on from.
            b.poll(sink, 2);
            assertTrue(System.nanoTime() < deadlineNs, "received " + received[0]);
        }
        assertEquals(freeAtStart, b.freePackets());
        return new Outcome(placed[0], wholeAfterGuess[0], guesses[0]);
    }
}
