package dev.homa.bench.rtt;

/**
 * Homa RPCs over a driver: one request, one response of the payload length each, client and server busy-polling
 * their transports. Needs the protocol engine ({@code dev.homa.core.HomaTransport}).
 */
final class HomaRtt
{
    private HomaRtt()
    {
    }

    static RttClient client(final String driverUri, final long server, final RttSetup setup)
    {
        throw new UnsupportedOperationException("the Homa engine (dev.homa.core.HomaTransport) is not in this build");
    }

    static RttServer server(final String driverUri, final RttSetup setup)
    {
        throw new UnsupportedOperationException("the Homa engine (dev.homa.core.HomaTransport) is not in this build");
    }
}
