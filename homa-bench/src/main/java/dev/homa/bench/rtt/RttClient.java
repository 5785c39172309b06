package dev.homa.bench.rtt;

/**
 * The requesting side of one path: sends a request carrying a sequence number and a send timestamp, busy-polls for
 * the matching reply. One thread uses a client.
 */
public interface RttClient extends AutoCloseable
{
    /**
     * One round trip.
     *
     * @param sequence  number the reply must echo; replies with another number (late ones) are discarded.
     * @param timeoutNs give up after this long.
     * @return the round-trip time in nanoseconds, or -1 on timeout.
     */
    long roundTrip(long sequence, long timeoutNs);

    @Override
    void close();
}
