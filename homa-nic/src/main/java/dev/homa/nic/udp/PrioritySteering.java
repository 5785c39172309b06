package dev.homa.nic.udp;

import io.netty.channel.unix.Socket;
import org.agrona.BufferUtil;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Receive-side priority recovery for the driver's SO_REUSEPORT group of one socket per level.
 * <p>
 * Without help the kernel picks the socket of a reuseport group by a hash of the addresses and ports, so the socket
 * a datagram arrives on says nothing about its priority, and Netty does not expose IP_RECVTOS control messages. A
 * three-instruction classic BPF program attached with {@code SO_ATTACH_REUSEPORT_CBPF} makes the kernel choose the
 * socket by the datagram's IP TOS byte instead:
 * <pre>
 *   ldb [SKF_NET_OFF + 1]   ; A = TOS byte of the IPv4 header (the reuseport program sees the UDP payload)
 *   rsh #5                  ; A = class selector CS0..CS7 = Homa level (ECN and low DSCP bits dropped)
 *   ret A                   ; index of the socket in the group = bind order = level
 * </pre>
 * The driver binds the sockets in level order, so the index is the level and the receiving socket names the
 * priority the sender put on the wire. The program needs no privilege. Where it cannot be attached the kernel keeps
 * hashing and received packets report priority -1.
 */
final class PrioritySteering
{
    static final int SOL_SOCKET = 1;
    static final int SO_ATTACH_REUSEPORT_CBPF = 51;

    private static final int BPF_LD_B_ABS = 0x30;
    private static final int BPF_ALU_RSH_K = 0x74;
    private static final int BPF_RET_A = 0x16;
    private static final int BPF_RET_K = 0x06;
    static final int IPPROTO_IP = 0;
    static final int IP_RECVTOS = 13;
    private static final int SKF_NET_OFF = -0x100000;
    private static final int IPV4_TOS_OFFSET = 1;
    private static final int CLASS_SELECTOR_SHIFT = 5;

    private static final int SOCK_FILTER_LENGTH = 8;
    private static final int SOCK_FPROG_LENGTH = 16;

    private PrioritySteering()
    {
    }

    /**
     * Attach the TOS steering program to the reuseport group of {@code socket}.
     *
     * @param socket any bound member of the group.
     * @throws IOException if the kernel refuses the program.
     */
    static void attach(final Socket socket) throws IOException
    {
        final ByteBuffer filter = ByteBuffer.allocateDirect(3 * SOCK_FILTER_LENGTH).order(ByteOrder.nativeOrder());
        instruction(filter, BPF_LD_B_ABS, SKF_NET_OFF + IPV4_TOS_OFFSET);
        instruction(filter, BPF_ALU_RSH_K, CLASS_SELECTOR_SHIFT);
        instruction(filter, BPF_RET_A, 0);

        // struct sock_fprog { unsigned short len; struct sock_filter *filter; } - 8-byte aligned pointer on LP64.
        final ByteBuffer program = ByteBuffer.allocateDirect(SOCK_FPROG_LENGTH).order(ByteOrder.nativeOrder());
        program.putShort(0, (short)3);
        program.putLong(8, BufferUtil.address(filter));
        socket.setRawOpt(SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, program);
        // The kernel copied the program during the call; keep the filter reachable until then.
        java.lang.ref.Reference.reachabilityFence(filter);
    }

    /**
     * Attach a program that sends every datagram to the first socket of the group ({@code ret #0}), so that one
     * socket receives everything; the level then comes from the {@code IP_TOS} control message that
     * {@code IP_RECVTOS} adds to each datagram (native datapath).
     *
     * @param socket any bound member of the group.
     * @throws IOException if the kernel refuses the program.
     */
    static void attachFirstSocketOnly(final Socket socket) throws IOException
    {
        final ByteBuffer filter = ByteBuffer.allocateDirect(SOCK_FILTER_LENGTH).order(ByteOrder.nativeOrder());
        instruction(filter, BPF_RET_K, 0);
        final ByteBuffer program = ByteBuffer.allocateDirect(SOCK_FPROG_LENGTH).order(ByteOrder.nativeOrder());
        program.putShort(0, (short)1);
        program.putLong(8, BufferUtil.address(filter));
        socket.setRawOpt(SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, program);
        java.lang.ref.Reference.reachabilityFence(filter);
    }

    private static void instruction(final ByteBuffer filter, final int code, final int k)
    {
        filter.putShort((short)code);
        filter.put((byte)0);
        filter.put((byte)0);
        filter.putInt(k);
    }
}
