package dev.homa.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's "Use it" program, as a new user pastes it: its text is taken from README.md, compiled, and run in a
 * JVM of its own with the flags the README gives; it must print the echo and exit. Run without the
 * {@code --add-exports} flag, it must fail at launch with an error that names the flag.
 */
class ReadmeExampleTest
{
    @Test
    @Timeout(60)
    void theReadmeProgramCompilesRunsAndExits(@TempDir final Path dir) throws Exception
    {
        final Path program = writeProgram(dir);
        final Run compile = exec(List.of(Path.of(System.getProperty("java.home"), "bin", "javac").toString(),
            "-d", dir.toString(), "-cp", System.getProperty("java.class.path"), program.toString()));
        assertEquals(0, compile.status, "the README's program does not compile: " + compile.output);

        final Run run = run(dir, "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "--enable-native-access=ALL-UNNAMED");
        assertEquals(0, run.status, run.output);
        assertTrue(run.output.contains("ping answered RPC"), run.output);

        final Run noExports = run(dir, "--enable-native-access=ALL-UNNAMED");
        assertNotEquals(0, noExports.status, noExports.output);
        assertTrue(noExports.output.contains("HomaConfigurationException") &&
            noExports.output.contains("--add-exports java.base/jdk.internal.misc=ALL-UNNAMED"), noExports.output);
    }

    /**
     * The first java block after "## Use it", on a free port instead of the README's 4000 (which another test or
     * program may hold).
     */
    private static Path writeProgram(final Path dir) throws Exception
    {
        final String readme = Files.readString(findReadme(), StandardCharsets.UTF_8);
        final int section = readme.indexOf("## Use it");
        assertTrue(section >= 0, "README.md has a 'Use it' section");
        final int start = readme.indexOf("```java\n", section) + "```java\n".length();
        final int end = readme.indexOf("```", start);
        final int port;
        try (DatagramChannel probe = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0)))
        {
            port = ((InetSocketAddress)probe.getLocalAddress()).getPort();
        }
        final String source = readme.substring(start, end).replace("127.0.0.1:4000", "127.0.0.1:" + port);
        assertTrue(source.contains("public class HelloHoma"), source);
        final Path file = dir.resolve("HelloHoma.java");
        Files.writeString(file, source, StandardCharsets.UTF_8);
        return file;
    }

    private static Path findReadme()
    {
        for (Path directory = Path.of("").toAbsolutePath(); null != directory; directory = directory.getParent())
        {
            final Path readme = directory.resolve("README.md");
            if (Files.isRegularFile(readme) && Files.isRegularFile(directory.resolve("mvnw")))
            {
                return readme;
            }
        }
        throw new IllegalStateException("no README.md at the repository root above " + Path.of("").toAbsolutePath());
    }

    private static Run run(final Path dir, final String... flags) throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(flags));
        command.addAll(List.of("-cp", dir + java.io.File.pathSeparator + System.getProperty("java.class.path"),
            "HelloHoma"));
        return exec(command);
    }

    private static Run exec(final List<String> command) throws Exception
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final byte[] output = process.getInputStream().readAllBytes();
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the program exits");
        return new Run(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    }

    private record Run(int status, String output)
    {
    }
}
