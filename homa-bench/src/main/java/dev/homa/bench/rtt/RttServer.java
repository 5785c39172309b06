package dev.homa.bench.rtt;

/**
 * The answering side of one path, driven by a busy loop: each {@link #doWork()} answers whatever has arrived.
 */
public interface RttServer extends AutoCloseable
{
    /**
     * {@return requests answered in this call; 0 means idle}
     */
    int doWork();

    /**
     * {@return requests answered so far}
     */
    long answered();

    @Override
    void close();
}
