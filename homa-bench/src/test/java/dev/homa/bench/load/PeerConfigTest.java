package dev.homa.bench.load;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transports by table name: a variant runs as its base with the base's system properties and then its own, so that
 * its own win; a variant must be declared and built on a Homa transport; the open loop, whose loads are fractions of
 * a TCP peer's capacity, needs one.
 */
@Timeout(10)
class PeerConfigTest
{
    private static final List<String> HOMA_OPTIONS = List.of("-Dhoma.idle.spin=50us");

    @Test
    void aVariantRunsAsItsBaseWithItsOwnSettingsLast()
    {
        final Map<String, List<String>> variants =
            Map.of("homa-raw+big", List.of("-Dhoma.max.incoming.bytes=2m", "-Dhoma.idle.spin=1ms"));

        final PeerConfig base = PeerConfig.parse("homa-raw", HOMA_OPTIONS, variants);
        final PeerConfig variant = PeerConfig.parse("homa-raw+big", HOMA_OPTIONS, variants);

        assertEquals("homa-raw+big", variant.name());
        assertEquals(base.peer(), variant.peer());
        assertEquals(base.homaDriver(), variant.homaDriver());
        assertEquals(base.dedicated(), variant.dedicated());
        assertEquals(base.uriOptions(), variant.uriOptions());
        assertEquals(List.of("-Dhoma.idle.spin=50us", "-Dhoma.max.incoming.bytes=2m", "-Dhoma.idle.spin=1ms"),
            variant.jvmOptions(), "the base's settings, then the variant's, which the JVM lets win");
        assertEquals(HOMA_OPTIONS, base.jvmOptions(), "the base keeps its own settings");
    }

    @Test
    void aVariantOfTheDefaultTransportTakesOnlyItsOwnSettings()
    {
        final PeerConfig variant = PeerConfig.parse("homa-default+big", HOMA_OPTIONS,
            Map.of("homa-default+big", List.of("-Dhoma.max.incoming.bytes=2m")));

        assertTrue(variant.dedicated());
        assertEquals(List.of("-Dhoma.max.incoming.bytes=2m"), variant.jvmOptions());
    }

    @Test
    void anUndeclaredOrNonHomaVariantIsRefused()
    {
        final IllegalArgumentException undeclared = assertThrows(IllegalArgumentException.class,
            () -> PeerConfig.parse("homa+big", HOMA_OPTIONS, Map.of()));
        assertTrue(undeclared.getMessage().contains("--variant homa+big="), undeclared.getMessage());

        final IllegalArgumentException tcp = assertThrows(IllegalArgumentException.class,
            () -> PeerConfig.parse("nio+big", HOMA_OPTIONS, Map.of("nio+big", List.of("-Dx=1"))));
        assertTrue(tcp.getMessage().contains("Homa transport"), tcp.getMessage());
    }

    @Test
    void theOpenLoopNeedsATcpPeerToSizeItsLoads()
    {
        final IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
            () -> PeerConfig.requireTcpForOpenLoop(List.of("echo", "open"), List.of("homa", "homa+big")));
        assertTrue(error.getMessage().contains("name nio or netty in --transports"), error.getMessage());
        PeerConfig.requireTcpForOpenLoop(List.of("open"), List.of("homa", " netty"));
        PeerConfig.requireTcpForOpenLoop(List.of("echo", "outstanding"), List.of("homa"));
    }
}
