package dev.homa.nic.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Classic BPF socket filters: programs as {code, jt, jf, k} instructions, and their attachment with
 * {@code SO_ATTACH_FILTER} ({@code struct sock_filter} and {@code struct sock_fprog} of {@code <linux/filter.h>}).
 */
public final class ClassicBpf
{
    /** {@code BPF_LD | BPF_H | BPF_ABS}: A = the 16-bit word at offset k. */
    public static final int LDH_ABS = 0x28;
    /** {@code BPF_LD | BPF_B | BPF_ABS}: A = the byte at offset k. */
    public static final int LDB_ABS = 0x30;
    /** {@code BPF_JMP | BPF_JEQ | BPF_K}: A == k ? skip jt : skip jf. */
    public static final int JEQ_K = 0x15;
    /** {@code BPF_RET | BPF_K}: keep k bytes of the packet, 0 to drop it. */
    public static final int RET_K = 0x06;
    /** Drops everything: for sockets opened for their side effect, never read. */
    public static final int[][] DROP_ALL = { { RET_K, 0, 0, 0 } };

    private static final int INSTRUCTION_LENGTH = 8;
    private static final int SOCK_FPROG_LENGTH = 16;

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
     * @return 0, or the errno with which the kernel refused it.
     */
    public static int attach(final Arena arena, final MemorySegment errno, final int socket, final int[][] program)
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
        return 0 == LibC.setsockopt(errno, socket, LibC.SOL_SOCKET, LibC.SO_ATTACH_FILTER, fprog, SOCK_FPROG_LENGTH) ?
            0 : LibC.errno(errno);
    }
}
