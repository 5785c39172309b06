package dev.homa.core;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The README's "Use it" example, kept compiling and working: if this changes, change the README with it.
 */
class ReadmeExampleTest
{
    @Test
    @Timeout(30)
    void theReadmeExampleEchoes() throws Exception
    {
        // The README names port 4000; the test takes a free one so parallel runs cannot collide.
        try (HomaTransport server = HomaTransport.launch(new HomaTransport.Context()
                .driverUri("udp://127.0.0.1:0").threadingMode(ThreadingMode.DEDICATED));
            HomaTransport client = HomaTransport.launch(new HomaTransport.Context()
                .driverUri("udp://127.0.0.1:0").threadingMode(ThreadingMode.DEDICATED)))
        {
            final HomaSocket serverSocket = server.openSocket(99);
            final HomaSocket clientSocket = client.openSocket(0);

            final UnsafeBuffer request = new UnsafeBuffer("ping".getBytes(StandardCharsets.US_ASCII));
            final long id = clientSocket.homaSend(
                server.context().driver().localAddress(), 99, request, 0, request.capacity(), 42L);

            final HomaMessage req = serverSocket.homaRecv(HomaSocket.RECV_REQUEST, 10, TimeUnit.SECONDS);
            assertNotNull(req, "request arrived");
            serverSocket.homaReply(req, request, 0, request.capacity());
            req.release();

            final HomaMessage resp = clientSocket.homaRecv(HomaSocket.RECV_RESPONSE, 10, TimeUnit.SECONDS);
            assertNotNull(resp, "response arrived");
            assertEquals(id, resp.id());
            assertEquals(42L, resp.cookie());
            assertFalse(resp.isError());
            assertEquals("ping", new String(resp.toByteArray(), StandardCharsets.US_ASCII));
            resp.release();
        }
    }
}
