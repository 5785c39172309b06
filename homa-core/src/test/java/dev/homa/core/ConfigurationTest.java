package dev.homa.core;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The context's settings have one source of truth: every setter has a system property ({@code X_PROP_NAME}) and a
 * default ({@code X_DEFAULT}, {@code X_DEFAULT_NS}) that a new context starts from, and the property lists of the
 * {@link Configuration} Javadoc and of the README are exactly the properties there are.
 */
final class ConfigurationTest
{
    /** Settings that take an object no property can name; each is documented on its setter. */
    private static final Set<String> OBJECT_SETTINGS = Set.of(
        "driver", "ownsDriver", "clock", "epochClock", "idleStrategy", "receiveIdleStrategySupplier", "errorHandler",
        "poolMemory");
    private static final Pattern PROPERTY = Pattern.compile("homa\\.[a-z.]*[a-z]");

    @Test
    void everySetterHasAPropertyAndADefaultThatANewContextStartsFrom() throws Exception
    {
        final HomaTransport.Context fresh = new HomaTransport.Context();
        final TreeMap<String, String> properties = new TreeMap<>();
        for (final String setter : setters())
        {
            if (OBJECT_SETTINGS.contains(setter))
            {
                continue;
            }
            final Field property = constant(setter, "_PROP_NAME");
            if (null == property)
            {
                fail("setter " + setter + " has no " + constantBase(setter) + "_PROP_NAME");
            }
            final String name = (String)property.get(null);
            assertTrue(PROPERTY.matcher(name).matches(), name);
            assertEquals(null, properties.put(name, setter), "two setters share " + name);
            final Field defaultValue = null != constant(setter, "_DEFAULT") ?
                constant(setter, "_DEFAULT") : constant(setter, "_DEFAULT_NS");
            final Object value = HomaTransport.Context.class.getMethod(setter).invoke(fresh);
            if (null == defaultValue)
            {
                assertEquals(null, value, setter + " has no default constant, so it starts unset");
            }
            else
            {
                assertEquals(defaultValue.get(null), value, setter + " starts from its default");
            }
        }
        assertTrue(properties.size() > 50, properties.toString());
        assertEquals(properties.keySet(), listedIn(Path.of("src/main/java/dev/homa/core/Configuration.java"),
            "<pre>", "</pre>"), "Configuration's Javadoc lists every property");
        assertEquals(properties.keySet(), listedIn(Path.of("../README.md"), "## Settings", "## Tools"),
            "the README lists every property");
    }

    @Test
    void aPropertyOverridesTheDefaultAndABadOneIsNamed()
    {
        System.setProperty(HomaTransport.Context.THREADING_MODE_PROP_NAME, "dedicated");
        System.setProperty(HomaTransport.Context.STATIC_CUTOFFS_PROP_NAME, "1m,1m,1m,1m,1m,15000,2800,200");
        System.setProperty(HomaTransport.Context.COMMAND_TIMEOUT_PROP_NAME, "250ms");
        try
        {
            final HomaTransport.Context ctx = new HomaTransport.Context();
            assertEquals(ThreadingMode.DEDICATED, ctx.threadingMode());
            assertEquals(200, ctx.staticCutoffs()[7]);
            assertEquals(1 << 20, ctx.staticCutoffs()[0]);
            assertEquals(250_000_000L, ctx.commandTimeoutNs());
            System.setProperty(HomaTransport.Context.THREADING_MODE_PROP_NAME, "threads");
            final HomaConfigurationException error =
                org.junit.jupiter.api.Assertions.assertThrows(HomaConfigurationException.class,
                    HomaTransport.Context::new);
            assertTrue(error.getMessage().startsWith("homa.threading.mode is not one of"), error.getMessage());
        }
        finally
        {
            System.clearProperty(HomaTransport.Context.THREADING_MODE_PROP_NAME);
            System.clearProperty(HomaTransport.Context.STATIC_CUTOFFS_PROP_NAME);
            System.clearProperty(HomaTransport.Context.COMMAND_TIMEOUT_PROP_NAME);
        }
    }

    private static Set<String> setters()
    {
        final Set<String> names = new TreeSet<>();
        for (final Method method : HomaTransport.Context.class.getMethods())
        {
            // Inherited setters appear through the access bridges javac adds, typed by the declaring class.
            final boolean returnsContext = Settings.class.isAssignableFrom(method.getReturnType());
            if (!Modifier.isStatic(method.getModifiers()) && 1 == method.getParameterCount() && returnsContext)
            {
                names.add(method.getName());
            }
        }
        return names;
    }

    private static String constantBase(final String setter)
    {
        final String base = setter.endsWith("Ns") ? setter.substring(0, setter.length() - 2) : setter;
        return base.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT);
    }

    private static Field constant(final String setter, final String suffix)
    {
        try
        {
            final Field field = HomaTransport.Context.class.getField(constantBase(setter) + suffix);
            field.setAccessible(true);
            return field;
        }
        catch (final NoSuchFieldException ex)
        {
            return null;
        }
    }

    private static Set<String> listedIn(final Path file, final String from, final String to) throws IOException
    {
        final String text = Files.readString(file);
        final int start = text.indexOf(from);
        final int end = text.indexOf(to, start);
        assertTrue(start >= 0 && end > start, file + " has no section " + from + " .. " + to);
        final Set<String> names = new TreeSet<>();
        final Matcher matcher = PROPERTY.matcher(text.substring(start, end));
        while (matcher.find())
        {
            names.add(matcher.group());
        }
        return names;
    }
}
