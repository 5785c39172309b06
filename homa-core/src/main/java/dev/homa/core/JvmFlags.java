package dev.homa.core;

import dev.homa.nic.NicDriver;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVM flags the transport needs, checked when a context is concluded so that a missing one is named at once
 * instead of surfacing as an {@link IllegalAccessError} from inside Agrona or a warning from the FFM API:
 * <ul>
 *     <li>{@code --add-exports java.base/jdk.internal.misc=org.agrona} (module path) or {@code =ALL-UNNAMED} (class
 *     path): Agrona 2's buffers use {@code jdk.internal.misc.Unsafe}. Without it nothing works: an error.</li>
 *     <li>{@code --enable-native-access=dev.homa.nic,io.netty.common} (module path) or {@code =ALL-UNNAMED}: the
 *     UDP and raw drivers call the kernel through the FFM API. The JVM only warns without it: a warning.</li>
 * </ul>
 * On the module path Netty's native epoll library also needs
 * {@code --add-modules io.netty.transport.epoll.linux.x86_64} (nothing requires that module); the UDP driver names
 * it if epoll is unavailable.
 */
final class JvmFlags
{
    private static final Logger LOG = LoggerFactory.getLogger(JvmFlags.class);
    private static volatile boolean nativeAccessWarned;

    private JvmFlags()
    {
    }

    /**
     * @throws HomaConfigurationException naming the missing {@code --add-exports}.
     */
    static void check()
    {
        // Class literals do not initialise the classes, so this runs before anything touches Unsafe.
        final Module agrona = UnsafeBuffer.class.getModule();
        if (!Object.class.getModule().isExported("jdk.internal.misc", agrona))
        {
            throw new HomaConfigurationException("the JVM needs --add-exports java.base/jdk.internal.misc=" +
                target(agrona) + " (Agrona's buffers use jdk.internal.misc.Unsafe); see the README's JVM flags");
        }
        final Module nic = NicDriver.class.getModule();
        if (!nic.isNativeAccessEnabled() && !nativeAccessWarned)
        {
            nativeAccessWarned = true;
            LOG.warn("the UDP and raw drivers call the kernel through the FFM API: add --enable-native-access={} " +
                "(the JVM warns, and refuses with --illegal-native-access=deny)",
                nic.isNamed() ? nic.getName() + ",io.netty.common" : "ALL-UNNAMED");
        }
    }

    private static String target(final Module module)
    {
        return module.isNamed() ? module.getName() : "ALL-UNNAMED";
    }
}
