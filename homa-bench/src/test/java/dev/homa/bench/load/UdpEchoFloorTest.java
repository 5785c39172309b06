package dev.homa.bench.load;

import dev.homa.nic.NicDriver;
import dev.homa.nic.NicDrivers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The bare UDP echo over loopback, both ends stepped by the test's thread: a whole message comes back, once, and a
 * message older than the newest one is not answered.
 */
@Timeout(20)
class UdpEchoFloorTest
{
    private static final String URI = "udp://127.0.0.1:0";
    private static final int STEPS = 1_000_000;

    @Test
    void aWholeMessageIsAnsweredOnceWithAsManyBytes()
    {
        try (NicDriver clientDriver = NicDrivers.open(URI); NicDriver serverDriver = NicDrivers.open(URI))
        {
            final UdpEchoFloor.Endpoint client = new UdpEchoFloor.Endpoint(clientDriver);
            final UdpEchoFloor.Endpoint server = new UdpEchoFloor.Endpoint(serverDriver);
            final int length = 1_000_000;
            final int datagrams = (length + serverDriver.maxPacketLength() - 1) / serverDriver.maxPacketLength();

            client.send(1, length, serverDriver.localAddress());
            final int answered = run(client, server, 1);

            assertEquals(1, client.completeSequence(), "the echo of message 1 is all in");
            assertEquals(datagrams, answered, "the server sent the message's bytes back once");
        }
    }

    @Test
    void aMessageOlderThanTheNewestIsNotAnswered()
    {
        try (NicDriver clientDriver = NicDrivers.open(URI); NicDriver serverDriver = NicDrivers.open(URI))
        {
            final UdpEchoFloor.Endpoint client = new UdpEchoFloor.Endpoint(clientDriver);
            final UdpEchoFloor.Endpoint server = new UdpEchoFloor.Endpoint(serverDriver);

            client.send(2, 100, serverDriver.localAddress());
            assertEquals(1, run(client, server, 2));
            client.send(1, 100, serverDriver.localAddress());
            while (client.sending())
            {
                client.pump();
            }
            int answered = 0;
            for (int i = 0; i < 10_000; i++)
            {
                server.poll();
                answered += server.answer();
            }

            assertEquals(0, answered, "message 1 came after message 2: written off, not answered");
            assertEquals(2, client.completeSequence());
        }
    }

    private static int run(final UdpEchoFloor.Endpoint client, final UdpEchoFloor.Endpoint server, final long sequence)
    {
        int answered = 0;
        for (int step = 0; step < STEPS && client.completeSequence() != sequence; step++)
        {
            if (client.sending())
            {
                client.pump();
            }
            server.poll();
            answered += server.answer();
            client.poll();
        }
        return answered;
    }
}
