package dev.homa.core;

import dev.homa.test.CompiledClasses;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shape of the module, checked on its compiled classes: no package depends on itself through others, the
 * descriptor exports only the API, the wire format, the counters and the workloads, and the API package shows
 * users the API types only (the engine beside them is package-private); and no production class of this module, the
 * benchmarks or the examples is longer than a reader can hold: one concept per file.
 */
final class ArchitectureTest
{
    private static final CompiledClasses CLASSES = CompiledClasses.of(HomaTransport.class);
    private static final int MAX_LINES = 600;

    @Test
    void noPackageCycle()
    {
        assertEquals(List.of(), CLASSES.packageCycles("dev.homa"), "package cycles");
    }

    @Test
    void descriptorExportsNoEnginePackage()
    {
        assertEquals(Set.of("dev.homa.core", "dev.homa.core.wire", "dev.homa.core.metrics", "dev.homa.core.workload"),
            CLASSES.exportedPackages());
    }

    @Test
    void apiPackageShowsOnlyTheApi()
    {
        assertEquals(Set.of(
            "Configuration",
            "HomaAbortedException",
            "HomaConfigurationException",
            "HomaException",
            "HomaLimitException",
            "HomaMessage",
            "HomaSocket",
            "HomaTimeoutException",
            "HomaTransport",
            "HomaUnreachableException",
            "PoolMemory",
            "ProtocolIdleStrategy",
            "ThreadingMode"), CLASSES.publicTypes("dev.homa.core"));
    }

    @Test
    void noProductionClassIsLongerThanTheLimit() throws IOException
    {
        final TreeMap<String, Long> tooLong = new TreeMap<>();
        for (final String module : List.of(".", "../homa-bench", "../homa-examples"))
        {
            final Path sources = Path.of(module, "src/main/java");
            try (Stream<Path> files = Files.walk(sources))
            {
                files.filter((file) -> file.toString().endsWith(".java")).forEach((file) ->
                {
                    final long lines = lineCount(file);
                    if (lines > MAX_LINES)
                    {
                        tooLong.put(sources.relativize(file).toString(), lines);
                    }
                });
            }
        }
        assertEquals(Map.of(), tooLong, "classes over " + MAX_LINES + " lines");
    }

    private static long lineCount(final Path file)
    {
        try (Stream<String> lines = Files.lines(file))
        {
            return lines.count();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
