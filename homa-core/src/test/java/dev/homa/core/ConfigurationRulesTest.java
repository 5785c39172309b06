package dev.homa.core;

import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code conclude()} holds the one rule set: every value of a number setting that it accepts starts a transport, and
 * every value it refuses is refused with a {@link HomaConfigurationException}, never with an engine's own exception
 * at launch.
 */
final class ConfigurationRulesTest
{
    private static final long[] VALUES = { -1, 0, 1, 2, 3, 7, 8, 9, 100, 4096, 65_536, 1 << 20 };
    private static final long POOL_BYTES = 4 << 20;

    @Test
    @Timeout(120)
    void everyValueConcludeAcceptsLaunches() throws Exception
    {
        final List<String> failures = new ArrayList<>();
        int launched = 0;
        int refused = 0;
        String lastRefusal = "";
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            for (final Method setter : numberSetters())
            {
                for (final long value : VALUES)
                {
                    final HomaTransport.Context ctx = new HomaTransport.Context()
                        .driver(fabric.driverAt(0))
                        .ownsDriver(false)
                        .clock(fabric.clock())
                        .threadingMode(ThreadingMode.INVOKER)
                        .receivePoolBytes(POOL_BYTES)
                        .sendPoolBytes(POOL_BYTES)
                        .countersEnabled(false);
                    final Object argument = int.class == setter.getParameterTypes()[0] ? (Object)(int)value : value;
                    if (int.class == setter.getParameterTypes()[0] && value != (int)value)
                    {
                        continue;
                    }
                    try
                    {
                        setter.invoke(ctx, argument);
                    }
                    catch (final InvocationTargetException ex)
                    {
                        failures.add(setter.getName() + "(" + value + ") setter threw " + ex.getCause());
                        continue;
                    }
                    try (HomaTransport transport = HomaTransport.launch(ctx))
                    {
                        launched++;
                    }
                    catch (final HomaConfigurationException ex)
                    {
                        if (ctx.isConcluded())
                        {
                            failures.add(setter.getName() + "(" + value + ") concluded, then launch failed: " + ex);
                        }
                        refused++;
                        lastRefusal = ex.getMessage();
                    }
                    catch (final RuntimeException ex)
                    {
                        failures.add(setter.getName() + "(" + value + ") " +
                            (ctx.isConcluded() ? "concluded, then launch failed: " : "conclude threw ") + ex);
                    }
                }
            }
        }
        System.out.println("number settings: " + launched + " values launched, " + refused + " refused by conclude");
        assertEquals(List.of(), failures);
        assertTrue(launched > 100 && refused > 50,
            "launched " + launched + ", refused " + refused + ", the last for " + lastRefusal);
    }

    @Test
    void staticCutoffsAreCheckedAsTheEngineUsesThem()
    {
        try (Fabric fabric = Fabric.builder().mode(FabricMode.INSTANT).hosts(1).build())
        {
            final HomaConfigurationException negative = assertThrows(HomaConfigurationException.class,
                () -> new HomaTransport.Context().driver(fabric.driverAt(0))
                .staticCutoffs(new int[]{ 100, 90, 80, 70, 60, 50, 40, -1 }).conclude());
            assertTrue(negative.getMessage().startsWith("staticCutoffs: "), negative.getMessage());
            final HomaConfigurationException rising = assertThrows(HomaConfigurationException.class,
                () -> new HomaTransport.Context().driver(fabric.driverAt(0))
                .staticCutoffs(new int[]{ 100, 90, 80, 70, 60, 50, 40, 41 }).conclude());
            assertTrue(rising.getMessage().startsWith("staticCutoffs[7]"), rising.getMessage());
        }
    }

    private static Collection<Method> numberSetters()
    {
        // Inherited setters appear twice, as declared and through the bridges javac adds: one per name suffices.
        final Map<String, Method> setters = new TreeMap<>();
        for (final Method method : HomaTransport.Context.class.getMethods())
        {
            final boolean returnsContext = Settings.class.isAssignableFrom(method.getReturnType());
            if (!Modifier.isStatic(method.getModifiers()) && 1 == method.getParameterCount() && returnsContext &&
                (int.class == method.getParameterTypes()[0] || long.class == method.getParameterTypes()[0]))
            {
                setters.putIfAbsent(method.getName(), method);
            }
        }
        assertTrue(setters.size() > 40, setters.keySet().toString());
        return setters.values();
    }
}
