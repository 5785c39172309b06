package dev.homa.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import dev.homa.bench.load.LoadGenerator;
import dev.homa.bench.rtt.DriverRttBenchmark;
import dev.homa.bench.rtt.RttEchoServer;
import dev.homa.bench.sim.HomaSim;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * Every help text of the bench tools renders as written: picocli passes each description line through
 * {@link String#format}, and a bare percent sign there ("5% of a core") makes it print a warning to standard error
 * beside the help.
 */
@Timeout(30)
final class CommandHelpTest
{
    @Test
    void everyCommandsHelpRendersWithoutAWarning()
    {
        final List<String> warned = new ArrayList<>();
        for (final Object command : List.of(new LoadGenerator(), new HomaSim(), new DriverRttBenchmark(),
            new RttEchoServer()))
        {
            collect(new CommandLine(command), warned);
        }
        assertEquals(List.of(), warned);
    }

    private static void collect(final CommandLine commandLine, final List<String> warned)
    {
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final PrintStream standardError = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try
        {
            commandLine.getUsageMessage();
        }
        finally
        {
            System.setErr(standardError);
        }
        for (final String line : err.toString(StandardCharsets.UTF_8).split("\n"))
        {
            if (line.contains("[picocli WARN]"))
            {
                warned.add(commandLine.getCommandSpec().qualifiedName() + ": " + line);
            }
        }
        for (final CommandLine sub : commandLine.getSubcommands().values())
        {
            collect(sub, warned);
        }
    }
}
