package dev.homa.core;

import dev.homa.nic.HostAddress;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.function.Consumer;

/**
 * One result of {@link HomaSocket#homaRecv}: a complete request, a complete response, or the error of a failed
 * RPC. The bytes are not copied: they stay in the transport's off-heap receive pool (the kernel's bpages) and the
 * message exposes them as one {@link DirectBuffer} view per pool page ({@link #segment(int)}), or copies them out
 * on request ({@link #getBytes}).
 * <p>
 * The application owns the message until it calls {@link #release()}; the pages go back to the pool then, and the
 * object itself is recycled: every accessor of a released message throws {@link IllegalStateException} (until the
 * object is handed out again as another message, so do not keep references past {@code release()}). A request
 * must be answered with {@link HomaSocket#homaReply} before it is released. Messages are pooled objects: nothing is
 * allocated per message in steady state.
 */
public final class HomaMessage
{
    /** Kinds of result. */
    public enum Kind
    {
        /** A request from a client; {@link #id()} is odd (server side). */
        REQUEST,
        /** The response to one of this socket's requests; {@link #id()} is even (client side). */
        RESPONSE,
        /** The RPC {@link #id()} failed; {@link #error()} says why. */
        ERROR
    }

    private final UnsafeBuffer[] segments;
    private final int[] pages;
    private final Consumer<HomaMessage> releaser;
    private Kind kind;
    private long id;
    private long peer;
    private int peerPort;
    private int localPort;
    private long cookie;
    private int length;
    private int segmentCount;
    private int pageCount;
    private HomaException error;
    private boolean owned;
    private boolean replied;
    private boolean forwarded;
    private int forwardPort;
    private long forwardId;
    private long forwardPeer;
    private int forwardPeerPort;

    /**
     * A pooled, empty message: the protocol thread makes these, the application only receives them.
     *
     * @param maxSegments most pool pages one message can span.
     * @param releaser    hands a released message back to the protocol thread.
     */
    HomaMessage(final int maxSegments, final Consumer<HomaMessage> releaser)
    {
        this.segments = new UnsafeBuffer[maxSegments];
        for (int i = 0; i < maxSegments; i++)
        {
            segments[i] = new UnsafeBuffer(0, 0);
        }
        this.pages = new int[maxSegments];
        this.releaser = releaser;
    }

    /**
     * Fill in a result before it is handed to the application (protocol thread).
     *
     * @param kind      request, response or error.
     * @param id        local RPC id.
     * @param peer      peer host address.
     * @param peerPort  peer's Homa port.
     * @param localPort the socket's port.
     * @param cookie    completion cookie of a client RPC, 0 for requests.
     * @param length    message length, 0 for errors.
     * @param error     the failure for an error, else null.
     * @return this.
     */
    HomaMessage prepare(
        final Kind kind,
        final long id,
        final long peer,
        final int peerPort,
        final int localPort,
        final long cookie,
        final int length,
        final HomaException error)
    {
        this.kind = kind;
        this.id = id;
        this.peer = peer;
        this.peerPort = peerPort;
        this.localPort = localPort;
        this.cookie = cookie;
        this.length = length;
        this.error = error;
        this.segmentCount = 0;
        this.pageCount = 0;
        this.owned = true;
        this.replied = false;
        return this;
    }

    /**
     * Append one receive-pool page holding the next bytes of the message (protocol thread).
     *
     * @param pool       the pool's buffer.
     * @param page       page index (returned to the pool on release).
     * @param offset     byte offset of the page in the pool.
     * @param byteLength bytes of the message in this page.
     */
    void addSegment(final DirectBuffer pool, final int page, final int offset, final int byteLength)
    {
        segments[segmentCount++].wrap(pool, offset, byteLength);
        pages[pageCount++] = page;
    }

    /**
     * @return receive-pool pages this message holds.
     */
    int pageCount()
    {
        return pageCount;
    }

