package dev.homa.test;

/**
 * For child-process hosts of the multi-JVM tests: the parent holds the child's standard input open while it
 * runs, so end-of-file there means the parent is gone and the child must not outlive it.
 */
public final class ParentWatchdog
{
    /** Exit status of a child whose parent went away. */
    public static final int PARENT_GONE_STATUS = 2;

    private ParentWatchdog()
    {
    }

    /**
     * Start a daemon thread that exits the JVM with {@link #PARENT_GONE_STATUS} when standard input closes.
     */
    public static void exitWhenParentEnds()
    {
        final Thread watchdog = new Thread(() ->
        {
            try
            {
                while (System.in.read() >= 0)
                {
                    Thread.onSpinWait();
                }
            }
            catch (final java.io.IOException ignore)
            {
                // Parent gone.
            }
            System.exit(PARENT_GONE_STATUS);
        }, "parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
