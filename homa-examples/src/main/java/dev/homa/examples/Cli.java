package dev.homa.examples;

import picocli.CommandLine;

/**
 * How the command-line tools run: a failure prints one line, {@code tool: what went wrong}, not a stack trace, and
 * exits with status 2, as a usage error does.
 */
public final class Cli
{
    /** Exit status of a tool that could not do its work. */
    public static final int FAILURE = 2;

    private Cli()
    {
    }

    /**
     * Run a picocli command; a failure prints one line, not a stack trace.
     *
     * @param command the picocli command object.
     * @param args    the command line.
     * @return the exit status: 0, or {@link #FAILURE}.
     */
    public static int execute(final Object command, final String... args)
    {
        final CommandLine commandLine = new CommandLine(command);
        commandLine.setExecutionExceptionHandler((ex, cmd, parseResult) ->
        {
            cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + describe(ex));
            return FAILURE;
        });
        return commandLine.execute(args);
    }

    /**
     * @param ex a failure.
     * @return its message, and its cause's when it adds something, on one line.
     */
    static String describe(final Throwable ex)
    {
        final String message = null == ex.getMessage() ? ex.getClass().getSimpleName() : ex.getMessage();
        final Throwable cause = ex.getCause();
        if (null != cause && null != cause.getMessage() && !message.contains(cause.getMessage()))
        {
            return (message + " (" + cause.getMessage() + ")").replace('\n', ' ');
        }
        return message.replace('\n', ' ');
    }
}
