package dev.homa.core;

/**
 * The timer settings of a transport's {@link HomaTransport.Context} (the kernel's {@code homa_timer}): the tick,
 * when silence draws a RESEND, a NEED_ACK or a timeout, and how long idle peers are kept; each with its system
 * property, default and the rules {@link HomaTransport.Context#conclude()} checks.
 *
 * @param <C> the concrete context, which every setter returns.
 */
abstract class TimerSettings<C extends TimerSettings<C>> extends LimitSettings<C>
{
    /** System property of {@link #tickNs(long)}. */
    public static final String TICK_PROP_NAME = "homa.tick";
    /** Default of {@link #tickNs(long)}. */
    public static final long TICK_DEFAULT_NS = 1_000_000L;

    /** System property of {@link #resendTicks(int)}. */
    public static final String RESEND_TICKS_PROP_NAME = "homa.resend.ticks";
    /** Default of {@link #resendTicks(int)}. */
    public static final int RESEND_TICKS_DEFAULT = 5;

    /** System property of {@link #resendIntervalTicks(int)}. */
    public static final String RESEND_INTERVAL_TICKS_PROP_NAME = "homa.resend.interval.ticks";
    /** Default of {@link #resendIntervalTicks(int)}. */
    public static final int RESEND_INTERVAL_TICKS_DEFAULT = 5;

    /** System property of {@link #timeoutTicks(int)}. */
    public static final String TIMEOUT_TICKS_PROP_NAME = "homa.timeout.ticks";
    /** Default of {@link #timeoutTicks(int)}. */
    public static final int TIMEOUT_TICKS_DEFAULT = 100;

    /** System property of {@link #timeoutResends(int)}. */
    public static final String TIMEOUT_RESENDS_PROP_NAME = "homa.timeout.resends";
    /** Default of {@link #timeoutResends(int)}. */
    public static final int TIMEOUT_RESENDS_DEFAULT = 0;

    /** System property of {@link #resendBackoff(int)}. */
    public static final String RESEND_BACKOFF_PROP_NAME = "homa.resend.backoff";
    /** Default of {@link #resendBackoff(int)}. */
    public static final int RESEND_BACKOFF_DEFAULT = 3;
    /** Largest {@link #resendBackoff(int)}. */
    public static final int RESEND_BACKOFF_MAX = 10;

    /** System property of {@link #maxResendsPerPeerPerTick(int)}. */
    public static final String MAX_RESENDS_PER_PEER_PER_TICK_PROP_NAME = "homa.max.resends.per.peer.per.tick";
    /** Default of {@link #maxResendsPerPeerPerTick(int)}. */
    public static final int MAX_RESENDS_PER_PEER_PER_TICK_DEFAULT = 16;

    /** System property of {@link #requestAckTicks(int)}. */
    public static final String REQUEST_ACK_TICKS_PROP_NAME = "homa.request.ack.ticks";
    /** Default of {@link #requestAckTicks(int)}. */
    public static final int REQUEST_ACK_TICKS_DEFAULT = 2;

    /** System property of {@link #maxUnansweredResends(int)}. */
    public static final String MAX_UNANSWERED_RESENDS_PROP_NAME = "homa.max.unanswered.resends";
    /** Default of {@link #maxUnansweredResends(int)}. */
    public static final int MAX_UNANSWERED_RESENDS_DEFAULT = 3;

    /** System property of {@link #responseStallTicks(int)}. */
    public static final String RESPONSE_STALL_TICKS_PROP_NAME = "homa.response.stall.ticks";
    /** Default of {@link #responseStallTicks(int)}. */
    public static final int RESPONSE_STALL_TICKS_DEFAULT = 0;

    /** System property of {@link #peerIdleNs(long)}. */
    public static final String PEER_IDLE_PROP_NAME = "homa.peer.idle";
    /** Default of {@link #peerIdleNs(long)}. */
    public static final long PEER_IDLE_DEFAULT_NS = 10_000_000_000L;

    private long tickNs = Configuration.durationNs(TICK_PROP_NAME, TICK_DEFAULT_NS);
    private int resendTicks = Configuration.intValue(RESEND_TICKS_PROP_NAME, RESEND_TICKS_DEFAULT);
    private int resendIntervalTicks =
        Configuration.intValue(RESEND_INTERVAL_TICKS_PROP_NAME, RESEND_INTERVAL_TICKS_DEFAULT);
    private int timeoutTicks = Configuration.intValue(TIMEOUT_TICKS_PROP_NAME, TIMEOUT_TICKS_DEFAULT);
    private int timeoutResends = Configuration.intValue(TIMEOUT_RESENDS_PROP_NAME, TIMEOUT_RESENDS_DEFAULT);
    private int resendBackoff = Configuration.intValue(RESEND_BACKOFF_PROP_NAME, RESEND_BACKOFF_DEFAULT);
    private int maxResendsPerPeerPerTick =
        Configuration.intValue(MAX_RESENDS_PER_PEER_PER_TICK_PROP_NAME, MAX_RESENDS_PER_PEER_PER_TICK_DEFAULT);
    private int requestAckTicks = Configuration.intValue(REQUEST_ACK_TICKS_PROP_NAME, REQUEST_ACK_TICKS_DEFAULT);
    private int maxUnansweredResends =
        Configuration.intValue(MAX_UNANSWERED_RESENDS_PROP_NAME, MAX_UNANSWERED_RESENDS_DEFAULT);
    private int responseStallTicks =
        Configuration.intValue(RESPONSE_STALL_TICKS_PROP_NAME, RESPONSE_STALL_TICKS_DEFAULT);
    private long peerIdleNs = Configuration.durationNs(PEER_IDLE_PROP_NAME, PEER_IDLE_DEFAULT_NS);

