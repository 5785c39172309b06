package dev.homa.bench.rtt;

import java.util.List;

/**
 * Where both sides of a round trip live and what they exchange: client on the A end of the veth, server on the B
 * end. Passed to the server process as command-line options ({@link #toArguments()}).
 *
 * @param clientInterface veth end of the client.
 * @param serverInterface veth end of the server.
 * @param clientIp        dotted IPv4 of the client.
 * @param serverIp        dotted IPv4 of the server.
 * @param clientMac       client MAC, colon form.
 * @param serverMac       server MAC, colon form.
 * @param clientPort      client UDP port (UDP paths).
 * @param serverPort      server UDP port, and the Homa server port.
 * @param payloadLength   payload bytes in each direction (after the stand-in Homa header on floor paths).
 */
public record RttSetup(
    String clientInterface,
    String serverInterface,
    String clientIp,
    String serverIp,
    String clientMac,
    String serverMac,
    int clientPort,
    int serverPort,
    int payloadLength)
{
    /**
     * Validate.
     */
    public RttSetup
    {
        if (payloadLength < RttPayload.MIN_PAYLOAD)
        {
            throw new IllegalArgumentException("payload must be at least " + RttPayload.MIN_PAYLOAD + " bytes: " +
                payloadLength);
        }
    }

    /**
     * {@return the options that {@link RttEchoServer} reads back}
     */
    public List<String> toArguments()
    {
        return List.of(
            "--client-if", clientInterface, "--server-if", serverInterface,
            "--client-ip", clientIp, "--server-ip", serverIp,
            "--client-mac", clientMac, "--server-mac", serverMac,
            "--client-port", Integer.toString(clientPort), "--server-port", Integer.toString(serverPort),
            "--size", Integer.toString(payloadLength));
    }

    /**
     * {@return bytes of the stand-in Homa packet on floor and echo paths: header plus payload}
     */
    public int homaPacketLength()
    {
        return RttPayload.HOMA_HEADER_LENGTH + payloadLength;
    }
}
