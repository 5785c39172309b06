package dev.homa.examples.stat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * homa-stat reads the counters of transports running in another process: a child JVM ({@link StatTarget}) makes
 * ten RPCs over UDP, this process prints its counters files; once the child has gone, nothing is left to read and
 * homa-stat says so on one line with exit status 2.
 */
class HomaStatTest
{
    @Test
    @Timeout(60)
    void readsTheCountersOfATransportInAnotherProcess(@TempDir final Path dir) throws Exception
    {
        final Process child = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"), StatTarget.class.getName(), dir.toString()))
            .redirectErrorStream(true).start();
        try
        {
            final BufferedReader lines =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while (null != (line = lines.readLine()) && !line.startsWith("READY"))
            {
                System.out.println("child: " + line);
            }
            assertNotNull(line, "the child ended before it was ready");
            final long pid = Long.parseLong(line.substring("READY ".length()).trim());
            assertEquals(child.pid(), pid);

            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            final int status = new CommandLine(new HomaStat().out(new PrintStream(out, true, StandardCharsets.UTF_8)))
                .execute("--dir", dir.toString(), "--pid", Long.toString(pid));
            final String text = out.toString(StandardCharsets.UTF_8);
            System.out.print(text);
            assertEquals(0, status, text);
            assertTrue(text.matches("(?s).*homa-engine-127\\.0\\.0\\.1:\\d+  pid " + pid + ".*"), text);
            assertTrue(text.matches("(?s).*\\n    client_rpcs_completed +10\\n.*"), text);
            assertTrue(text.matches("(?s).*\\n    server_rpcs_created +10\\n.*"), text);
            assertTrue(text.contains("driver.packets_received"), text);

            child.getOutputStream().close();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child exits when its input ends");
            assertEquals(0, child.exitValue());
        }
        finally
        {
            child.destroyForcibly();
        }

        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final CommandLine gone = new CommandLine(new HomaStat());
        gone.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
        final int status = dev.homa.examples.Cli.execute(new HomaStat(), "--dir", dir.toString());
        assertEquals(2, status, "no transport left: a one-line error");
    }
}