    /**
     * @param i index below {@link #pageCount()}.
     * @return one held page.
     */
    int page(final int i)
    {
        return pages[i];
    }

    /**
     * Forget the pages and views after the protocol thread took the pages back.
     */
    void clear()
    {
        for (int i = 0; i < segmentCount; i++)
        {
            segments[i].wrap(0, 0);
        }
        segmentCount = 0;
        pageCount = 0;
        error = null;
        owned = false;
        forwarded = false;
    }

    /**
     * @return what this result is.
     */
    public Kind kind()
    {
        checkOwned();
        return kind;
    }

    /**
     * @return true for a failed RPC ({@link Kind#ERROR}).
     */
    public boolean isError()
    {
        checkOwned();
        return Kind.ERROR == kind;
    }

    /**
     * @return the failure of an {@link Kind#ERROR} result, else null.
     */
    public HomaException error()
    {
        checkOwned();
        return error;
    }

    /**
     * @return the local RPC id: odd for a request (pass the message to {@link HomaSocket#homaReply}), even for a
     * response or a client error (the value {@link HomaSocket#homaSend} returned).
     */
    public long id()
    {
        checkOwned();
        return id;
    }

    /**
     * @return the peer's {@link HostAddress}.
     */
    public long peer()
    {
        checkOwned();
        return peer;
    }

    /**
     * @return the peer socket's Homa port.
     */
    public int peerPort()
    {
        checkOwned();
        return peerPort;
    }

    /**
     * @return the port of the socket that received this.
     */
    public int localPort()
    {
        checkOwned();
        return localPort;
    }

    /**
     * @return the completion cookie given to {@link HomaSocket#homaSend} (responses and client errors).
     */
    public long cookie()
    {
        checkOwned();
        return cookie;
    }

    /**
     * @return message length in bytes (0 for errors).
     */
    public int length()
    {
        checkOwned();
        return length;
    }

    /**
     * @return number of zero-copy views; their lengths add up to {@link #length()}.
     */
    public int segmentCount()
    {
        checkOwned();
        return segmentCount;
    }

    /**
     * @param i view index, 0 .. {@link #segmentCount()} - 1, in message order.
     * @return a read-only-by-contract view of the bytes, valid until {@link #release()}.
     */
    public DirectBuffer segment(final int i)
    {
        checkOwned();
        if (i < 0 || i >= segmentCount)
        {
            throw new IndexOutOfBoundsException("segment " + i + " of " + segmentCount);
        }
        return segments[i];
    }

    /**
     * @param index byte offset in the message.
     * @return the byte.
     */
    public byte getByte(final int index)
    {
        checkOwned();
        if (index < 0 || index >= length)
        {
            throw new IndexOutOfBoundsException("index " + index + " outside message of " + length + " bytes");
        }
        final int pageBytes = 0 == segmentCount ? 1 : segments[0].capacity();
        int remaining = index;
        for (int i = 0; i < segmentCount; i++)
        {
            final int capacity = segments[i].capacity();
            if (remaining < capacity)
            {
                return segments[i].getByte(remaining);
            }
            remaining -= capacity;
        }
        throw new IllegalStateException("message views do not cover index " + index + " (page " + pageBytes + ")");
    }

    /**
     * Copy bytes out of the message.
     *
     * @param index       first message byte.
     * @param dst         destination.
     * @param dstIndex    first destination byte.
     * @param byteLength  bytes to copy.
     */
    public void getBytes(final int index, final MutableDirectBuffer dst, final int dstIndex, final int byteLength)
    {
        checkRange(index, byteLength);
        int msgPos = index;
        int out = dstIndex;
        int remaining = byteLength;
        int segStart = 0;
        for (int i = 0; i < segmentCount && remaining > 0; i++)
        {
            final UnsafeBuffer seg = segments[i];
            final int segEnd = segStart + seg.capacity();
            if (msgPos < segEnd)
            {
                final int n = Math.min(remaining, segEnd - msgPos);
                seg.getBytes(msgPos - segStart, dst, out, n);
                msgPos += n;
                out += n;
                remaining -= n;
            }
            segStart = segEnd;
        }
    }

