package dev.homa.nic.netns;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test support: where the Wireshark dissector {@code docs/wireshark/homa.lua} is, from a module's directory.
 */
public final class LuaDissector
{
    private LuaDissector()
    {
    }

    /**
     * @return the script's path.
     * @throws IllegalStateException if it is not found above the working directory.
     */
    public static Path locate()
    {
        // Tests run in the module directory; the script lives at the repository root.
        Path directory = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (null != directory)
        {
            final Path candidate = directory.resolve("docs/wireshark/homa.lua");
            if (Files.isRegularFile(candidate))
            {
                return candidate;
            }
            directory = directory.getParent();
        }
        throw new IllegalStateException("docs/wireshark/homa.lua not found above " + System.getProperty("user.dir"));
    }
}
