package dev.homa.system;

import dev.homa.nic.HostAddress;
import dev.homa.test.NetnsPair;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The test's side of an {@link EchoServer}: started in namespace B of a pair with the test's own class path, ready
 * once it has printed its address, stopped by closing its standard input. Closing this object kills the server if it
 * is still running, so that no failed test leaves one behind.
 */
final class EchoServerProcess implements AutoCloseable
{
    private static final int STOP_SECONDS = 30;

    private final Process process;
    private final BufferedReader output;
    private final long address;

    private EchoServerProcess(final Process process) throws IOException
    {
        this.process = process;
        this.output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        final List<String> early = new ArrayList<>();
        String line;
        while (null != (line = output.readLine()) && !line.startsWith(EchoServer.READY))
        {
            early.add(line);
        }
        if (null == line)
        {
            process.destroyForcibly();
        }
        assertNotNull(line, () -> "echo server exited before it was ready: " + early);
        address = HostAddress.parseIpv4(line.substring(EchoServer.READY.length()).trim());
    }

    /**
     * A packet echo.
     *
     * @param pair the namespaces: the server runs in B, its client is A's address.
     * @param uri  the server's driver URI, opened in B.
     * @return the server, ready.
     * @throws IOException if it cannot be started.
     */
    static EchoServerProcess packets(final NetnsPair pair, final String uri) throws IOException
    {
        final List<String> command = java(List.of());
        command.addAll(List.of("packet", uri, pair.ipA()));
        return new EchoServerProcess(pair.start(pair.nsB(), command.toArray(String[]::new)));
    }

    /**
     * A Homa RPC echo.
     *
     * @param pair the namespaces: the server runs in B, its client is A's address.
     * @param uri  the server's driver URI, opened in B.
     * @param port the Homa port it serves.
     * @param settings {@code homa.*} system properties of the server's transport, e.g. {@code
     *                 -Dhoma.receive.pool.bytes=...}.
     * @return the server, ready.
     * @throws IOException if it cannot be started.
     */
    static EchoServerProcess rpcs(final NetnsPair pair, final String uri, final int port, final String... settings)
        throws IOException
    {
        final List<String> command = java(List.of(settings));
        command.addAll(List.of("rpc", uri, pair.ipA(), String.valueOf(port)));
        return new EchoServerProcess(pair.start(pair.nsB(), command.toArray(String[]::new)));
    }

    private static List<String> java(final List<String> settings)
    {
        final List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx1g", "--enable-native-access=ALL-UNNAMED",
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"));
        command.addAll(settings);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), EchoServer.class.getName()));
        return command;
    }

    /**
     * @return the address the server's driver is bound to.
     */
    long address()
    {
        return address;
    }

    /**
     * @return true while the server runs.
     */
    boolean isAlive()
    {
        return process.isAlive();
    }

    /**
     * Tell the server to stop, without waiting.
     *
     * @throws IOException if its standard input cannot be closed.
     */
    void requestStop() throws IOException
    {
        process.getOutputStream().close();
    }

    /**
     * Tell the server to stop and wait until it has.
     *
     * @return how many packets it echoed or requests it answered.
     * @throws Exception if it does not stop cleanly within {@value #STOP_SECONDS} s.
     */
    long stop() throws Exception
    {
        requestStop();
        assertTrue(process.waitFor(STOP_SECONDS, TimeUnit.SECONDS), "echo server did not stop");
        final List<String> rest = output.lines().toList();
        rest.forEach((line) -> System.out.println("server: " + line));
        assertEquals(0, process.exitValue(), () -> "echo server exit status; its output: " + rest);
        final String done = rest.stream().filter((line) -> line.startsWith(EchoServer.DONE + " ")).findFirst()
            .orElseThrow(() -> new AssertionError("echo server printed no " + EchoServer.DONE + ": " + rest));
        return Long.parseLong(done.split(" ")[1]);
    }

    @Override
    public void close()
    {
        process.destroyForcibly();
    }
}
