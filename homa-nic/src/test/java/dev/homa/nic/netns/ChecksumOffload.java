package dev.homa.nic.netns;

import dev.homa.nic.linux.LibC;
import dev.homa.test.NetnsPair;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A device's transmit checksum offload ({@code ethtool -K IFNAME tx on|off}, through {@code SIOCETHTOOL}). With it
 * off, the stack completes every partial checksum in software before the device sees the frame
 * ({@code skb_checksum_help}), which is what a NIC would put on the wire; a veth pair otherwise passes partial
 * checksums on as they are.
 */
public final class ChecksumOffload
{
    private static final int ETHTOOL_STXCSUM = 0x17;
    private static final int IFR_DATA_OFFSET = 16;

    private ChecksumOffload()
    {
    }

    /**
     * Switch transmit checksum offload on a device of a pair's namespace.
     *
     * @param pair    the pair.
     * @param ns      namespace holding the device.
     * @param ifName  the device.
     * @param enabled offload on or off.
     * @throws Exception if the kernel refuses.
     */
    public static void transmit(final NetnsPair pair, final String ns, final String ifName, final boolean enabled)
        throws Exception
    {
        pair.callIn(ns, () ->
        {
            transmitHere(ifName, enabled);
            return null;
        });
    }

    private static void transmitHere(final String ifName, final boolean enabled)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment errno = LibC.newErrnoState(arena);
            final int fd = LibC.socket(errno, LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
            if (fd < 0)
            {
                throw new IllegalStateException("socket failed: " + LibC.describe(LibC.errno(errno)));
            }
            try
            {
                // struct ethtool_value { u32 cmd; u32 data; }, named by ifreq.ifr_data.
                final MemorySegment value = arena.allocate(8, 8);
                value.set(JAVA_INT, 0, ETHTOOL_STXCSUM);
                value.set(JAVA_INT, 4, enabled ? 1 : 0);
                final MemorySegment ifreq = arena.allocate(LibC.IFREQ_SIZE, 8);
                ifreq.setString(0, ifName);
                ifreq.set(ADDRESS, IFR_DATA_OFFSET, value);
                if (0 != LibC.ioctl(errno, fd, LibC.SIOCETHTOOL, ifreq))
                {
                    throw new IllegalStateException("ETHTOOL_STXCSUM on " + ifName + " failed: " +
                        LibC.describe(LibC.errno(errno)));
                }
            }
            finally
            {
                LibC.close(fd);
            }
        }
    }
}
