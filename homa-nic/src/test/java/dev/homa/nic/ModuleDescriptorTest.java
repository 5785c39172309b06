package dev.homa.nic;

import dev.homa.test.CompiledClasses;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The module descriptor exports the SPI, time, framing, capture, pool memory and the drivers, and not the Linux layer
 * beneath the drivers ({@code dev.homa.nic.linux}): its bindings take raw addresses and trust their caller, so users
 * on the module path cannot reach them. The benchmarks use them from the class path, where no descriptor applies.
 */
final class ModuleDescriptorTest
{
    @Test
    void exportsNoLinuxLayer()
    {
        assertEquals(Set.of(
            "dev.homa.nic",
            "dev.homa.nic.time",
            "dev.homa.nic.frame",
            "dev.homa.nic.capture",
            "dev.homa.nic.loopback",
            "dev.homa.nic.memory",
            "dev.homa.nic.raw",
            "dev.homa.nic.udp"), CompiledClasses.of(NicDriver.class).exportedPackages());
    }
}
