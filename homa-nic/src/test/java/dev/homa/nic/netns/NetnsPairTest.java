package dev.homa.nic.netns;

import dev.homa.test.NetnsPair;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@link NetnsPair} builds two connected namespaces, runs code inside one through the {@link LinuxNamespaceEntry}
 * this module registers, and leaves nothing behind.
 */
final class NetnsPairTest
{
    @BeforeEach
    void requireNamespaces()
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void buildsTwoConnectedNamespacesAndTearsThemDown() throws Exception
    {
        final String nsA;
        try (NetnsPair pair = NetnsPair.create("hnstest", 7))
        {
            nsA = pair.nsA();
            assertTrue(pair.exec(pair.nsA(), "ip", "-4", "addr", "show", "dev", pair.ifA()).contains("198.18.7.1/24"));
            assertTrue(pair.exec(pair.nsB(), "ip", "-4", "addr", "show", "dev", pair.ifB()).contains("198.18.7.2/24"));

            // A thread that entered namespace A sees A's interfaces through /proc/thread-self.
            final String devices = pair.callIn(pair.nsA(),
                () -> Files.readString(Path.of("/proc/thread-self/net/dev")));
            assertTrue(devices.contains(NetnsPair.IF_A), devices);
            assertFalse(devices.contains(NetnsPair.IF_B), devices);
        }
        assertFalse(new ProcessBuilder("ip", "netns", "list").start().inputReader().lines()
            .anyMatch((line) -> line.startsWith(nsA + " ") || line.equals(nsA)));
    }
}
