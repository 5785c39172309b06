package dev.homa.test;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * This module's class path has no {@link NamespaceEntry} (it binds no system call): asking for one fails at once and
 * names what is missing, instead of leaving a namespace thread that never runs its task.
 */
final class NamespaceEntryTest
{
    @Test
    void aClassPathWithoutAnEntrySaysWhatIsMissing()
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class, NetnsPair::namespaceEntry);
        assertTrue(ex.getMessage().contains(NamespaceEntry.class.getName()), ex.getMessage());
        assertTrue(ex.getMessage().contains("homa-nic's test-jar"), ex.getMessage());
    }
}
