package dev.homa.nic;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class DriverUriTest
{
    @Test
    void typedOptionsWithUnitsAndDefaults()
    {
        final DriverUri uri = DriverUri.parse("udp://198.18.0.1:4000?pool=2k&rate=25g&GSO=false&mode=Seconds");
        assertEquals("udp", uri.scheme());
        assertEquals("198.18.0.1", uri.host());
        assertEquals(4000, uri.port());
        assertEquals(2048, uri.size("pool", 1));
        assertEquals(25_000_000_000L, uri.rate("rate", 1));
        assertFalse(uri.bool("gso", true), "names match without regard to case");
        assertEquals(TimeUnit.SECONDS, uri.choice("mode", TimeUnit.class, TimeUnit.DAYS));
        assertEquals(7, uri.size("absent", 7));
        assertTrue(uri.bool("absentSwitch", true));
        uri.requireAllRead();
    }

    @Test
    void badOptionsGetPreciseErrors()
    {
        final DriverUri unknown = DriverUri.parse("udp://127.0.0.1:1?pool=8&bogus=1");
        unknown.size("pool", 1);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, unknown::requireAllRead);
        assertTrue(ex.getMessage().contains("unknown udp option 'bogus'"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DriverUri.parse("udp://h?pool=1&pool=2"));
        assertThrows(IllegalArgumentException.class, () -> DriverUri.parse("udp://h?pool"));
        assertThrows(IllegalArgumentException.class, () -> DriverUri.parse("udp://h?pool=x").size("pool", 1));
        assertThrows(IllegalArgumentException.class, () -> DriverUri.parse("udp://h?pool=4g").size("pool", 1));
        assertThrows(IllegalArgumentException.class, () -> DriverUri.parse("udp://h?gso=yes").bool("gso", true));
        final IllegalArgumentException choice = assertThrows(IllegalArgumentException.class,
            () -> DriverUri.parse("udp://h?unit=fortnights").choice("unit", TimeUnit.class, TimeUnit.DAYS));
        assertTrue(choice.getMessage().contains("seconds"), choice.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DriverUri.parse("tcp://h").requireScheme("udp"));
    }

    @Test
    void aRegisteredFactoryOpensItsScheme()
    {
        final NicDriverFactory factory = new NicDriverFactory()
        {
            @Override
            public String scheme()
            {
                return "driver-uri-test";
            }

            @Override
            public NicDriver open(final DriverUri uri)
            {
                throw new UnsupportedOperationException("opened " + uri.authority());
            }
        };
        NicDrivers.register(factory);
        final UnsupportedOperationException opened = assertThrows(UnsupportedOperationException.class,
            () -> NicDrivers.open("driver-uri-test://here"));
        assertEquals("opened here", opened.getMessage());
        assertThrows(IllegalStateException.class, () -> NicDrivers.register(new NicDriverFactory()
        {
            @Override
            public String scheme()
            {
                return "driver-uri-test";
            }

            @Override
            public NicDriver open(final DriverUri uri)
            {
                return null;
            }
        }));
    }
}
