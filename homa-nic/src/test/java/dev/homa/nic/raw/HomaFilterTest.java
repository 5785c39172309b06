package dev.homa.nic.raw;

import java.nio.ByteBuffer;

import dev.homa.nic.frame.TcpHijack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The receive filter's verdicts, run through a classic BPF interpreter of the instructions it uses (the kernel's
 * semantics: a load past the frame's end drops it): Homa and hijacked TCP pass by destination port, wherever the IPv4
 * header ends and with or without an inline tag; other traffic never passes.
 */
@Timeout(10)
class HomaFilterTest
{
    private static final int OWN = 4000;
    private static final int OTHER = 4001;

    @Test
    void passesOnlyListedPortsOrOnlyUnlistedOnes()
    {
        final int[][] own = HomaFilter.program(new int[] { 32768, OWN }, 2, HomaFilter.ACCEPT, HomaFilter.DROP);
        assertEquals(HomaFilter.ACCEPT, run(own, frame(146, OWN, 5, false, false)));
        assertEquals(HomaFilter.ACCEPT, run(own, frame(146, 32768, 5, false, false)));
        assertEquals(HomaFilter.DROP, run(own, frame(146, OTHER, 5, false, false)));

        final int[][] answering = HomaFilter.program(new int[] { OTHER }, 1, HomaFilter.DROP, HomaFilter.ACCEPT);
        assertEquals(HomaFilter.DROP, run(answering, frame(146, OTHER, 5, false, false)));
        assertEquals(HomaFilter.ACCEPT, run(answering, frame(146, OWN, 5, false, false)));
        assertEquals(HomaFilter.ACCEPT, run(answering, frame(146, 9, 5, false, false)));
        assertEquals(HomaFilter.ACCEPT, run(HomaFilter.ALL_PORTS, frame(146, 65535, 5, false, false)));
    }

    @Test
    void readsThePortPastIpOptionsAndAnInlineTag()
    {
        final int[][] own = HomaFilter.program(new int[] { OWN }, 1, HomaFilter.ACCEPT, HomaFilter.DROP);
        for (final boolean tagged : new boolean[] { false, true })
        {
            assertEquals(HomaFilter.ACCEPT, run(own, frame(146, OWN, 7, tagged, false)), "options, tag " + tagged);
            assertEquals(HomaFilter.DROP, run(own, frame(146, OTHER, 7, tagged, false)), "options, tag " + tagged);
            assertEquals(HomaFilter.ACCEPT, run(own, frame(146, OWN, 5, tagged, false)), "tag " + tagged);
            assertEquals(HomaFilter.ACCEPT, run(own, frame(6, OWN, 5, tagged, true)), "hijacked, tag " + tagged);
            assertEquals(HomaFilter.DROP, run(own, frame(6, OTHER, 5, tagged, true)), "hijacked, tag " + tagged);
        }
    }

    @Test
    void neverPassesOtherTraffic()
    {
        final int[][] all = HomaFilter.ALL_PORTS;
        assertEquals(HomaFilter.DROP, run(all, frame(6, OWN, 5, false, false)), "real TCP");
        assertEquals(HomaFilter.DROP, run(all, frame(6, OWN, 5, true, false)), "real TCP, tagged");
        assertEquals(HomaFilter.DROP, run(all, frame(17, OWN, 5, false, false)), "UDP");
        final byte[] arp = frame(146, OWN, 5, false, false);
        arp[12] = 0x08;
        arp[13] = 0x06;
        assertEquals(HomaFilter.DROP, run(all, arp), "ARP");
        final byte[] cut = new byte[14 + 20 + 2];
        System.arraycopy(frame(146, OWN, 5, false, false), 0, cut, 0, cut.length);
        assertEquals(HomaFilter.DROP, run(all, cut), "no destination port");
    }

    @Test
    void listsAtMostWhatTheKernelTakes()
    {
        final int[] ports = new int[HomaFilter.MAX_PORTS + 1];
        for (int i = 0; i < ports.length; i++)
        {
            ports[i] = i;
        }
        final int[][] longest = HomaFilter.program(ports, HomaFilter.MAX_PORTS, HomaFilter.ACCEPT, HomaFilter.DROP);
        assertTrue(longest.length <= 4096, "BPF_MAXINSNS: " + longest.length);
        assertEquals(HomaFilter.ACCEPT, run(longest, frame(146, HomaFilter.MAX_PORTS - 1, 5, false, false)));
        assertEquals(HomaFilter.DROP, run(longest, frame(146, HomaFilter.MAX_PORTS, 5, false, false)));
        assertThrows(IllegalArgumentException.class,
            () -> HomaFilter.program(ports, ports.length, HomaFilter.ACCEPT, HomaFilter.DROP));
    }

    /**
     * An Ethernet frame with an IPv4 header of {@code ihl} words and a transport header whose ports are at its start.
     */
    static byte[] frame(
        final int protocol, final int destinationPort, final int ihl, final boolean inlineTag, final boolean marks)
    {
        final int ipAt = inlineTag ? 18 : 14;
        final ByteBuffer frame = ByteBuffer.allocate(ipAt + ihl * 4 + 60);
        if (inlineTag)
        {
            frame.putShort(12, (short)0x8100).putShort(16, (short)0x0800);
        }
        else
        {
            frame.putShort(12, (short)0x0800);
        }
        frame.put(ipAt, (byte)(0x40 | ihl)).put(ipAt + 9, (byte)protocol);
        final int l4 = ipAt + ihl * 4;
        frame.putShort(l4, (short)32768).putShort(l4 + HomaFilter.DESTINATION_PORT_OFFSET, (short)destinationPort);
        if (marks)
        {
            // The marks sit where a 20-byte header would put them, as the sender writes them.
            frame.put(ipAt + 20 + TcpHijack.FLAGS_OFFSET, (byte)TcpHijack.FLAGS);
            frame.putShort(ipAt + 20 + TcpHijack.URGENT_OFFSET, (short)TcpHijack.URGENT);
        }
        return frame.array();
    }

    static int run(final int[][] program, final byte[] packet)
    {
        int a = 0;
        int x = 0;
        int pc = 0;
        while (true)
        {
            final int[] insn = program[pc++];
            final int k = insn[3];
            switch (insn[0])
            {
                case 0x28 -> // ldh [k]
                {
                    if (k + 2 > packet.length)
                    {
                        return 0;
                    }
                    a = ((packet[k] & 0xFF) << 8) | (packet[k + 1] & 0xFF);
                }
                case 0x30 -> // ldb [k]
                {
                    if (k + 1 > packet.length)
                    {
                        return 0;
                    }
                    a = packet[k] & 0xFF;
                }
                case 0x48 -> // ldh [x + k]
                {
                    if (x + k + 2 > packet.length)
                    {
                        return 0;
                    }
                    a = ((packet[x + k] & 0xFF) << 8) | (packet[x + k + 1] & 0xFF);
                }
                case 0xb1 -> // ldxb 4 * ([k] & 0xf)
                {
                    if (k + 1 > packet.length)
                    {
                        return 0;
                    }
                    x = 4 * (packet[k] & 0xF);
                }
                case 0x15 -> pc += a == k ? insn[1] : insn[2]; // jeq #k
                case 0x05 -> pc += k; // ja
                case 0x06 -> // ret #k
                {
                    return k;
                }
                default -> throw new IllegalStateException("opcode " + insn[0]);
            }
        }
    }
}
