package dev.homa.nic.raw;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import dev.homa.nic.linux.FileLocks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static dev.homa.nic.raw.HomaFilterTest.frame;
import static dev.homa.nic.raw.HomaFilterTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An interface's port table as two drivers share it (two tables on one file are two open file descriptions, whose
 * locks conflict as two processes' do): a port has one holder, closing gives everything back, one driver answers for
 * the interface, and each driver's filter, as handed to its socket, passes what it should.
 */
@Timeout(10)
class PortTableTest
{
    private static final int IF_INDEX = 7;

    @TempDir
    Path directory;

    private final int[][][] firstFilter = new int[1][][];
    private final int[][][] secondFilter = new int[1][][];

    @Test
    void aPortHasOneHolderUntilReleased()
    {
        try (PortTable first = open(firstFilter);
            PortTable second = open(secondFilter);
            PortTable elsewhere = PortTable.open(directory, IF_INDEX + 1, (program) -> { }))
        {
            assertTrue(first.claim(4000));
            assertTrue(first.claim(4000), "again: still the first's");
            assertFalse(second.claim(4000), "held by the first");
            assertTrue(second.claimedElsewhere(4000));
            assertFalse(first.claimedElsewhere(4000), "its own");
            assertFalse(second.claimedElsewhere(4001));
            assertTrue(elsewhere.claim(4000), "another interface has its own ports");

            final long generation = second.generation();
            first.release(4000);
            assertNotEquals(generation, second.generation(), "a release shows in the shared generation");
            assertFalse(second.claimedElsewhere(4000));
            assertTrue(second.claim(4000));
            assertFalse(first.claim(4000));
            assertArrayEquals(new int[] { 4000 }, second.ownPorts());
        }
    }

    @Test
    void closingGivesBackPortsAndTheAnsweringRole()
    {
        final PortTable first = open(firstFilter);
        try (PortTable second = open(secondFilter))
        {
            assertTrue(first.answering(), "the first driver on an interface answers for it");
            assertFalse(second.answering(), "one driver answers for an interface");
            assertTrue(first.claim(4000));
            assertTrue(first.claim(32768));
            assertFalse(second.claim(32768));

            first.close();
            assertTrue(second.claim(32768));
            assertTrue(second.claim(4000));
            for (int i = 0; i < 64 && !second.answering(); i++)
            {
                second.look();
            }
            assertTrue(second.answering(), "taken over once its holder has gone");
            assertEquals(HomaFilter.ACCEPT, run(secondFilter[0], frame(146, 6000, 5, false, false)),
                "and with it the ports nobody has");
        }
    }

    @Test
    void eachFilterPassesWhatItsDriverMustSee()
    {
        try (PortTable answering = open(firstFilter);
            PortTable other = open(secondFilter))
        {
            assertTrue(answering.claim(4000));
            assertTrue(other.claim(5000));

            assertEquals(HomaFilter.ACCEPT, run(firstFilter[0], frame(146, 4000, 5, false, false)), "its own");
            assertEquals(HomaFilter.ACCEPT, run(firstFilter[0], frame(146, 6000, 5, false, false)), "nobody's");
            assertEquals(HomaFilter.ACCEPT, run(firstFilter[0], frame(146, 5000, 5, false, false)),
                "the other's, until it looks");
            answering.look();
            assertEquals(HomaFilter.DROP, run(firstFilter[0], frame(146, 5000, 5, false, false)), "the other's");

            assertEquals(HomaFilter.ACCEPT, run(secondFilter[0], frame(146, 5000, 5, false, false)), "its own");
            assertEquals(HomaFilter.DROP, run(secondFilter[0], frame(146, 6000, 5, false, false)), "nobody's");
            assertEquals(HomaFilter.DROP, run(secondFilter[0], frame(146, 4000, 5, false, false)), "the first's");

            other.release(5000);
            assertEquals(HomaFilter.DROP, run(secondFilter[0], frame(146, 5000, 5, false, false)), "released");
            answering.look();
            assertEquals(HomaFilter.ACCEPT, run(firstFilter[0], frame(146, 5000, 5, false, false)), "nobody's now");
        }
    }

    @Test
    void aClaimLeftBehindByADeadProcessIsCleared() throws Exception
    {
        try (PortTable answering = open(firstFilter))
        {
            final int port = 7000;
            // A process that died holding the port: its bit stays in the shared bitmap, its lock went with it.
            try (RandomAccessFile file = new RandomAccessFile(answering.path(), "rw"))
            {
                file.seek(64 + port / 8);
                file.write(1 << (port % 8));
            }
            assertEquals(HomaFilter.ACCEPT, run(answering.filter(), frame(146, port, 5, false, false)));
            try (RandomAccessFile file = new RandomAccessFile(answering.path(), "r"))
            {
                file.seek(64 + port / 8);
                assertEquals(0, file.read(), "the stale bit is cleared");
            }
        }
    }

    @Test
    void theLastTableToCloseRemovesTheFile() throws Exception
    {
        final PortTable first = open(firstFilter);
        final Path file = Path.of(first.path());
        try (PortTable second = open(secondFilter))
        {
            assertTrue(second.claim(4000));
            first.close();
            assertTrue(Files.exists(file), "another table still has it open");
        }
        assertFalse(Files.exists(file), "the last table to close removes it");

        try (PortTable third = open(firstFilter))
        {
            assertTrue(Files.exists(file), "a table opened later makes it again");
            assertTrue(third.claim(4000));
            assertTrue(third.answering());
        }
        assertFalse(Files.exists(file));
    }

    @Test
    void aTableWhoseFileIsRemovedWhileItOpensStartsANewOne() throws Exception
    {
        final Path file;
        try (PortTable first = open(firstFilter))
        {
            file = Path.of(first.path());
        }
        Files.createFile(file);
        // A table closing last: it holds the presence byte exclusively, and removes the file before letting go.
        final FileLocks closing = FileLocks.open(file.toString());
        assertTrue(closing.tryLock(PortTable.PRESENCE_BYTE));
        final CompletableFuture<PortTable> opening = CompletableFuture.supplyAsync(() -> open(secondFilter));
        while (descriptorsOn(file) < 2)
        {
            Thread.onSpinWait();
        }
        Files.delete(file);
        closing.close();
        try (PortTable second = opening.get())
        {
            assertTrue(second.claim(4000));
            // Had it kept the removed file, its name would lead nowhere, and the next table would not share it.
            assertTrue(Files.exists(file), "a new file under the name");
            try (PortTable third = open(firstFilter))
            {
                assertFalse(third.claim(4000), "held by the second, on the same file");
            }
            assertTrue(second.answering(), "the first table on the new file");
        }
        assertFalse(Files.exists(file));
    }

    private static long descriptorsOn(final Path file) throws IOException
    {
        try (Stream<Path> descriptors = Files.list(Path.of("/proc/self/fd")))
        {
            return descriptors.filter((fd) ->
            {
                try
                {
                    return Files.readSymbolicLink(fd).startsWith(file);
                }
                catch (final IOException ex)
                {
                    return false;
                }
            }).count();
        }
    }

    private PortTable open(final int[][][] filter)
    {
        return PortTable.open(directory, IF_INDEX, (program) -> filter[0] = program);
    }
}
