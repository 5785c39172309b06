package dev.homa.core;

import dev.homa.core.wire.DataHeaderFlyweight;

/**
 * The limits of a transport's {@link HomaTransport.Context}: message length, pools, tables and the rate of answers,
 * each with its system property and default, and the rules {@link HomaTransport.Context#conclude()} checks them by.
 * Every resource has an explicit, counted limit; {@code docs/protocol.md} says what each bounds.
 *
 * @param <C> the concrete context, which every setter returns.
 */
abstract class LimitSettings<C extends LimitSettings<C>> extends Settings<C>
{
    /**
     * Largest {@link #maxMessageLength(int)} accepted: offsets travel in 32 bits and a message must fit in a pool of
     * at most 2 GiB.
     */
    public static final int MAX_MESSAGE_LENGTH_LIMIT = 1 << 30;

    /** System property of {@link #maxMessageLength(int)}. */
    public static final String MAX_MESSAGE_LENGTH_PROP_NAME = "homa.max.message.length";
    /** Default of {@link #maxMessageLength(int)}. */
    public static final int MAX_MESSAGE_LENGTH_DEFAULT = DataHeaderFlyweight.MAX_MESSAGE_LENGTH;

    /** System property of {@link #maxPeers(int)}. */
    public static final String MAX_PEERS_PROP_NAME = "homa.max.peers";
    /** Default of {@link #maxPeers(int)}. */
    public static final int MAX_PEERS_DEFAULT = 10_000;

    /** System property of {@link #maxServerRpcs(int)}. */
    public static final String MAX_SERVER_RPCS_PROP_NAME = "homa.max.server.rpcs";
    /** Default of {@link #maxServerRpcs(int)}. */
    public static final int MAX_SERVER_RPCS_DEFAULT = 10_000;

    /** System property of {@link #maxRpcsPerSocket(int)}. */
    public static final String MAX_RPCS_PER_SOCKET_PROP_NAME = "homa.max.rpcs.per.socket";
    /** Default of {@link #maxRpcsPerSocket(int)}. */
    public static final int MAX_RPCS_PER_SOCKET_DEFAULT = 10_000;

    /** System property of {@link #maxIncomingRequestsPerPeer(int)}. */
    public static final String MAX_INCOMING_REQUESTS_PER_PEER_PROP_NAME = "homa.max.incoming.requests.per.peer";
    /** Default of {@link #maxIncomingRequestsPerPeer(int)}. */
    public static final int MAX_INCOMING_REQUESTS_PER_PEER_DEFAULT = 1000;

    /** System property of {@link #maxReceiveBytesPerPeer(long)}. */
    public static final String MAX_RECEIVE_BYTES_PER_PEER_PROP_NAME = "homa.max.receive.bytes.per.peer";
    /** Default of {@link #maxReceiveBytesPerPeer(long)}. */
    public static final long MAX_RECEIVE_BYTES_PER_PEER_DEFAULT = 0;

    /** System property of {@link #receiveReserveBytes(long)}. */
    public static final String RECEIVE_RESERVE_BYTES_PROP_NAME = "homa.receive.reserve.bytes";
    /** Default of {@link #receiveReserveBytes(long)}. */
    public static final long RECEIVE_RESERVE_BYTES_DEFAULT = 0;

    /** System property of {@link #retransmitBudgetPercent(int)}. */
    public static final String RETRANSMIT_BUDGET_PERCENT_PROP_NAME = "homa.retransmit.budget.percent";
    /** Default of {@link #retransmitBudgetPercent(int)}. */
    public static final int RETRANSMIT_BUDGET_PERCENT_DEFAULT = 500;

    /** System property of {@link #maxAnswersPerPeerPerTick(int)}. */
    public static final String MAX_ANSWERS_PER_PEER_PER_TICK_PROP_NAME = "homa.max.answers.per.peer.per.tick";
    /** Default of {@link #maxAnswersPerPeerPerTick(int)}. */
    public static final int MAX_ANSWERS_PER_PEER_PER_TICK_DEFAULT = 128;

