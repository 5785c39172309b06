package dev.homa.test;

/**
 * How a thread enters a named network namespace ({@code setns(2)}): the one native call {@link NetnsPair} makes. This
 * module binds nothing itself; the implementation comes from the module that holds the project's bindings and is
 * found with {@link java.util.ServiceLoader} (homa-nic's test classes register one, so every test that depends on
 * homa-nic's test-jar has it).
 */
public interface NamespaceEntry
{
    /**
     * Move the calling thread, and only it, into a namespace.
     *
     * @param namespace a name under /var/run/netns.
     * @throws RuntimeException if the namespace cannot be opened or entered.
     */
    void enter(String namespace);
}
