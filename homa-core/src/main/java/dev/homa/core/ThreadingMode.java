package dev.homa.core;

/**
 * Who runs the protocol's duty cycle (after Aeron's {@code ThreadingMode}).
 */
public enum ThreadingMode
{
    /**
     * No thread: the application calls {@link HomaTransport#invoker()}{@code .invoke()} (or
     * {@link HomaTransport#doWork()}) from its own loop; used for embedding, for the lowest latency and for
     * deterministic tests in virtual time. The first thread to run the duty cycle becomes the protocol thread:
     * its {@code homaSend}, {@code homaReply} and message releases between duty cycles run inline (the message is
     * copied into the send pool and its first packets leave before the call returns), while calls from other
     * threads, or from inside the duty cycle (a future's callback), go through the command queue. If the duty
     * cycle ever runs on a second thread, inline work stops and every call is queued.
     */
    INVOKER,

    /**
     * One dedicated thread runs the duty cycle with the context's idle strategy (an Agrona AgentRunner).
     */
    DEDICATED
}