    TimerSettings()
    {
    }

    /**
     * Check the timer settings and resolve the response stall from the timeout.
     */
    final void concludeTimers()
    {
        check(tickNs > 0, "tickNs", tickNs, "> 0");
        check(resendTicks >= 1, "resendTicks", resendTicks, ">= 1");
        check(resendIntervalTicks >= 1, "resendIntervalTicks", resendIntervalTicks, ">= 1");
        check(timeoutTicks > resendTicks, "timeoutTicks", timeoutTicks, "> resendTicks (" + resendTicks + ")");
        check(requestAckTicks >= 1, "requestAckTicks", requestAckTicks, ">= 1");
        check(timeoutResends >= 0, "timeoutResends", timeoutResends, ">= 0 (0 = off)");
        check(resendBackoff >= 0 && resendBackoff <= RESEND_BACKOFF_MAX, "resendBackoff", resendBackoff,
            "in 0.." + RESEND_BACKOFF_MAX + " (0 = off)");
        check(maxResendsPerPeerPerTick >= 1, "maxResendsPerPeerPerTick", maxResendsPerPeerPerTick, ">= 1");
        check(maxUnansweredResends >= 0, "maxUnansweredResends", maxUnansweredResends, ">= 0 (0 = off)");
        if (0 == responseStallTicks)
        {
            responseStallTicks = (int)Math.min(Integer.MAX_VALUE, 10L * timeoutTicks);
        }
        check(responseStallTicks >= timeoutTicks, "responseStallTicks", responseStallTicks,
            ">= timeoutTicks (" + timeoutTicks + "), or 0 for ten times timeoutTicks");
        check(peerIdleNs > 0, "peerIdleNs", peerIdleNs, "> 0");
    }

    /**
     * @param tickNs timer tick (default 1 ms, kernel homa_timer).
     * @return this.
     */
    public C tickNs(final long tickNs)
    {
        checkMutable();
        this.tickNs = tickNs;
        return self();
    }

    /**
     * @return the tick.
     */
    public long tickNs()
    {
        return tickNs;
    }

    /**
     * @param resendTicks silent ticks before the first RESEND (default 5).
     * @return this.
     */
    public C resendTicks(final int resendTicks)
    {
        checkMutable();
        this.resendTicks = resendTicks;
        return self();
    }

    /**
     * @return resend ticks.
     */
    public int resendTicks()
    {
        return resendTicks;
    }

    /**
     * @param resendIntervalTicks ticks between RESENDs (default 5).
     * @return this.
     */
    public C resendIntervalTicks(final int resendIntervalTicks)
    {
        checkMutable();
        this.resendIntervalTicks = resendIntervalTicks;
        return self();
    }

    /**
     * @return resend interval.
     */
    public int resendIntervalTicks()
    {
        return resendIntervalTicks;
    }

    /**
     * @param timeoutTicks silent ticks before an RPC is aborted (default 100).
     * @return this.
     */
    public C timeoutTicks(final int timeoutTicks)
    {
        checkMutable();
        this.timeoutTicks = timeoutTicks;
        return self();
    }

    /**
     * @return timeout ticks.
     */
    public int timeoutTicks()
    {
        return timeoutTicks;
    }

    /**
     * Peer-wide timeout (draft section 6.4, the 2023 kernel's {@code timeout_resends}): once this many rounds of
     * RESENDs to one host went by without any packet from it, the host is presumed dead and every RPC with it
     * is aborted at once, instead of each waiting out its own {@code timeoutTicks}. A round is a tick in which
     * at least one RESEND went to the host; any packet from it starts the count again. 0 (the default, as the
     * current kernel) turns it off.
     *
     * @param timeoutResends unanswered RESEND rounds before a peer is presumed dead; 0 = off.
     * @return this.
     */
    public C timeoutResends(final int timeoutResends)
    {
        checkMutable();
        this.timeoutResends = timeoutResends;
        return self();
    }

    /**
     * @return unanswered RESEND rounds before a peer is presumed dead; 0 = off.
     */
    public int timeoutResends()
    {
        return timeoutResends;
    }

