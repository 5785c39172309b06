package dev.homa.test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's effective Linux capabilities ({@code CapEff} in {@code /proc/self/status}), for tests that need a
 * privilege and skip with a reason without it.
 */
public final class Capabilities
{
    /** Bit of {@code CAP_NET_ADMIN}. */
    public static final int CAP_NET_ADMIN = 12;
    /** Bit of {@code CAP_SYS_ADMIN}. */
    public static final int CAP_SYS_ADMIN = 21;

    private Capabilities()
    {
    }

    /**
     * @return the effective capability set as a bit mask, 0 if the kernel does not say.
     * @throws IOException if {@code /proc/self/status} cannot be read.
     */
    public static long effective() throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
        {
            if (line.startsWith("CapEff:"))
            {
                return Long.parseUnsignedLong(line.substring(7).trim(), 16);
            }
        }
        return 0;
    }

    /**
     * @param capability a bit number such as {@link #CAP_NET_ADMIN}.
     * @return true if the process has it.
     * @throws IOException if {@code /proc/self/status} cannot be read.
     */
    public static boolean has(final int capability) throws IOException
    {
        return 0 != (effective() & (1L << capability));
    }
}
