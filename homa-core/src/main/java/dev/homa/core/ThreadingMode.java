package dev.homa.core;

/**
 * Who runs the protocol's duty cycle (after Aeron's {@code ThreadingMode}).
 */
public enum ThreadingMode
{
    /**
     * No thread: the application calls {@link HomaTransport#invoker()}{@code .invoke()} (or
     * {@link HomaTransport#doWork()}) from its own loop; used for embedding and for deterministic tests in
     * virtual time.
     */
    INVOKER,

    /**
     * One dedicated thread runs the duty cycle with the context's idle strategy (an Agrona AgentRunner).
     */
    DEDICATED
}
