package dev.homa.nic;

import java.math.BigDecimal;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A driver named by a URI, {@code scheme://authority/path?option=value&...}, with typed readers for its options
 * shared by every driver, so that sizes, rates and switches are spelled and checked alike: option names are matched
 * without regard to case; a size takes a k/m/g suffix in powers of 1024, a rate (bits per second) in powers of
 * 1000; a switch is {@code true} or {@code false}. A driver reads the options it knows, each with its default, then
 * calls {@link #requireAllRead()} so that a misspelled option is an error rather than silently ignored.
 */
public final class DriverUri
{
    private final String text;
    private final URI uri;
    private final Map<String, String> options = new LinkedHashMap<>();
    private final Map<String, Boolean> read = new LinkedHashMap<>();

    private DriverUri(final String text, final URI uri)
    {
        this.text = text;
        this.uri = uri;
        final String query = uri.getRawQuery();
        if (null != query && !query.isEmpty())
        {
            for (final String pair : query.split("&"))
            {
                final int equals = pair.indexOf('=');
                if (equals <= 0)
                {
                    throw new IllegalArgumentException("option without value in " + text + ": " + pair);
                }
                final String name = pair.substring(0, equals).toLowerCase(Locale.ROOT);
                if (null != options.put(name, pair.substring(equals + 1)))
                {
                    throw new IllegalArgumentException("option '" + name + "' given twice in " + text);
                }
            }
        }
    }

    /**
     * Parse a driver URI.
     *
     * @param text the URI.
     * @return it parsed.
     * @throws IllegalArgumentException if it is malformed or has no scheme.
     */
    public static DriverUri parse(final String text)
    {
        final URI uri;
        try
        {
            uri = URI.create(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException("malformed driver URI '" + text + "': " + ex.getMessage(), ex);
        }
        return new DriverUri(text, uri);
    }

    /**
     * {@return the URI as given}
     */
    public String text()
    {
        return text;
    }

    /**
     * {@return the scheme, lower case; empty if there is none}
     */
    public String scheme()
    {
        return null == uri.getScheme() ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    }

    /**
     * Check that the URI has the scheme a driver expects.
     *
     * @param scheme the scheme the driver expects.
     * @return this.
     * @throws IllegalArgumentException if the URI has another.
     */
    public DriverUri requireScheme(final String scheme)
    {
        if (!scheme.equals(scheme()))
        {
            throw new IllegalArgumentException("not a " + scheme + ":// URI: " + text);
        }
        return this;
    }

    /**
     * {@return the host, or null if the authority is not a host name or address}
     */
    public String host()
    {
        return uri.getHost();
    }

    /**
     * {@return the port, or -1 if none}
     */
    public int port()
    {
        return uri.getPort();
    }

    /**
     * {@return what stands between {@code //} and the path or query, or null}
     */
    public String authority()
    {
        return uri.getAuthority();
    }

    /**
     * {@return the path, empty if none}
     */
    public String path()
    {
        return null == uri.getPath() ? "" : uri.getPath();
    }

    /**
     * Whether the URI gives an option, without counting it as read.
     *
     * @param name an option.
     * @return true if the URI gives it.
     */
    public boolean has(final String name)
    {
        return options.containsKey(key(name));
    }

    /**
     * Read an option as text.
     *
     * @param name         an option.
     * @param defaultValue its value when absent.
     * @return its text.
     */
    public String string(final String name, final String defaultValue)
    {
        final String value = take(name);
        return null == value ? defaultValue : value;
    }

    /**
     * Read an option as a switch.
     *
     * @param name         an option.
     * @param defaultValue its value when absent.
     * @return {@code true} or {@code false}.
     * @throws IllegalArgumentException for any other text.
     */
    public boolean bool(final String name, final boolean defaultValue)
    {
        final String value = take(name);
        if (null == value)
        {
            return defaultValue;
        }
        if ("true".equalsIgnoreCase(value))
        {
            return true;
        }
        if ("false".equalsIgnoreCase(value))
        {
            return false;
        }
        throw new IllegalArgumentException(name + ": expected true or false, got '" + value + "' in " + text);
    }

    /**
     * Read an option as a size.
     *
     * @param name         an option.
     * @param defaultValue its value when absent.
     * @return a count or length, k/m/g meaning 1024, 1024^2, 1024^3.
     * @throws IllegalArgumentException if it is not a number or does not fit an int.
     */
    public int size(final String name, final int defaultValue)
    {
        final String value = take(name);
        if (null == value)
        {
            return defaultValue;
        }
        final long size = scaled(name, value, 1024);
        if (size > Integer.MAX_VALUE || size < Integer.MIN_VALUE)
        {
            throw new IllegalArgumentException(name + ": " + value + " is too large in " + text);
        }
        return (int)size;
    }

    /**
     * Read an option as a rate.
     *
     * @param name         an option.
     * @param defaultValue its value when absent.
     * @return a rate in bits per second, k/m/g meaning 10^3, 10^6, 10^9.
     * @throws IllegalArgumentException if it is not a number.
     */
    public long rate(final String name, final long defaultValue)
    {
        final String value = take(name);
        return null == value ? defaultValue : scaled(name, value, 1000);
    }

    /**
     * Read an option as one of an enum's constants.
     *
     * @param name         an option.
     * @param type         its values.
     * @param defaultValue its value when absent.
     * @param <E>          the enum.
     * @return the constant named, matched without regard to case.
     * @throws IllegalArgumentException naming the choices if it names none.
     */
    public <E extends Enum<E>> E choice(final String name, final Class<E> type, final E defaultValue)
    {
        final String value = take(name);
        if (null == value)
        {
            return defaultValue;
        }
        for (final E constant : type.getEnumConstants())
        {
            if (constant.name().equalsIgnoreCase(value))
            {
                return constant;
            }
        }
        final StringBuilder choices = new StringBuilder();
        for (final E constant : type.getEnumConstants())
        {
            choices.append(choices.isEmpty() ? "" : ", ").append(constant.name().toLowerCase(Locale.ROOT));
        }
        throw new IllegalArgumentException(name + " must be one of " + choices + ", got '" + value + "' in " + text);
    }

    /**
     * Check that every option the URI gives has been read, so that a misspelled one is an error.
     *
     * @throws IllegalArgumentException naming the first option no reader asked for.
     */
    public void requireAllRead()
    {
        for (final String name : options.keySet())
        {
            if (!read.containsKey(name))
            {
                throw new IllegalArgumentException("unknown " + scheme() + " option '" + name + "' in " + text);
            }
        }
    }

    @Override
    public String toString()
    {
        return text;
    }

    private String take(final String name)
    {
        final String key = key(name);
        read.put(key, Boolean.TRUE);
        return options.get(key);
    }

    private static String key(final String name)
    {
        return name.toLowerCase(Locale.ROOT);
    }

    private long scaled(final String name, final String value, final long unit)
    {
        if (value.isEmpty())
        {
            throw new IllegalArgumentException(name + ": empty value in " + text);
        }
        final char last = Character.toLowerCase(value.charAt(value.length() - 1));
        final long scale = switch (last)
        {
            case 'k' -> unit;
            case 'm' -> unit * unit;
            case 'g' -> unit * unit * unit;
            default -> 1;
        };
        final String digits = 1 == scale ? value : value.substring(0, value.length() - 1);
        try
        {
            // A fraction is fine where the product is whole: 2.5g, 1.5k.
            return digits.indexOf('.') >= 0 ?
                new BigDecimal(digits).multiply(BigDecimal.valueOf(scale)).longValueExact() :
                Math.multiplyExact(Long.parseLong(digits), scale);
        }
        catch (final NumberFormatException | ArithmeticException ex)
        {
            throw new IllegalArgumentException(name + ": bad number '" + value + "' in " + text, ex);
        }
    }
}