    /** System property of {@link #maxAnswersToUnknownPerTick(int)}. */
    public static final String MAX_ANSWERS_TO_UNKNOWN_PER_TICK_PROP_NAME = "homa.max.answers.unknown.per.tick";
    /** Default of {@link #maxAnswersToUnknownPerTick(int)}. */
    public static final int MAX_ANSWERS_TO_UNKNOWN_PER_TICK_DEFAULT = 256;

    /** System property of {@link #receivePageBytes(int)}. */
    public static final String RECEIVE_PAGE_BYTES_PROP_NAME = "homa.receive.page.bytes";
    /** Default of {@link #receivePageBytes(int)}. */
    public static final int RECEIVE_PAGE_BYTES_DEFAULT = 64 * 1024;

    /** System property of {@link #receivePoolBytes(long)}. */
    public static final String RECEIVE_POOL_BYTES_PROP_NAME = "homa.receive.pool.bytes";
    /** Default of {@link #receivePoolBytes(long)}. */
    public static final long RECEIVE_POOL_BYTES_DEFAULT = 64L * 1024 * 1024;

    /** System property of {@link #sendPoolBytes(long)}. */
    public static final String SEND_POOL_BYTES_PROP_NAME = "homa.send.pool.bytes";
    /** Default of {@link #sendPoolBytes(long)}. */
    public static final long SEND_POOL_BYTES_DEFAULT = 64L * 1024 * 1024;

    private int maxMessageLength = Configuration.sizeInt(MAX_MESSAGE_LENGTH_PROP_NAME, MAX_MESSAGE_LENGTH_DEFAULT);
    private int maxPeers = Configuration.intValue(MAX_PEERS_PROP_NAME, MAX_PEERS_DEFAULT);
    private int maxServerRpcs = Configuration.intValue(MAX_SERVER_RPCS_PROP_NAME, MAX_SERVER_RPCS_DEFAULT);
    private int maxRpcsPerSocket = Configuration.intValue(MAX_RPCS_PER_SOCKET_PROP_NAME, MAX_RPCS_PER_SOCKET_DEFAULT);
    private int maxIncomingRequestsPerPeer =
        Configuration.intValue(MAX_INCOMING_REQUESTS_PER_PEER_PROP_NAME, MAX_INCOMING_REQUESTS_PER_PEER_DEFAULT);
    private long maxReceiveBytesPerPeer =
        Configuration.sizeLong(MAX_RECEIVE_BYTES_PER_PEER_PROP_NAME, MAX_RECEIVE_BYTES_PER_PEER_DEFAULT);
    private long receiveReserveBytes =
        Configuration.sizeLong(RECEIVE_RESERVE_BYTES_PROP_NAME, RECEIVE_RESERVE_BYTES_DEFAULT);
    private int retransmitBudgetPercent =
        Configuration.intValue(RETRANSMIT_BUDGET_PERCENT_PROP_NAME, RETRANSMIT_BUDGET_PERCENT_DEFAULT);
    private int maxAnswersPerPeerPerTick =
        Configuration.intValue(MAX_ANSWERS_PER_PEER_PER_TICK_PROP_NAME, MAX_ANSWERS_PER_PEER_PER_TICK_DEFAULT);
    private int maxAnswersToUnknownPerTick =
        Configuration.intValue(MAX_ANSWERS_TO_UNKNOWN_PER_TICK_PROP_NAME, MAX_ANSWERS_TO_UNKNOWN_PER_TICK_DEFAULT);
    private int receivePageBytes = Configuration.sizeInt(RECEIVE_PAGE_BYTES_PROP_NAME, RECEIVE_PAGE_BYTES_DEFAULT);
    private long receivePoolBytes = Configuration.sizeLong(RECEIVE_POOL_BYTES_PROP_NAME, RECEIVE_POOL_BYTES_DEFAULT);
    private long sendPoolBytes = Configuration.sizeLong(SEND_POOL_BYTES_PROP_NAME, SEND_POOL_BYTES_DEFAULT);
    private PoolMemory poolMemory = PoolMemory.ON_DEMAND;

    LimitSettings()
    {
    }

