package dev.homa.examples.ping;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.homa.nic.capture.PcapWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * homa-ping end to end on the in-process fabric (no privileges): the client runs its own server, every RPC comes
 * back, percentiles are printed, and the capture holds the frames of both directions.
 */
class HomaPingTest
{
    @Test
    @Timeout(30)
    void loopbackClientMeasuresEveryRpcAndCapturesTheFrames(@TempDir final Path directory) throws Exception
    {
        final Path capture = directory.resolve("ping.pcap");
        final ByteArrayOutputStream output = new ByteArrayOutputStream();
        final PrintStream original = System.out;
        final int status;
        System.setOut(new PrintStream(output, true, StandardCharsets.UTF_8));
        try
        {
            status = new CommandLine(new HomaPing()).execute("client", "--driver", "loopback://pingtest/198.18.0.1",
                "--count", "200", "--warmup", "20", "--size", "300", "--capture", capture.toString());
        }
        finally
        {
            System.setOut(original);
        }
        final String text = output.toString(StandardCharsets.UTF_8);

        assertEquals(0, status, text);
        assertTrue(text.contains("200 round trips of 300-byte request and response, 0 failed"), text);
        assertTrue(text.contains("p50"), text);
        // At least one request and one response frame per RPC, each a record header plus frame bytes.
        final long minimum = PcapWriter.FILE_HEADER_LENGTH + 2L * 220 * (PcapWriter.RECORD_HEADER_LENGTH + 300);
        assertTrue(Files.size(capture) > minimum, "capture of " + Files.size(capture) + " bytes");
    }

    @Test
    @Timeout(10)
    void aBadDriverUriIsOneLineAndStatusTwo()
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final PrintStream original = System.err;
        final int status;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try
        {
            status = dev.homa.examples.Cli.execute(new HomaPing(), "client", "--driver", "carrier-pigeon://coop",
                "--server", "198.18.0.2");
        }
        finally
        {
            System.setErr(original);
        }
        final String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, status, text);
        assertEquals(1, text.lines().count(), text);
        assertTrue(text.startsWith("homa-ping client: ") && text.contains("carrier-pigeon"), text);
    }

    @Test
    @Timeout(10)
    void aServerCannotUseTheInProcessFabric()
    {
        final int status = new CommandLine(new HomaPing()).execute("server", "--driver", "loopback://x/198.18.0.2");

        assertEquals(2, status);
    }
}
