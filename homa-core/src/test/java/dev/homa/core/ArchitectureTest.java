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
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shape of the module, checked on its compiled classes: no package depends on itself through others, the
 * descriptor exports only the API, the wire format, the counters and the workloads, and the API package shows
 * users the API types only (the engine beside them is package-private); no production class of this module, the
 * benchmarks or the examples is longer than a reader can hold: one concept per file; and the repository has one set
 * of native bindings, homa-nic's {@code dev.homa.nic.linux}.
 */
final class ArchitectureTest
{
    private static final CompiledClasses CLASSES = CompiledClasses.of(HomaTransport.class);
    private static final int MAX_LINES = 600;
    /** A downcall needs a Linker of java.lang.foreign: naming that type, by import or by use, is binding. */
    private static final Pattern LINKER =
        Pattern.compile("\\bjava\\.lang\\.foreign\\.(?:Linker\\b|\\*)|\\bLinker\\s*\\.");
    private static final Path LINUX_LAYER = Path.of("homa-nic/src/main/java/dev/homa/nic/linux");

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

    @Test
    void onlyTheLinuxLayerBindsNativeCode() throws IOException
    {
        final Path root = Path.of("..").toAbsolutePath().normalize();
        final Set<String> binding = new TreeSet<>();
        try (Stream<Path> modules = Files.list(root))
        {
            for (final Path source : modules.map((module) -> module.resolve("src")).filter(Files::isDirectory).toList())
            {
                try (Stream<Path> files = Files.walk(source))
                {
                    files.filter((file) -> file.toString().endsWith(".java"))
                        .filter((file) -> !root.relativize(file).startsWith(LINUX_LAYER))
                        .filter((file) -> LINKER.matcher(read(file)).find())
                        .forEach((file) -> binding.add(root.relativize(file).toString()));
                }
            }
        }
        assertEquals(Set.of(), binding, "native bindings outside dev.homa.nic.linux");
    }

    private static String read(final Path file)
    {
        try
        {
            return Files.readString(file);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
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