    /**
     * Check the limits and resolve those whose 0 means "derived".
     */
    final void concludeLimits()
    {
        check(maxMessageLength >= 1 && maxMessageLength <= MAX_MESSAGE_LENGTH_LIMIT,
            "maxMessageLength", maxMessageLength, "1.." + MAX_MESSAGE_LENGTH_LIMIT);
        check(receivePageBytes >= 4096 && Integer.bitCount(receivePageBytes) == 1,
            "receivePageBytes", receivePageBytes, "a power of two >= 4096");
        final long messageBytes = receivePageBytes * (long)pagesFor(maxMessageLength);
        check(receivePoolBytes >= messageBytes && receivePoolBytes <= Integer.MAX_VALUE, "receivePoolBytes",
            receivePoolBytes, "room for one maximum-length message and < 2 GiB");
        check(sendPoolBytes >= messageBytes && sendPoolBytes <= Integer.MAX_VALUE, "sendPoolBytes", sendPoolBytes,
            "room for one maximum-length message and < 2 GiB");
        check(maxPeers >= 1, "maxPeers", maxPeers, ">= 1");
        check(maxServerRpcs >= 1, "maxServerRpcs", maxServerRpcs, ">= 1");
        check(maxRpcsPerSocket >= 1, "maxRpcsPerSocket", maxRpcsPerSocket, ">= 1");
        check(maxIncomingRequestsPerPeer >= 1, "maxIncomingRequestsPerPeer", maxIncomingRequestsPerPeer, ">= 1");
        if (0 == maxReceiveBytesPerPeer)
        {
            maxReceiveBytesPerPeer = receivePoolBytes / 4;
        }
        check(maxReceiveBytesPerPeer >= maxMessageLength, "maxReceiveBytesPerPeer", maxReceiveBytesPerPeer,
            ">= maxMessageLength (" + maxMessageLength + "), or 0 for a quarter of the receive pool");
        if (0 == receiveReserveBytes)
        {
            receiveReserveBytes = receivePoolBytes / 16;
        }
        check(receiveReserveBytes >= 0 && receivePoolBytes - receiveReserveBytes >= messageBytes,
            "receiveReserveBytes", receiveReserveBytes,
            "room for one maximum-length message beside it, or 0 for a sixteenth of the receive pool");
        check(retransmitBudgetPercent >= 100, "retransmitBudgetPercent", retransmitBudgetPercent,
            ">= 100 (every byte of a message may be sent again at least once)");
        check(maxAnswersPerPeerPerTick >= 1, "maxAnswersPerPeerPerTick", maxAnswersPerPeerPerTick, ">= 1");
        check(maxAnswersToUnknownPerTick >= 1, "maxAnswersToUnknownPerTick", maxAnswersToUnknownPerTick, ">= 1");
    }

    private int pagesFor(final int length)
    {
        return (int)(((long)length + receivePageBytes - 1) / receivePageBytes);
    }

    /**
     * Largest message this host sends or accepts, both directions. The default is the kernel's
     * HOMA_MAX_MESSAGE_LENGTH, 1,000,000 bytes ({@code homa.max.message.length}), so that kernel peers
     * interoperate: a kernel host drops DATA of a longer message. Raise it only where every peer that exchanges
     * such messages takes them too (up to {@value #MAX_MESSAGE_LENGTH_LIMIT}); the receive and send pools must
     * hold at least one message of this length.
     *
     * @param maxMessageLength largest message, 1 .. {@value #MAX_MESSAGE_LENGTH_LIMIT}.
     * @return this.
     */
    public C maxMessageLength(final int maxMessageLength)
    {
        checkMutable();
        this.maxMessageLength = maxMessageLength;
        return self();
    }

    /**
     * @return the largest message length.
     */
    public int maxMessageLength()
    {
        return maxMessageLength;
    }

    /**
     * @param maxPeers peer table limit (default 10,000, kernel net_max).
     * @return this.
     */
    public C maxPeers(final int maxPeers)
    {
        checkMutable();
        this.maxPeers = maxPeers;
        return self();
    }

    /**
     * @return the peer limit.
     */
    public int maxPeers()
    {
        return maxPeers;
    }

    /**
     * @param maxServerRpcs server RPCs alive at once; new requests beyond are dropped (default 10,000).
     * @return this.
     */
    public C maxServerRpcs(final int maxServerRpcs)
    {
        checkMutable();
        this.maxServerRpcs = maxServerRpcs;
        return self();
    }

