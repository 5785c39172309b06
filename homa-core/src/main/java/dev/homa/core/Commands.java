package dev.homa.core;

/**
 * Layout of the records application threads write into the transport's many-to-one command ring buffer and the
 * protocol thread reads. One header for every record (native byte order: the ring never leaves the process):
 * <pre>
 *   0  int   local port of the socket
 *   4  int   flags (FLAG_REPLY, FLAG_FUTURE)
 *   8  long  RPC id (client: even new id; reply: the odd server id)
 *  16  long  peer host address
 *  24  int   peer port
 *  28  int   message length
 *  32  long  completion cookie
 *  40  int   offset of this chunk in the message
 *  44  int   reserved
 *  48  ...   payload chunk (SEND and CHUNK records); the buffer's address (SEND_LENT records, a long)
 * </pre>
 * A message longer than {@link #MAX_CHUNK} travels as one SEND record followed by CHUNK records that name the
 * same RPC; records of different producers may interleave.
 */
final class Commands
{
    /** Bind a socket (port). */
    public static final int BIND = 1;
    /** Close a socket (port). */
    public static final int CLOSE = 2;
    /** Start a message (request or reply) with its first chunk. */
    public static final int SEND = 3;
    /** More bytes of a message. */
    public static final int CHUNK = 4;
    /** Abort a client RPC (port, id). */
    public static final int ABORT = 5;
    /** Give a client RPC a deadline (port, id, deadline at {@link #DEADLINE_OFFSET}). */
    public static final int DEADLINE = 6;
    /** Start a request sent from the application's own memory (its address at {@link #HEADER_LENGTH}). */
    public static final int SEND_LENT = 7;

    /** The record is a reply (server side). */
    public static final int FLAG_REPLY = 1;
    /** The response completes a CompletableFuture rather than going to homaRecv. */
    public static final int FLAG_FUTURE = 2;

    /** Offset of the port. */
    public static final int PORT_OFFSET = 0;
    /** Offset of the flags. */
    public static final int FLAGS_OFFSET = 4;
    /** Offset of the RPC id. */
    public static final int ID_OFFSET = 8;
    /** Offset of the peer address. */
    public static final int PEER_OFFSET = 16;
    /** Offset of the peer port. */
    public static final int PEER_PORT_OFFSET = 24;
    /** Offset of the message length. */
    public static final int LENGTH_OFFSET = 28;
    /** Offset of the cookie. */
    public static final int COOKIE_OFFSET = 32;
    /** Offset of the chunk offset. */
    public static final int CHUNK_OFFSET_OFFSET = 40;
    /** Offset of the deadline of a DEADLINE record (on the transport's clock), in the peer address's place. */
    public static final int DEADLINE_OFFSET = PEER_OFFSET;
    /** Header length; payload follows. */
    public static final int HEADER_LENGTH = 48;
    /** Largest payload per record. */
    public static final int MAX_CHUNK = 64 * 1024;

    private Commands()
    {
    }
}
