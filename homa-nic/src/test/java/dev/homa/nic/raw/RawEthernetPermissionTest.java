package dev.homa.nic.raw;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.homa.nic.linux.LibC;
import dev.homa.test.NetnsPair;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Without CAP_NET_RAW the driver must fail at start with a message that names the capability.
 */
class RawEthernetPermissionTest
{
    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void permissionErrorsNameTheMissingCapability()
    {
        for (final int errno : new int[]{ LibC.EPERM, LibC.EACCES })
        {
            final String message = PacketSocket.socketFailure(errno, "eth7");
            assertTrue(message.contains("CAP_NET_RAW"), message);
            assertTrue(message.contains("eth7"), message);
            assertTrue(message.contains(LibC.errnoName(errno)), message);
        }
        final String other = PacketSocket.socketFailure(LibC.ENOBUFS, "eth7");
        assertFalse(other.contains("CAP_NET_RAW"), other);
        assertTrue(other.contains("ENOBUFS"), other);
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void childJvmWithoutCapNetRawFailsWithAMessageNamingIt() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is missing");
        try (NetnsPair pair = NetnsPair.create("hrawcap", 2))
        {
            // Control: the same child with its capabilities opens the driver.
            final Result allowed = runChild(pair.nsA(), pair.ifA(), false);
            assertEquals(0, allowed.exitCode, allowed.output);
            assertTrue(allowed.output.contains("OPENED"), allowed.output);

            // Root minus CAP_NET_RAW in the bounding set: exec leaves the JVM without it.
            final Result denied = runChild(pair.nsA(), pair.ifA(), true);
            System.out.println("without CAP_NET_RAW: " + denied.output.trim());
            assertEquals(3, denied.exitCode, denied.output);
            assertTrue(denied.output.contains("REFUSED: "), denied.output);
            assertTrue(denied.output.contains("needs the CAP_NET_RAW capability"), denied.output);
            assertTrue(denied.output.contains("EPERM"), denied.output);
        }
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void ordinaryUserIsToldWhichCapabilityIsMissing() throws Exception
    {
        Assumptions.assumeTrue(null == NetnsPair.skipReasonIfUnavailable(), NetnsPair::skipReasonIfUnavailable);
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is missing");
        // The user "nobody" cannot read root's Maven repository: give it world-readable copies of the jars.
        final Path jars = Files.createTempDirectory("hraw-cp");
        try (NetnsPair pair = NetnsPair.create("hrawcap", 3))
        {
            jars.toFile().setReadable(true, false);
            jars.toFile().setExecutable(true, false);
            final List<String> classPath = new ArrayList<>();
            for (final String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator))
            {
                final Path path = Path.of(entry);
                if (Files.isDirectory(path))
                {
                    classPath.add(entry);
                }
                else if (path.getFileName().toString().startsWith("agrona") ||
                    path.getFileName().toString().startsWith("slf4j"))
                {
                    final Path copy = Files.copy(path, jars.resolve(path.getFileName()));
                    copy.toFile().setReadable(true, false);
                    classPath.add(copy.toString());
                }
            }
            final List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", pair.nsA(),
                "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-cp", String.join(java.io.File.pathSeparator, classPath),
                RawEthernetPermissionProbe.class.getName(), pair.ifA()));
            final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "child did not finish");
            System.out.println("as nobody: " + output.trim());
            assertEquals(3, process.exitValue(), output);
            assertTrue(output.contains("needs the CAP_NET_RAW capability"), output);
        }
        finally
        {
            try (var files = Files.list(jars))
            {
                for (final Path file : files.toList())
                {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(jars);
        }
    }

    private record Result(int exitCode, String output)
    {
    }

    private static Result runChild(final String ns, final String ifName, final boolean dropNetRaw)
        throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        if (dropNetRaw)
        {
            command.addAll(List.of("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw"));
        }
        command.addAll(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx64m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            "--enable-native-access=ALL-UNNAMED",
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"),
            RawEthernetPermissionProbe.class.getName(), ifName));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "child did not finish");
        return new Result(process.exitValue(), output);
    }
}
