package dev.homa.nic;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A driver that holds a packet's bytes moves what follows the leading bytes its sink keeps into the pieces the sink
 * named, in order, and the packet then reads as one whose payload was placed there.
 */
@Timeout(10)
final class PacketTest
{
    @Test
    void theTailGoesToThePiecesInOrder()
    {
        final Packet packet = packetOf(100);
        final UnsafeBuffer first = new UnsafeBuffer(ByteBuffer.allocateDirect(30));
        final UnsafeBuffer second = new UnsafeBuffer(ByteBuffer.allocateDirect(50));
        packet.appendPayload(first.addressOffset(), 30);
        packet.appendPayload(second.addressOffset(), 50);

        packet.moveTailToPayload(20, new UnsafeBuffer(0, 0));

        assertEquals(20, packet.length());
        assertEquals(80, packet.placedBytes());
        for (int i = 0; i < 30; i++)
        {
            assertEquals((byte)(20 + i), first.getByte(i), "first piece, byte " + i);
        }
        for (int i = 0; i < 50; i++)
        {
            assertEquals((byte)(50 + i), second.getByte(i), "second piece, byte " + i);
        }
    }

    @Test
    void piecesThatDoNotTakeTheRestAreRefused()
    {
        final Packet packet = packetOf(100);
        final UnsafeBuffer piece = new UnsafeBuffer(ByteBuffer.allocateDirect(70));
        packet.appendPayload(piece.addressOffset(), 70);

        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> packet.moveTailToPayload(20, new UnsafeBuffer(0, 0)));
        assertEquals("pieces of 70 bytes for the 80 bytes after 20 of a 100-byte packet", ex.getMessage());
        assertEquals(100, packet.length(), "the packet is left as it was");
        assertEquals(0, packet.placedBytes());
    }

    private static Packet packetOf(final int length)
    {
        final Packet packet = new Packet(new UnsafeBuffer(new byte[128]), 0).length(length);
        for (int i = 0; i < length; i++)
        {
            packet.buffer().putByte(i, (byte)i);
        }
        return packet;
    }
}
