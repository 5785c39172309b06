package dev.homa.core;

import dev.homa.core.grant.IncomingAccount;
import dev.homa.core.priority.Cutoffs;

/**
 * Per remote host state (kernel {@code homa_peer}): the unscheduled cutoffs that host gave us (used for what we
 * send to it) and their version, when we last sent it our CUTOFFS, up to five pending acks for its server RPCs (one
 * list for all our client sockets, as the kernel keeps it: the server frees by host and id), how many rounds of
 * RESENDs it left unanswered, its fair shares (requests being received, receive-pool bytes and incoming bytes it
 * holds; control answers sent to it this tick), and bookkeeping for LRU/idle eviction. Pooled; keyed by the
 * driver's host address.
 */
final class Peer
{
    static final int MAX_ACKS = 5;

    final Cutoffs cutoffs = new Cutoffs();
    final IncomingAccount incoming = new IncomingAccount();
    final long[] ackIds = new long[MAX_ACKS];
    final int[] ackServerPorts = new int[MAX_ACKS];
    long address;
    long lastCutoffsSentNs;
    long lastActiveNs;
    int ackCount;
    int rpcCount;
    /** Server RPCs of this peer still receiving their request. */
    int incomingRequests;
    /** Receive-pool bytes held by this peer's messages still being received. */
    long receiveBytes;
    /** Receive-pool bytes held for the unscheduled bytes of this peer's messages that wait for the rest. */
    long prefixBytes;
    /** Timer tick of {@link #answers}. */
    long answerTick;
    int answers;
    /** RESEND rounds (at most one per resend interval) to this host since the last packet from it. */
    int unansweredResends;
    long lastResendTick;
    /** Timer tick of {@link #resends}. */
    long resendTick;
    /** RESENDs for client RPCs with this host in the tick {@link #resendTick}. */
    int resends;
    /** Shortest time from a message's start to its first GRANT from this host ({@link UnscheduledSizer}). */
    long minRttNs;
    /** Unscheduled bytes for messages to this host from {@link #minRttNs}; 0 until measured. */
    int unscheduledBytes;
    /** Our messages to this host that sent their unscheduled bytes and await a first GRANT. */
    int ungranted;
    /** Our messages to this host that wait to start ({@link UnscheduledAdmission}), in arrival order. */
    OutboundMessage heldHead;
    OutboundMessage heldTail;
    /** {@link #lastActiveNs} when the peer took its place in the table's LRU list; older once it was used since. */
    long listedNs;
    Peer lruPrev;
    Peer lruNext;

    void reset(final long address, final Cutoffs unknown, final long nowNs)
    {
        this.address = address;
        cutoffs.copyFrom(unknown);
        lastCutoffsSentNs = Long.MIN_VALUE / 2;
        lastActiveNs = nowNs;
        listedNs = nowNs;
        ackCount = 0;
        rpcCount = 0;
        incomingRequests = 0;
        receiveBytes = 0;
        prefixBytes = 0;
        answerTick = -1;
        answers = 0;
        unansweredResends = 0;
        lastResendTick = Long.MIN_VALUE / 2;
        resendTick = -1;
        resends = 0;
        minRttNs = Long.MAX_VALUE;
        unscheduledBytes = 0;
        ungranted = 0;
        heldHead = null;
        heldTail = null;
        lruPrev = null;
        lruNext = null;
    }

    void addAck(final long clientId, final int serverPort)
    {
        final int i = ackCount++;
        ackIds[i] = clientId;
        ackServerPorts[i] = serverPort;
    }
}
