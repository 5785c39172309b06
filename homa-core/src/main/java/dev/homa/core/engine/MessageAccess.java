package dev.homa.core.engine;

import dev.homa.core.HomaException;
import dev.homa.core.HomaMessage;
import org.agrona.DirectBuffer;

import java.util.function.Consumer;

/**
 * The protocol engine's way to build, fill and take back {@link HomaMessage}s, whose public face is only what an
 * application reads. {@code HomaMessage} installs the one implementation when its class initialises (the JDK's
 * shared-secrets pattern), so these operations stay out of the API; this package is not exported by the module.
 */
public abstract class MessageAccess
{
    private static volatile MessageAccess instance;

    /**
     * Called once, by {@link HomaMessage}'s static initialiser.
     *
     * @param access the implementation.
     */
    public static void install(final MessageAccess access)
    {
        if (null != instance)
        {
            throw new IllegalStateException("MessageAccess installed twice");
        }
        instance = access;
    }

    static MessageAccess get()
    {
        MessageAccess access = instance;
        if (null == access)
        {
            try
            {
                // Runs HomaMessage's static initialiser, which installs the implementation.
                Class.forName(HomaMessage.class.getName(), true, HomaMessage.class.getClassLoader());
            }
            catch (final ClassNotFoundException ex)
            {
                throw new IllegalStateException(ex);
            }
            access = instance;
        }
        return access;
    }

    /**
     * @param maxSegments most pool pages one message can span.
     * @param releaser    hands a released message back to the protocol thread.
     * @return a new, empty message for the engine's pool.
     */
    protected abstract HomaMessage newMessage(int maxSegments, Consumer<HomaMessage> releaser);

    /**
     * Fill in a result before it is handed to the application.
     *
     * @param message   the pooled message.
     * @param kind      request, response or error.
     * @param id        local RPC id.
     * @param peer      peer host address.
     * @param peerPort  peer's Homa port.
     * @param localPort the socket's port.
     * @param cookie    completion cookie of a client RPC, 0 for requests.
     * @param length    message length, 0 for errors.
     * @param error     the failure for an error, else null.
     * @return the message.
     */
    protected abstract HomaMessage prepare(
        HomaMessage message, HomaMessage.Kind kind, long id, long peer, int peerPort, int localPort, long cookie,
        int length, HomaException error);

    /**
     * Append one receive-pool page holding the next bytes of the message.
     *
     * @param message    the message being filled.
     * @param pool       the pool's buffer.
     * @param page       page index (returned to the pool on release).
     * @param offset     byte offset of the page in the pool.
     * @param byteLength bytes of the message in this page.
     */
    protected abstract void addSegment(HomaMessage message, DirectBuffer pool, int page, int offset, int byteLength);

    /**
     * @param message a message.
     * @return receive-pool pages it holds.
     */
    protected abstract int pageCount(HomaMessage message);

    /**
     * @param message a message.
     * @param i       index below {@link #pageCount(HomaMessage)}.
     * @return one held page.
     */
    protected abstract int page(HomaMessage message, int i);

    /**
     * Forget the pages and views after the protocol thread took the pages back.
     *
     * @param message a released or undelivered message.
     */
    protected abstract void clear(HomaMessage message);
}