    /**
     * @return the server RPC limit.
     */
    public int maxServerRpcs()
    {
        return maxServerRpcs;
    }

    /**
     * @param maxRpcsPerSocket client RPCs in flight per socket (default 10,000).
     * @return this.
     */
    public C maxRpcsPerSocket(final int maxRpcsPerSocket)
    {
        checkMutable();
        this.maxRpcsPerSocket = maxRpcsPerSocket;
        return self();
    }

    /**
     * @return the per-socket RPC limit.
     */
    public int maxRpcsPerSocket()
    {
        return maxRpcsPerSocket;
    }

    /**
     * Fair share of the server RPC table: a peer (host) with this many requests still being received (partly
     * arrived) gets no new server RPC until some complete or end, so the first packets of requests that never
     * continue, from one source, cannot take every slot of {@link #maxServerRpcs(int)}; its further first
     * packets are dropped and counted ({@code drop.peer_incoming_requests}), and a live client recovers them
     * through its RESENDs. Requests already delivered to the application do not count: a client may have as
     * many of those outstanding as the server's application can take. Default 1,000
     * ({@code homa.max.incoming.requests.per.peer}).
     *
     * @param maxIncomingRequestsPerPeer requests per peer being received at once.
     * @return this.
     */
    public C maxIncomingRequestsPerPeer(final int maxIncomingRequestsPerPeer)
    {
        checkMutable();
        this.maxIncomingRequestsPerPeer = maxIncomingRequestsPerPeer;
        return self();
    }

    /**
     * @return requests per peer being received at once.
     */
    public int maxIncomingRequestsPerPeer()
    {
        return maxIncomingRequestsPerPeer;
    }

    /**
     * Fair share of the receive pool: the messages one peer has partly received may hold at most this many
     * bytes of pool pages; a further message of that peer waits for pages (no grants, its packets dropped and
     * asked for again later) and is counted ({@code receive_peer_limit_waits}). Messages already delivered to
     * the application do not count. Default 0 = a quarter of {@link #receivePoolBytes(long)}
     * ({@code homa.max.receive.bytes.per.peer}).
     *
     * @param maxReceiveBytesPerPeer bytes, at least the maximum message length; 0 = a quarter of the pool.
     * @return this.
     */
    public C maxReceiveBytesPerPeer(final long maxReceiveBytesPerPeer)
    {
        checkMutable();
        this.maxReceiveBytesPerPeer = maxReceiveBytesPerPeer;
        return self();
    }

    /**
     * @return receive-pool bytes per peer (after conclude: resolved).
     */
    public long maxReceiveBytesPerPeer()
    {
        return maxReceiveBytesPerPeer;
    }

    /**
     * Receive-pool bytes kept for messages of at most one page: a longer message takes pages only while this
     * many stay free, so the first packets of long messages (from many hosts, honest or forged) cannot leave
     * short RPCs without room; those of a longer message that must wait count as {@code receive_pool_waits}.
     * Default 0 = a sixteenth of {@link #receivePoolBytes(long)} ({@code homa.receive.reserve.bytes}).
     *
     * @param receiveReserveBytes bytes; 0 = a sixteenth of the pool.
     * @return this.
     */
    public C receiveReserveBytes(final long receiveReserveBytes)
    {
        checkMutable();
        this.receiveReserveBytes = receiveReserveBytes;
        return self();
    }

    /**
     * @return receive-pool bytes reserved for one-page messages (after conclude: resolved).
     */
    public long receiveReserveBytes()
    {
        return receiveReserveBytes;
    }

    /**
     * Bound on what RESENDs can draw: over its life (or, for a client, since its last restart) an RPC retransmits
     * at most this percentage of its message's length, and at least four packets, in answer to RESENDs; past it,
     * a RESEND is not answered and is counted ({@code retransmit_budget_spent}), so a stream of forged RESENDs
     * cannot turn one message into an unbounded flood toward the address they name, while a receiver that lost
     * four fifths of everything sent to it still gets its message. Default 500
     * ({@code homa.retransmit.budget.percent}); loss of 5% costs about 5. A client restarts an RPC after an
     * RPC_UNKNOWN at most once per resend interval.
     *
     * @param retransmitBudgetPercent percent of the message length, at least 100.
     * @return this.
     */
    public C retransmitBudgetPercent(final int retransmitBudgetPercent)
    {
        checkMutable();
        this.retransmitBudgetPercent = retransmitBudgetPercent;
        return self();
    }

