package dev.homa.nic.udp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver needs no privilege: a child JVM stripped of every capability (setpriv empties its bounding, inherited
 * and ambient sets, so SO_PRIORITY 7, which needs CAP_NET_ADMIN, is refused and falls back to 6) still opens both
 * drivers, attaches the steering program, and receives every level with its priority; its receive buffers are what
 * {@code SO_RCVBUF} gives up to {@code net.core.rmem_max}.
 */
class UdpUnprivilegedTest
{
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void runsWithoutAnyCapability() throws Exception
    {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is missing");
        final List<String> command = List.of(
            "setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all",
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx64m", "-XX:TieredStopAtLevel=1",
            "--enable-native-access=ALL-UNNAMED",
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"),
            UdpUnprivilegedProbe.class.getName());
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(50, TimeUnit.SECONDS), "child did not finish");
        System.out.println("unprivileged child: " + output.trim());
        Assumptions.assumeFalse(output.contains("Operation not permitted") && output.contains("setpriv"),
            "setpriv may not change capabilities here: " + output);
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("OK steering=true"), output);
        assertTrue(output.contains("soPriority7=6 tos7=224"),
            "level 7 keeps CS7 on the wire, skb priority 6: " + output);
        final Path rmemMaxFile = Path.of("/proc/sys/net/core/rmem_max");
        final long rmemMax = Long.parseLong(Files.readAllLines(rmemMaxFile).get(0).trim());
        final long wanted = new UdpDriverContext().socketReceiveBufferBytes();
        assertTrue(output.contains(" rcvbuf=" + 2 * Math.min(wanted, rmemMax) + ";"),
            "without CAP_NET_ADMIN the receive buffer is the plain SO_RCVBUF, capped by rmem_max " + rmemMax + ": " +
            output);
    }
}