    /**
     * Copy bytes out of the message into a heap array.
     *
     * @param index      first message byte.
     * @param dst        destination.
     * @param dstIndex   first destination byte.
     * @param byteLength bytes to copy.
     */
    public void getBytes(final int index, final byte[] dst, final int dstIndex, final int byteLength)
    {
        getBytes(index, new UnsafeBuffer(dst), dstIndex, byteLength);
    }

    /**
     * @return a new array with the whole message (convenience; allocates).
     */
    public byte[] toByteArray()
    {
        final byte[] bytes = new byte[length];
        getBytes(0, bytes, 0, length);
        return bytes;
    }

    /**
     * Give the pages and this object back to the transport. Call exactly once.
     */
    public void release()
    {
        if (!owned)
        {
            throw new IllegalStateException("message already released");
        }
        owned = false;
        releaser.accept(this);
    }

    private void checkOwned()
    {
        if (!owned)
        {
            throw new IllegalStateException("HomaMessage used after release(): its pages went back to the pool");
        }
    }

    /**
     * Note that the request was answered (HomaSocket#homaReply), once.
     *
     * @throws HomaException if it was answered already, or released.
     */
    void markReplied()
    {
        checkOwned();
        if (replied)
        {
            throw new HomaException("request " + id + " from " + HostAddress.toString(peer) + ":" + peerPort +
                " was already answered: a request gets one reply");
        }
        replied = true;
    }

    /**
     * Undo {@link #markReplied()} (the reply could not be started).
     */
    void unmarkReplied()
    {
        replied = false;
    }

    /**
     * Take this message from the application as the body of a reply: it is lost to the application as if released,
     * and the protocol thread makes its pages the reply's ({@link #handBack()} queues it there when the caller
     * cannot run the engine itself).
     *
     * @param port     our socket's port.
     * @param id       the server RPC's odd id.
     * @param peer     the client host.
     * @param peerPort the client's port.
     */
    void forwardAsReply(final int port, final long id, final long peer, final int peerPort)
    {
        checkOwned();
        forwardPort = port;
        forwardId = id;
        forwardPeer = peer;
        forwardPeerPort = peerPort;
        forwarded = true;
        owned = false;
    }

    /**
     * Queue a message taken by {@link #forwardAsReply} for the protocol thread, as a release is queued.
     */
    void handBack()
    {
        releaser.accept(this);
    }

    boolean isForwarded()
    {
        return forwarded;
    }

    /**
     * @param other another message.
     * @return true if both came from the same transport (they share its receive pool).
     */
    boolean sameTransport(final HomaMessage other)
    {
        return releaser == other.releaser;
    }

    int forwardPort()
    {
        return forwardPort;
    }

    long forwardId()
    {
        return forwardId;
    }

    long forwardPeer()
    {
        return forwardPeer;
    }

    int forwardPeerPort()
    {
        return forwardPeerPort;
    }

    /**
     * @return the length, without the ownership check (protocol thread, for a consumed message).
     */
    int byteLength()
    {
        return length;
    }

    private void checkRange(final int index, final int byteLength)
    {
        checkOwned();
        if (index < 0 || byteLength < 0 || index + byteLength > length)
        {
            throw new IndexOutOfBoundsException(
                "range " + index + "+" + byteLength + " outside message of " + length + " bytes");
        }
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String toString()
    {
        if (!owned)
        {
            return "HomaMessage{released}";
        }
        return "HomaMessage{" + kind + " id=" + id + " peer=" + HostAddress.toString(peer) + ":" + peerPort +
            " length=" + length + (null != error ? " error=" + error.getMessage() : "") + "}";
    }
}
