package dev.homa.nic.netns;

import dev.homa.nic.linux.NetworkNamespace;
import dev.homa.test.NamespaceEntry;
import dev.homa.test.NetnsPair;

/**
 * The way into a namespace for {@link NetnsPair}: the drivers' own {@code setns(2)} binding, so the tests and the
 * drivers enter namespaces by the same call. Registered in {@code META-INF/services}, which homa-nic's test-jar
 * carries to every module that tests with namespaces.
 */
public final class LinuxNamespaceEntry implements NamespaceEntry
{
    @Override
    public void enter(final String namespace)
    {
        NetworkNamespace.enter(namespace, IllegalStateException::new);
    }
}
