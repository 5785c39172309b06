package dev.homa.core;

/**
 * One RPC as this host knows it (kernel {@code homa_rpc}), pooled. A client RPC has an even id and lives in its
 * socket's client map; a server RPC has an odd id (the client's id with the low bit flipped) and lives in its
 * socket's server map under (client host, client port, id). Both halves are always present: the request is the
 * client's outbound and the server's inbound message, the response the reverse.
 */
final class Rpc
{
    /** Client: sending the request. Server: receiving the request. */
    static final int STATE_OUTGOING_REQUEST = 1;
    /** Client: request sent (or response started), waiting for the response. */
    static final int STATE_AWAIT_RESPONSE = 2;
    /** Server: receiving the request. */
    static final int STATE_INCOMING_REQUEST = 3;
    /** Server: request delivered, the application is working on it. */
    static final int STATE_IN_SERVICE = 4;
    /** Server: sending the response (and then waiting for the client's ACK). */
    static final int STATE_RESPONDING = 5;

    final OutboundMessage out;
    final InboundMessage in;
    long id;
    boolean client;
    int state;
    EngineSocket socket;
    Peer peer;
    long peerAddress;
    int peerPort;
    long cookie;
    int silentTicks;
    /** BUSY answers in a row, with no DATA or GRANT for this RPC since: they lengthen the wait for a RESEND. */
    int busyAnswers;
    /** Bytes retransmitted in answer to RESENDs and RPC_UNKNOWNs, against the retransmission budget. */
    long retransmittedBytes;
    /** The peer sent something for this RPC after the packet that created it (so it is not a forged one-off). */
    boolean heard;
    /** Timer tick of the last BUSY answered for this RPC. */
    long answerTick;
    /** A client RPC's deadline on the transport's clock, 0 for none. */
    long deadlineNs;
    /** When a client last restarted the RPC after an RPC_UNKNOWN. */
    long lastRestartNs;
    boolean incast;
    boolean future;
    boolean outPagesHeld;
    /** Next server RPC with the same hash key (collision chain). */
    Rpc hashNext;
    long hashKey;
    Rpc allPrev;
    Rpc allNext;
    Rpc waitNext;
    boolean waiting;

    Rpc(final int maxPages)
    {
        out = new OutboundMessage(maxPages);
        in = new InboundMessage(maxPages);
    }

    void reset(
        final long id,
        final boolean client,
        final EngineSocket socket,
        final Peer peer,
        final long peerAddress,
        final int peerPort)
    {
        this.id = id;
        this.client = client;
        this.socket = socket;
        this.peer = peer;
        this.peerAddress = peerAddress;
        this.peerPort = peerPort;
        cookie = 0;
        silentTicks = 0;
        busyAnswers = 0;
        retransmittedBytes = 0;
        lastRestartNs = Long.MIN_VALUE / 2;
        heard = false;
        deadlineNs = 0;
        answerTick = -1;
        incast = false;
        future = false;
        outPagesHeld = false;
        hashNext = null;
        hashKey = 0;
        allPrev = null;
        allNext = null;
        waitNext = null;
        waiting = false;
        out.reset(this, 0);
        in.reset(this);
        state = client ? STATE_OUTGOING_REQUEST : STATE_INCOMING_REQUEST;
    }
}
