package dev.homa.nic.raw;

import dev.homa.nic.frame.TcpHijack;

import static dev.homa.nic.frame.EthernetFlyweight.ETHER_TYPE_IPV4;
import static dev.homa.nic.frame.EthernetFlyweight.ETHER_TYPE_VLAN;
import static dev.homa.nic.frame.FrameLayout.IPPROTO_HOMA;
import static dev.homa.nic.linux.ClassicBpf.JEQ_K;
import static dev.homa.nic.linux.ClassicBpf.LDB_ABS;
import static dev.homa.nic.linux.ClassicBpf.LDH_ABS;
import static dev.homa.nic.linux.ClassicBpf.RET_K;

/**
 * The receive filter of a driver's packet socket, a classic BPF program: it passes Homa (IPv4 protocol 146, or
 * protocol 6 with the {@link TcpHijack} marks: flags SYN|RST, urgent pointer 0xb97d), so other traffic, real TCP among
 * it, never costs ring space; and of Homa only the destination ports this driver is to see. Several processes can
 * then share an interface, as sockets share a kernel host: a driver sees the ports it claimed, the one that answers for
 * the interface ({@link PortTable}) every port no other driver claimed. The destination port is at the same place in
 * a Homa header as in a TCP one.
 * <p>
 * Offsets are from the MAC header and assume a 20-byte IPv4 header for the marks (the port is read past the header's
 * real length); the kernel has usually moved the 802.1Q tag into metadata already, but a tag left inline is accepted
 * too. Each listed port costs two instructions, a comparison and its verdict, so that no jump grows with the list.
 */
final class HomaFilter
{
    /** Most ports a program lists: the kernel takes up to 4,096 instructions. */
    static final int MAX_PORTS = 2_000;
    static final int ACCEPT = 0x4_0000;
    static final int DROP = 0;

    private static final int LDX_MSH = 0xb1;
    private static final int LDH_IND = 0x48;
    private static final int JA = 0x05;
    private static final int IPV4_AT = 14;
    private static final int TAGGED_IPV4_AT = 18;
    /** Where a Homa (or TCP) header holds its destination port. */
    static final int DESTINATION_PORT_OFFSET = 2;

    private static final int[][] PREFIX =
    {
        { LDH_ABS, 0, 0, 12 },                                          // 0: A = EtherType
        { JEQ_K, 0, 7, ETHER_TYPE_IPV4 },                               // 1: IPv4 ? 2 : 9
        { LDB_ABS, 0, 0, IPV4_AT + 9 },                                 // 2: A = IP protocol
        { JEQ_K, 19, 0, IPPROTO_HOMA },                                 // 3: Homa ? 23 : 4
        { JEQ_K, 0, 14, TcpHijack.IPPROTO_TCP },                        // 4: TCP ? 5 : drop
        { LDB_ABS, 0, 0, IPV4_AT + 20 + TcpHijack.FLAGS_OFFSET },       // 5: A = TCP flags
        { JEQ_K, 0, 12, TcpHijack.FLAGS },                              // 6: SYN|RST ? 7 : drop
        { LDH_ABS, 0, 0, IPV4_AT + 20 + TcpHijack.URGENT_OFFSET },      // 7: A = urgent pointer
        { JEQ_K, 14, 10, TcpHijack.URGENT },                            // 8: Homa's ? 23 : drop
        { JEQ_K, 0, 9, ETHER_TYPE_VLAN },                               // 9: inline tag ? 10 : drop
        { LDH_ABS, 0, 0, 16 },                                          // 10: A = inner EtherType
        { JEQ_K, 0, 7, ETHER_TYPE_IPV4 },                               // 11: IPv4 ? 12 : drop
        { LDB_ABS, 0, 0, TAGGED_IPV4_AT + 9 },                          // 12: A = IP protocol
        { JEQ_K, 6, 0, IPPROTO_HOMA },                                  // 13: Homa ? 20 : 14
        { JEQ_K, 0, 4, TcpHijack.IPPROTO_TCP },                         // 14: TCP ? 15 : drop
        { LDB_ABS, 0, 0, TAGGED_IPV4_AT + 20 + TcpHijack.FLAGS_OFFSET },  // 15: A = TCP flags
        { JEQ_K, 0, 2, TcpHijack.FLAGS },                               // 16: SYN|RST ? 17 : drop
        { LDH_ABS, 0, 0, TAGGED_IPV4_AT + 20 + TcpHijack.URGENT_OFFSET }, // 17: A = urgent pointer
        { JEQ_K, 1, 0, TcpHijack.URGENT },                              // 18: Homa's ? 20 : drop
        { RET_K, 0, 0, DROP },                                          // 19: drop
        { LDX_MSH, 0, 0, TAGGED_IPV4_AT },                              // 20: X = IP header length
        { LDH_IND, 0, 0, TAGGED_IPV4_AT + DESTINATION_PORT_OFFSET },    // 21: A = destination port
        { JA, 0, 0, 2 },                                                // 22: to 25
        { LDX_MSH, 0, 0, IPV4_AT },                                     // 23: X = IP header length
        { LDH_IND, 0, 0, IPV4_AT + DESTINATION_PORT_OFFSET },           // 24: A = destination port
    };

    /** Every Homa frame, whatever its port. */
    static final int[][] ALL_PORTS = program(new int[0], 0, DROP, ACCEPT);

    private HomaFilter()
    {
    }

    /**
     * A program whose verdict on a Homa frame depends on its destination port.
     *
     * @param ports          the ports listed.
     * @param count          how many of {@code ports} to list, at most {@link #MAX_PORTS}.
     * @param listedVerdict  the verdict for a listed port: {@link #ACCEPT} or {@link #DROP}.
     * @param otherVerdict   the verdict for any other port.
     * @return the program.
     */
    static int[][] program(final int[] ports, final int count, final int listedVerdict, final int otherVerdict)
    {
        if (count > MAX_PORTS)
        {
            throw new IllegalArgumentException("at most " + MAX_PORTS + " ports in a filter: " + count);
        }
        final int[][] program = new int[PREFIX.length + 2 * count + 1][];
        System.arraycopy(PREFIX, 0, program, 0, PREFIX.length);
        int at = PREFIX.length;
        for (int i = 0; i < count; i++)
        {
            program[at++] = new int[] { JEQ_K, 0, 1, ports[i] };
            program[at++] = new int[] { RET_K, 0, 0, listedVerdict };
        }
        program[at] = new int[] { RET_K, 0, 0, otherVerdict };
        return program;
    }
}
