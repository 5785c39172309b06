package dev.homa.core;

import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A driver that reads DATA payloads straight into the message's receive-pool pages (the UDP driver with large
 * datagrams) places only bytes beyond the highest one received: a packet that reaches below it, whether an honest
 * duplicate, a retransmission filling a gap or a forged copy of a received range with other bytes, is received whole
 * and only the bytes still missing are taken from it, so no packet writes over what a message has received.
 */
@Timeout(30)
final class PlacedPayloadTest
{
    private static final int CLIENT_PORT = 40_000;
    private static final long ID = 2;
    private static final int PACKET = 1_000;
    private static final int LENGTH = 3 * PACKET;

    @Test
    void aForgedCopyOfAReceivedRangeDoesNotOverwriteIt()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            host.driver.placing = true;
            deliver(host, data(0));
            deliver(host, data(PACKET));
            final ByteBuffer forged = data(PACKET);
            for (int i = KernelPeer.DATA_HEADER; i < forged.capacity(); i++)
            {
                forged.put(i, (byte)0x55);
            }
            deliver(host, forged);
            deliver(host, data(2 * PACKET));

            assertEquals(2, host.driver.placedPackets, "the second and the last packet were placed, not the forgery");
            assertRequestIntact(host);
        }
    }

    @Test
    void aPacketFillingAGapIsCopiedIntoIt()
    {
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            host.driver.placing = true;
            deliver(host, data(0));
            deliver(host, data(2 * PACKET));
            deliver(host, data(PACKET));

            assertEquals(1, host.driver.placedPackets, "only the packet beyond the highest byte was placed");
            assertRequestIntact(host);
        }
    }

    @Test
    void aGuessForALaterPacketNamesThePlacesThatPacketGets()
    {
        // A driver that reads a batch of datagrams at once guesses where each goes from the packet before them, and
        // keeps a guess only where the packet's own header names the same places.
        final int length = 3 * PACKET + 400;
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            host.driver.placing = true;
            deliver(host, data(0, length));
            final PacketSink sink = host.driver.sink;
            final UnsafeBuffer first = new UnsafeBuffer(data(0, length));
            final int packetLength = KernelPeer.DATA_HEADER + PACKET;
            for (int k = 1; k <= 3; k++)
            {
                final Packet guess = newPacket();
                assertEquals(KernelPeer.DATA_HEADER,
                    sink.placeFollowing(first, KernelPeer.DATA_HEADER, packetLength, FakeHost.PEER, k, guess));
                final ByteBuffer later = data(k * PACKET, length);
                final Packet real = newPacket();
                assertEquals(KernelPeer.DATA_HEADER, sink.placePayload(new UnsafeBuffer(later),
                    KernelPeer.DATA_HEADER, later.capacity(), FakeHost.PEER, real));
                assertEquals(real.payloadSegments(), guess.payloadSegments(), "places of packet " + k);
                for (int i = 0; i < real.payloadSegments(); i++)
                {
                    assertEquals(real.payloadAddress(i), guess.payloadAddress(i), "place " + i + " of packet " + k);
                    assertEquals(real.payloadLength(i), guess.payloadLength(i), "place " + i + " of packet " + k);
                }
            }
            assertEquals(-1, sink.placeFollowing(first, KernelPeer.DATA_HEADER, packetLength, FakeHost.PEER, 4,
                newPacket()), "nothing beyond the message");
            deliver(host, data(2 * PACKET, length));
            assertEquals(-1, sink.placeFollowing(first, KernelPeer.DATA_HEADER, packetLength, FakeHost.PEER, 1,
                newPacket()), "nothing below the highest byte received");
            assertEquals(KernelPeer.DATA_HEADER, sink.placeFollowing(first, KernelPeer.DATA_HEADER, packetLength,
                FakeHost.PEER, 3, newPacket()), "the range after it is still to come");
        }
    }

    @Test
    void noGuessReachesBeyondWhatTheSenderMayHaveSent()
    {
        // A message that needs grants: its sender sends its unscheduled bytes and then only what it is granted, so
        // the datagram after the last one it may have sent belongs to another message, and a guess there would only
        // cost the driver moving that datagram's bytes back.
        final int length = 200 * PACKET;
        final int unscheduled = 4 * PACKET;
        try (FakeHost host = new FakeHost((ctx) -> { }))
        {
            host.driver.placing = true;
            deliver(host, data(0, length, unscheduled));
            final int granted = host.driver.sent(PacketType.GRANT).stream()
                .mapToInt((g) -> new GrantFlyweight().wrap(new UnsafeBuffer(g.bytes()), 0).offset())
                .max().orElse(unscheduled);
            assertTrue(granted < length - PACKET, "the message is not granted whole: " + granted);
            final UnsafeBuffer first = new UnsafeBuffer(data(0, length, unscheduled));
            final int packetLength = KernelPeer.DATA_HEADER + PACKET;
            final int last = Math.max(granted, unscheduled) / PACKET - 1;
            final PacketSink sink = host.driver.sink;
            assertEquals(KernelPeer.DATA_HEADER, sink.placeFollowing(first, KernelPeer.DATA_HEADER, packetLength,
                FakeHost.PEER, last, newPacket()), "the last packet the sender may have sent");
            assertEquals(-1, sink.placeFollowing(first, KernelPeer.DATA_HEADER, packetLength, FakeHost.PEER,
                last + 1, newPacket()), "the packet after it: granted " + granted);
        }
    }

    private static Packet newPacket()
    {
        return new Packet(new UnsafeBuffer(new byte[FakeDriver.MAX_PACKET_LENGTH]), 0);
    }

    private static ByteBuffer data(final int offset)
    {
        return data(offset, LENGTH);
    }

    private static ByteBuffer data(final int offset, final int length)
    {
        return data(offset, length, length);
    }

    /**
     * @param incoming the message's unscheduled bytes, as its DATA header states them.
     */
    private static ByteBuffer data(final int offset, final int length, final int incoming)
    {
        return KernelPeer.data(CLIENT_PORT, FakeHost.PORT, ID, length, incoming, offset,
            Math.min(PACKET, length - offset), 0, 0, 0, false);
    }

    private static void deliver(final FakeHost host, final ByteBuffer packet)
    {
        host.driver.deliver(packet, FakeHost.PEER);
        host.cycle();
    }

    private static void assertRequestIntact(final FakeHost host)
    {
        final HomaMessage request = host.socket.homaRecv(HomaSocket.RECV_REQUEST);
        assertNotNull(request, "the request arrived");
        assertEquals(LENGTH, request.length());
        final byte[] bytes = new byte[LENGTH];
        request.getBytes(0, new UnsafeBuffer(bytes), 0, LENGTH);
        for (int i = 0; i < LENGTH; i++)
        {
            assertEquals(KernelPeer.payloadByte(i), bytes[i], "byte " + i);
        }
        request.release();
    }
}