    /**
     * How far an RPC backs off while its peer keeps answering BUSY: after the n-th BUSY in a row (no DATA or GRANT
     * for the RPC in between) the next RESEND waits {@code resendTicks << min(n, resendBackoff)} ticks of silence
     * instead of {@code resendTicks}, but never more than half of {@link #timeoutTicks(int)}, so a live peer
     * still hears from the RPC well before its timeout; unanswered RESENDs then follow every resend interval as
     * usual. The kernel asks every interval. A client with many calls queued at a busy server (or a server with
     * many requests held back by their clients) otherwise draws a RESEND and a BUSY per RPC every resend interval,
     * packets that cost a userspace transport system calls at both ends and can outnumber the DATA packets moving
     * meanwhile. Any DATA or GRANT for the RPC ends the backoff, so a message that is moving is asked for its lost
     * bytes after {@code resendTicks}; and a server that has sent its whole response asks for an ACK after
     * {@code requestAckTicks}, which a client still missing bytes answers with a RESEND at once. Default 3
     * ({@code homa.resend.backoff}): 5, 10, 20, then 40 ticks.
     *
     * @param resendBackoff doublings of the wait after consecutive BUSY answers, 0 (the kernel's fixed interval)
     *                      to {@value #RESEND_BACKOFF_MAX}.
     * @return this.
     */
    public C resendBackoff(final int resendBackoff)
    {
        checkMutable();
        this.resendBackoff = resendBackoff;
        return self();
    }

    /**
     * @return doublings of the wait for a RESEND after consecutive BUSY answers; 0 = the kernel's fixed interval.
     */
    public int resendBackoff()
    {
        return resendBackoff;
    }

    /**
     * RESENDs one tick sends for client RPCs with one peer. Those due beyond it wait for a later tick, least
     * recently asked first, and while the peer answers their wait is not silence: a client with thousands of calls
     * outstanding at a slow server probes it at a bounded rate instead of burying it under RESENDs that come
     * faster than it can answer them. A silent peer's RPCs count every tick and time out as usual.
     *
     * @param maxResendsPerPeerPerTick RESENDs per peer per tick for client RPCs (default 16).
     * @return this.
     */
    public C maxResendsPerPeerPerTick(final int maxResendsPerPeerPerTick)
    {
        checkMutable();
        this.maxResendsPerPeerPerTick = maxResendsPerPeerPerTick;
        return self();
    }

    /**
     * @return RESENDs per peer per tick for client RPCs.
     */
    public int maxResendsPerPeerPerTick()
    {
        return maxResendsPerPeerPerTick;
    }

    /**
     * @param requestAckTicks silent ticks after a full response before NEED_ACK (default 2).
     * @return this.
     */
    public C requestAckTicks(final int requestAckTicks)
    {
        checkMutable();
        this.requestAckTicks = requestAckTicks;
        return self();
    }

    /**
     * @return NEED_ACK ticks.
     */
    public int requestAckTicks()
    {
        return requestAckTicks;
    }

    /**
     * A server RPC still receiving its request, created by one packet with nothing from its client since, is
     * reclaimed once that client has been silent for {@code resendTicks + maxUnansweredResends *
     * resendIntervalTicks} ticks (20 by default) instead of waiting out {@link #timeoutTicks(int)}: a live
     * client answers every RESEND (with data or BUSY) and, while it waits for grants or for this host's pages,
     * sends RESENDs of its own every resend interval, so that much silence after a lone packet is a dead or
     * forged client. The request was never delivered, so nothing executes twice; the
     * RPC's table slot, pages and incoming bytes go back to the others. Counted as
     * {@code server_rpcs_reclaimed}. Default 3 ({@code homa.max.unanswered.resends}); 0 = off.
     *
     * @param maxUnansweredResends resend intervals of silence after the first RESEND; 0 = wait for the timeout.
     * @return this.
     */
    public C maxUnansweredResends(final int maxUnansweredResends)
    {
        checkMutable();
        this.maxUnansweredResends = maxUnansweredResends;
        return self();
    }

    /**
     * @return unanswered RESEND rounds before a server RPC is reclaimed; 0 = off.
     */
    public int maxUnansweredResends()
    {
        return maxUnansweredResends;
    }

    /**
     * How long a server waits for the grants of a client that is not taking its response (the kernel waits for
     * ever, so that a client short of receive buffer space still gets it): after this many ticks without any
     * packet from the client for the RPC, the RPC ends (counted as {@code server_timeouts}) and its send-pool
     * pages go back. Without a limit, requests forged from an address that never grants would hold RPCs and
     * pages for good. Default 0 = ten times {@link #timeoutTicks(int)}, a second
     * ({@code homa.response.stall.ticks}).
     *
     * @param responseStallTicks ticks, at least {@link #timeoutTicks(int)}; 0 = ten times as many.
     * @return this.
     */
    public C responseStallTicks(final int responseStallTicks)
    {
        checkMutable();
        this.responseStallTicks = responseStallTicks;
        return self();
    }

    /**
     * @return ticks a response waits for grants from a silent client.
     */
    public int responseStallTicks()
    {
        return responseStallTicks;
    }

    /**
     * @param peerIdleNs a peer without RPCs idle this long is evicted (default 10 s).
     * @return this.
     */
    public C peerIdleNs(final long peerIdleNs)
    {
        checkMutable();
        this.peerIdleNs = peerIdleNs;
        return self();
    }

    /**
     * @return peer idle time.
     */
    public long peerIdleNs()
    {
        return peerIdleNs;
    }
}
