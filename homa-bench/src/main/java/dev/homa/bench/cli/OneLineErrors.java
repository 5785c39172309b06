package dev.homa.bench.cli;

import picocli.CommandLine;

/**
 * How the bench tools report a failed command: a bad option value (an {@link IllegalArgumentException}) as one line
 * naming the tool, anything else with its stack trace; exit status 2 either way.
 */
public final class OneLineErrors
{
    private OneLineErrors()
    {
    }

    /**
     * @param tool the command's name, which starts each message.
     * @return the handler to give {@link CommandLine#setExecutionExceptionHandler}.
     */
    public static CommandLine.IExecutionExceptionHandler handler(final String tool)
    {
        return (ex, cmd, parsed) ->
        {
            System.err.println(tool + ": " + (ex instanceof IllegalArgumentException ? ex.getMessage() : ex));
            if (!(ex instanceof IllegalArgumentException))
            {
                ex.printStackTrace();
            }
            return 2;
        };
    }
}
