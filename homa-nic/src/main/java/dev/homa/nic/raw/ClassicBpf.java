package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.homa.nic.frame.EthernetFlyweight.ETHER_TYPE_IPV4;
import static dev.homa.nic.frame.EthernetFlyweight.ETHER_TYPE_VLAN;
import static dev.homa.nic.frame.FrameLayout.IPPROTO_HOMA;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Classic BPF socket filters, as {code, jt, jf, k} instructions, and their attachment with
 * {@code SO_ATTACH_FILTER}.
 */
final class ClassicBpf
{
    private static final int BPF_LDH_ABS = 0x28;
    private static final int BPF_LDB_ABS = 0x30;
    private static final int BPF_JEQ_K = 0x15;
    private static final int BPF_RET_K = 0x06;
    private static final int INSTRUCTION_LENGTH = 8;
    private static final int SOCK_FPROG_LENGTH = 16;

    /**
     * Passes IPv4 protocol 146 only, so other traffic never costs ring space. Offsets are from the MAC header; the
     * kernel has usually moved the 802.1Q tag into metadata already, but a tag left inline is accepted too.
     */
    static final int[][] HOMA_FILTER =
    {
        { BPF_LDH_ABS, 0, 0, 12 },                  // 0: A = EtherType
        { BPF_JEQ_K, 0, 2, ETHER_TYPE_IPV4 },       // 1: IPv4 ? 2 : 4
        { BPF_LDB_ABS, 0, 0, 14 + 9 },              // 2: A = IP protocol
        { BPF_JEQ_K, 5, 6, IPPROTO_HOMA },          // 3: Homa ? accept : drop
        { BPF_JEQ_K, 0, 5, ETHER_TYPE_VLAN },       // 4: inline tag ? 5 : drop
        { BPF_LDH_ABS, 0, 0, 16 },                  // 5: A = inner EtherType
        { BPF_JEQ_K, 0, 3, ETHER_TYPE_IPV4 },       // 6: IPv4 ? 7 : drop
        { BPF_LDB_ABS, 0, 0, 18 + 9 },              // 7: A = IP protocol
        { BPF_JEQ_K, 0, 1, IPPROTO_HOMA },          // 8: Homa ? accept : drop
        { BPF_RET_K, 0, 0, 0x4_0000 },              // 9: accept whole frame
        { BPF_RET_K, 0, 0, 0 },                     // 10: drop
    };

    /**
     * Drops everything: for sockets opened for their side effect, never read.
     */
    static final int[][] DROP_ALL_FILTER = { { BPF_RET_K, 0, 0, 0 } };

    private ClassicBpf()
    {
    }

    /**
     * Attach a program to a socket.
     *
     * @param arena   owns the program's memory for the life of the socket.
     * @param errno   errno capture state.
     * @param socket  the socket.
     * @param program {code, jt, jf, k} instructions.
     * @param name    names the program in the error message.
     * @throws RawEthernetException if the kernel refuses it.
     */
    static void attach(
        final Arena arena, final MemorySegment errno, final int socket, final int[][] program, final String name)
    {
        final MemorySegment instructions = arena.allocate((long)INSTRUCTION_LENGTH * program.length, 8);
        for (int i = 0; i < program.length; i++)
        {
            final int[] insn = program[i];
            final long offset = (long)i * INSTRUCTION_LENGTH;
            instructions.set(JAVA_SHORT, offset, (short)insn[0]);
            instructions.set(JAVA_BYTE, offset + 2, (byte)insn[1]);
            instructions.set(JAVA_BYTE, offset + 3, (byte)insn[2]);
            instructions.set(JAVA_INT, offset + 4, insn[3]);
        }
        final MemorySegment fprog = arena.allocate(SOCK_FPROG_LENGTH, 8);
        fprog.set(JAVA_SHORT, 0, (short)program.length);
        fprog.set(ADDRESS, 8, instructions);
        if (0 != LibC.setsockopt(errno, socket, LibC.SOL_SOCKET, LibC.SO_ATTACH_FILTER, fprog, SOCK_FPROG_LENGTH))
        {
            throw new RawEthernetException("attaching the " + name + " (SO_ATTACH_FILTER) failed: " +
                LibC.describe(LibC.errno(errno)));
        }
    }
}
