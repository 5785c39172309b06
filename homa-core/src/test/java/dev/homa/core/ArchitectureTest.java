package dev.homa.core;

import dev.homa.test.CompiledClasses;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shape of the module, checked on its compiled classes: no package depends on itself through others, the
 * descriptor exports only the API, the wire format, the counters and the workloads, and the API package shows
 * users the API types only (the engine beside them is package-private).
 */
final class ArchitectureTest
{
    private static final CompiledClasses CLASSES = CompiledClasses.of(HomaTransport.class);

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
}
