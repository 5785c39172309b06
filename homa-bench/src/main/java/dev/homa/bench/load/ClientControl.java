package dev.homa.bench.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * The runner's commands to a client process, one word per line on its standard input: {@value #GO} (start sending:
 * warm-up), {@value #MEASURE} (counters from zero), {@value #STOP} (stop sending, finish, report). End of input
 * counts as a stop, so a client never outlives its runner. A reader thread takes the lines; the client's loop asks
 * {@link #next()} between its steps and is woken from any sleep through the hook it registered.
 */
final class ClientControl
{
    static final String GO = "GO";
    static final String MEASURE = "MEASURE";
    static final String STOP = "STOP";

    static final int NONE = 0;
    static final int PHASE_GO = 1;
    static final int PHASE_MEASURE = 2;
    static final int PHASE_STOP = 3;

    private volatile int requested = NONE;
    private int applied = NONE;
    private volatile Runnable wake = () -> { };

    /**
     * Start reading commands from a stream on a daemon thread.
     *
     * @param input the runner's end of the pipe.
     */
    void listen(final InputStream input)
    {
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(input, StandardCharsets.US_ASCII)))
            {
                String line;
                while (null != (line = lines.readLine()))
                {
                    switch (line.trim())
                    {
                        case GO -> request(PHASE_GO);
                        case MEASURE -> request(PHASE_MEASURE);
                        case STOP -> request(PHASE_STOP);
                        default ->
                        {
                        }
                    }
                }
            }
            catch (final IOException ignore)
            {
                // Treated as the end of input.
            }
            request(PHASE_STOP);
        }, "load-control");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * @param wake called (from the reader thread) after each command, to end the client loop's sleep.
     */
    void onCommand(final Runnable wake)
    {
        this.wake = wake;
    }

    /**
     * @return the next phase to apply, in order, or {@link #NONE}.
     */
    int next()
    {
        final int target = requested;
        if (applied < target)
        {
            return ++applied;
        }
        return NONE;
    }

    private void request(final int phase)
    {
        if (phase > requested)
        {
            requested = phase;
        }
        wake.run();
    }
}
