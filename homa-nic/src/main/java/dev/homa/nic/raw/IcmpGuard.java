package dev.homa.nic.raw;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.homa.nic.linux.ClassicBpf;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.SocketOptions;

import static dev.homa.nic.frame.FrameLayout.IPPROTO_HOMA;

/**
 * Keeps the kernel from answering every Homa frame with ICMP "protocol unreachable".
 * <p>
 * The kernel also sees every frame (taps do not consume) and, having no protocol 146, would answer each one. An
 * {@code AF_INET}/{@code SOCK_RAW} socket for protocol 146 with a drop-everything BPF filter makes it count the
 * packet as delivered to a raw socket, so it sends no ICMP ({@code ip_protocol_deliver_rcu}), and the filter frees
 * the clone at once. No firewall rule is needed and nothing global changes.
 */
final class IcmpGuard
{
    private final int fd;

    private IcmpGuard(final int fd)
    {
        this.fd = fd;
    }

    /**
     * Open the guard in the calling thread's network namespace.
     *
     * @param arena owns the filter program (the driver's).
     * @param errno errno capture state.
     * @return the guard, open until {@link #close()}.
     * @throws RawEthernetException if the socket cannot be opened.
     */
    static IcmpGuard open(final Arena arena, final MemorySegment errno)
    {
        final int fd = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, IPPROTO_HOMA);
        if (fd < 0)
        {
            throw new RawEthernetException("cannot open the raw IPv4 protocol-146 socket that keeps the " +
                "kernel from answering Homa with ICMP protocol-unreachable: " + LibC.describe(LibC.errno(errno)));
        }
        try
        {
            PacketSocket.attachFilter(arena, errno, fd, ClassicBpf.DROP_ALL, "ICMP guard filter");
            SocketOptions.trySetInt(arena, errno, fd, LibC.SOL_SOCKET, LibC.SO_RCVBUF, 0);
        }
        catch (final RuntimeException ex)
        {
            LibC.close(fd);
            throw ex;
        }
        return new IcmpGuard(fd);
    }

    void close()
    {
        LibC.close(fd);
    }
}