    /**
     * @return retransmission budget in percent of the message length.
     */
    public int retransmitBudgetPercent()
    {
        return retransmitBudgetPercent;
    }

    /**
     * Rate limit on the answers sent to one peer for packets that name no RPC of this host (RPC_UNKNOWN for a
     * RESEND, ACK for a NEED_ACK): at most this many per tick; the rest are skipped and counted
     * ({@code answers_limited}) and the peer's timer asks again. (BUSY goes at most once per RPC per tick;
     * GRANTs, DATA and CUTOFFS have limits of their own.) Default 128 ({@code homa.max.answers.per.peer.per.tick}).
     *
     * @param maxAnswersPerPeerPerTick control packets per peer per tick.
     * @return this.
     */
    public C maxAnswersPerPeerPerTick(final int maxAnswersPerPeerPerTick)
    {
        checkMutable();
        this.maxAnswersPerPeerPerTick = maxAnswersPerPeerPerTick;
        return self();
    }

    /**
     * @return control answers per peer per tick.
     */
    public int maxAnswersPerPeerPerTick()
    {
        return maxAnswersPerPeerPerTick;
    }

    /**
     * Rate limit, over all of them together, on answers to hosts this host keeps no state for (RPC_UNKNOWN for
     * a RESEND naming an unknown RPC, ACK for a NEED_ACK from an unknown host): at most this many per tick, so
     * packets forged from ever new addresses draw a bounded stream. Default 256
     * ({@code homa.max.answers.unknown.per.tick}).
     *
     * @param maxAnswersToUnknownPerTick answers per tick to hosts without a peer entry.
     * @return this.
     */
    public C maxAnswersToUnknownPerTick(final int maxAnswersToUnknownPerTick)
    {
        checkMutable();
        this.maxAnswersToUnknownPerTick = maxAnswersToUnknownPerTick;
        return self();
    }

    /**
     * @return answers per tick to hosts without a peer entry.
     */
    public int maxAnswersToUnknownPerTick()
    {
        return maxAnswersToUnknownPerTick;
    }

    /**
     * @param receivePageBytes pool page size, power of two (default 65,536 as kernel bpages).
     * @return this.
     */
    public C receivePageBytes(final int receivePageBytes)
    {
        checkMutable();
        this.receivePageBytes = receivePageBytes;
        return self();
    }

    /**
     * @return page size of both pools.
     */
    public int receivePageBytes()
    {
        return receivePageBytes;
    }

    /**
     * @param receivePoolBytes off-heap receive pool (default 64 MiB).
     * @return this.
     */
    public C receivePoolBytes(final long receivePoolBytes)
    {
        checkMutable();
        this.receivePoolBytes = receivePoolBytes;
        return self();
    }

    /**
     * @return receive pool size.
     */
    public long receivePoolBytes()
    {
        return receivePoolBytes;
    }

    /**
     * @param sendPoolBytes off-heap memory for outgoing messages kept for retransmission (default 64 MiB,
     *                      the analogue of the kernel's wmem limit).
     * @return this.
     */
    public C sendPoolBytes(final long sendPoolBytes)
    {
        checkMutable();
        this.sendPoolBytes = sendPoolBytes;
        return self();
    }

    /**
     * @return send pool size.
     */
    public long sendPoolBytes()
    {
        return sendPoolBytes;
    }

    /**
     * @param poolMemory where the receive and send pools live; default {@link PoolMemory#ON_DEMAND}.
     * @return this.
     */
    public C poolMemory(final PoolMemory poolMemory)
    {
        checkMutable();
        if (null == poolMemory)
        {
            throw new HomaConfigurationException("poolMemory must not be null (PoolMemory.ON_DEMAND is the default)");
        }
        this.poolMemory = poolMemory;
        return self();
    }

    /**
     * @return where the receive and send pools live.
     */
    public PoolMemory poolMemory()
    {
        return poolMemory;
    }
}
