package dev.homa.core;

import dev.homa.core.engine.HomaEngine;

/**
 * Tests in other packages reach a transport's engine through here: {@link HomaTransport#engine()} is not API.
 */
public final class EngineAccess
{
    private EngineAccess()
    {
    }

    /**
     * @param transport a transport.
     * @return its protocol agent (use it on the protocol thread only).
     */
    public static HomaEngine engine(final HomaTransport transport)
    {
        return transport.engine();
    }
}
