package dev.homa.core;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * Root of a transport's {@link HomaTransport.Context}, whose settings are grouped by concept in a chain of classes
 * (limits, timers, grants, pacer, priorities, the transport's own), each holding its settings' system properties,
 * defaults, fluent setters, getters and rules. This root holds what they share: the frozen state, the self type the
 * setters return, the check that names a bad setting, and the printout of every setting.
 *
 * @param <C> the concrete context, which every setter returns.
 */
abstract class Settings<C extends Settings<C>>
{
    private boolean concluded;

    Settings()
    {
    }

    /**
     * @return this, as the concrete context.
     */
    @SuppressWarnings("unchecked")
    final C self()
    {
        return (C)this;
    }

    /**
     * @throws HomaConfigurationException once the context is concluded: its settings are frozen.
     */
    final void checkMutable()
    {
        if (concluded)
        {
            throw new HomaConfigurationException("context is concluded; settings are frozen");
        }
    }

    /**
     * @return true once {@code conclude()} succeeded.
     */
    final boolean isConcluded()
    {
        return concluded;
    }

    final void markConcluded()
    {
        concluded = true;
    }

    /**
     * @param ok    the rule holds.
     * @param name  the setting.
     * @param value its value.
     * @param rule  what the value must be.
     * @throws HomaConfigurationException naming the setting, its value and the rule, if the rule does not hold.
     */
    static void check(final boolean ok, final String name, final long value, final String rule)
    {
        if (!ok)
        {
            throw new HomaConfigurationException(name + " = " + value + " is invalid: must be " + rule);
        }
    }

    /**
     * Apply a setting to the engine object that uses it, whose own checks are then the rule the setting meets.
     *
     * @param name  the setting.
     * @param apply hands the value to the object; throws {@link IllegalArgumentException} if the object refuses it.
     * @throws HomaConfigurationException naming the setting and the object's reason, if it refuses the value.
     */
    static void checkWith(final String name, final Runnable apply)
    {
        try
        {
            apply.run();
        }
        catch (final IllegalArgumentException ex)
        {
            throw new HomaConfigurationException(name + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * Every setting, one {@code name = value} per line (after {@code conclude()}: as resolved), grouped as the
     * settings classes group them.
     */
    @Override
    public String toString()
    {
        final Deque<Class<?>> chain = new ArrayDeque<>();
        for (Class<?> type = getClass(); Settings.class != type; type = type.getSuperclass())
        {
            chain.push(type);
        }
        final StringBuilder out = new StringBuilder("HomaTransport.Context\n");
        for (final Class<?> type : chain)
        {
            for (final Field field : type.getDeclaredFields())
            {
                if (Modifier.isStatic(field.getModifiers()))
                {
                    continue;
                }
                try
                {
                    field.setAccessible(true);
                    final Object value = field.get(this);
                    out.append("    ").append(field.getName()).append(" = ")
                        .append(value instanceof int[] ? Arrays.toString((int[])value) : value).append('\n');
                }
                catch (final IllegalAccessException ex)
                {
                    out.append("    ").append(field.getName()).append(" = ?\n");
                }
            }
        }
        return out.toString();
    }
}
