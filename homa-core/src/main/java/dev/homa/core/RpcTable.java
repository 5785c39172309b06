package dev.homa.core;

import dev.homa.core.grant.GrantScheduler;
import org.agrona.concurrent.CachedNanoClock;

import java.util.ArrayDeque;

/**
 * The live RPCs: creates them from a pool, keeps them in one list for the timer's scan and the sockets' maps for
 * lookup by id, and ends them, giving back everything an RPC holds (its place in the SRPT queue, send-pool pages and
 * their reservation, its inbound message's grant tracking and receive-pool pages) so no end path can leak.
 */
final class RpcTable
{

    private final ArrayDeque<Rpc> freeRpcs = new ArrayDeque<>();
    private final SrptQueue srpt;
    private final PagePool sendPool;
    private final PagePool receivePool;
    private final SendPoolReservations sendPagesReserved;
    private final GrantScheduler scheduler;
    private final ControlSender controlSender;
    private final InboundAllocator allocator;
    private final MessageDelivery delivery;
    private final CachedNanoClock clock;
    private final int maxPages;
    /** Which outbound messages may start; shared with the command handler and the GRANT handler. */
    final UnscheduledAdmission admission;
    private Rpc allHead;
    private Rpc allTail;
    private int rpcCount;
    private int serverRpcCount;

    /**
     * @param srpt              the SRPT queue an ended RPC leaves.
     * @param sendPool          where outbound messages live.
     * @param receivePool       where inbound messages live.
     * @param sendPagesReserved send-pool reservations made by the API (given back when a message ends).
     * @param scheduler         the grant scheduler tracking inbound messages.
     * @param controlSender     sends the grants an ended message frees up.
     * @param allocator         the queue of messages waiting for receive pages.
     * @param delivery          delivers errors to the application.
     * @param clock             the duty cycle's cached time.
     * @param maxPages          pages of the longest message.
     * @param admission         the messages that wait to start, and those that await a first GRANT, per peer.
     */
    RpcTable(
        final SrptQueue srpt,
        final PagePool sendPool,
        final PagePool receivePool,
        final SendPoolReservations sendPagesReserved,
        final GrantScheduler scheduler,
        final ControlSender controlSender,
        final InboundAllocator allocator,
        final MessageDelivery delivery,
        final CachedNanoClock clock,
        final int maxPages,
        final UnscheduledAdmission admission)
    {
        this.admission = admission;
        this.srpt = srpt;
        this.sendPool = sendPool;
        this.receivePool = receivePool;
        this.sendPagesReserved = sendPagesReserved;
        this.scheduler = scheduler;
        this.controlSender = controlSender;
        this.allocator = allocator;
        this.delivery = delivery;
        this.clock = clock;
        this.maxPages = maxPages;
    }

    /**
     * @return the first live RPC (follow {@code allNext}; save it before ending the current one), or null.
     */
    Rpc first()
    {
        return allHead;
    }

    /**
     * @return live RPCs.
     */
    int rpcCount()
    {
        return rpcCount;
    }

    /**
     * @return live server RPCs.
     */
    int serverRpcCount()
    {
        return serverRpcCount;
    }

    /**
     * Register a new server RPC in its socket's map.
     *
     * @param socket the socket the request arrived on.
     * @param rpc    from {@link #newRpc}.
     */
    void addServer(final EngineSocket socket, final Rpc rpc)
    {
        socket.addServer(rpc);
        serverRpcCount++;
        rpc.peer.incomingRequests++;
    }

    /**
     * Create an RPC and link it into the live list.
     *
     * @param id      RPC id as this host sees it.
     * @param client  true for a client RPC.
     * @param socket  our socket.
     * @param peer    the peer's entry (its RPC count goes up).
     * @param address peer host.
     * @param port    peer port.
     * @return the RPC.
     */
    Rpc newRpc(
        final long id, final boolean client, final EngineSocket socket, final Peer peer, final long address,
        final int port)
    {
        Rpc rpc = freeRpcs.pollFirst();
        if (null == rpc)
        {
            rpc = new Rpc(maxPages);
        }
        rpc.reset(id, client, socket, peer, address, port);
        peer.rpcCount++;
        append(rpc);
        rpcCount++;
        return rpc;
    }

    /**
     * Move a live RPC to the end of the live list, which is otherwise in the order the RPCs were created: the timer
     * does so with each client RPC it sends a RESEND for, so the list runs from the least recently asked.
     *
     * @param rpc a live RPC.
     */
    void moveToTail(final Rpc rpc)
    {
        if (allTail != rpc)
        {
            unlink(rpc);
            append(rpc);
        }
    }

    /**
     * @return the last live RPC, or null.
     */
    Rpc last()
    {
        return allTail;
    }

    private void append(final Rpc rpc)
    {
        rpc.allPrev = allTail;
        rpc.allNext = null;
        if (null == allTail)
        {
            allHead = rpc;
        }
        else
        {
            allTail.allNext = rpc;
        }
        allTail = rpc;
    }

    private void unlink(final Rpc rpc)
    {
        if (null == rpc.allPrev)
        {
            allHead = rpc.allNext;
        }
        else
        {
            rpc.allPrev.allNext = rpc.allNext;
        }
        if (null == rpc.allNext)
        {
            allTail = rpc.allPrev;
        }
        else
        {
            rpc.allNext.allPrev = rpc.allPrev;
        }
    }

    /**
     * End an RPC and give back everything it holds.
     *
     * @param rpc a live RPC.
     */
    void freeRpc(final Rpc rpc)
    {
        unlink(rpc);
        rpcCount--;

        final EngineSocket socket = rpc.socket;
        if (rpc.client)
        {
            socket.clientRpcs.remove(rpc.id);
            socket.api.onClientRpcEnded();
        }
        else
        {
            socket.removeServer(rpc);
            serverRpcCount--;
            if (Rpc.STATE_INCOMING_REQUEST == rpc.state)
            {
                rpc.peer.incomingRequests--;
            }
        }

        final OutboundMessage out = rpc.out;
        if (out.queued)
        {
            srpt.dequeue(out);
        }
        admission.onEnded(out, rpc.peer);
        if (rpc.outPagesHeld)
        {
            out.pool.free(out.pages, out.pageCount);
            if (sendPool == out.pool)
            {
                sendPagesReserved.release(sendPool.unitsFor(out.length));
            }
            rpc.outPagesHeld = false;
        }
        resetInbound(rpc);
        rpc.peer.rpcCount--;
        rpc.socket = null;
        rpc.peer = null;
        freeRpcs.addFirst(rpc);
    }

    /**
     * Drop the RPC's inbound message: grant tracking, wait for pages, pages.
     *
     * @param rpc the RPC.
     */
    void resetInbound(final Rpc rpc)
    {
        final InboundMessage in = rpc.in;
        if (in.scheduled)
        {
            in.scheduled = false;
            scheduler.remove(in);
        }
        if (in.waitingForPages)
        {
            allocator.remove(rpc);
        }
        allocator.release(rpc);
        receivePool.free(in.pages, in.pageCount);
        in.reset(rpc);
    }

    /**
     * @param socket     our socket.
     * @param source     peer host.
     * @param sourcePort peer port.
     * @param localId    our RPC id (even: client; odd: server).
     * @return the RPC, or null if it is not ours or not from that peer.
     */
    Rpc lookup(final EngineSocket socket, final long source, final int sourcePort, final long localId)
    {
        if (0 == (localId & 1))
        {
            final Rpc rpc = socket.clientRpcs.get(localId);
            return null != rpc && rpc.peerAddress == source && rpc.peerPort == sourcePort ? rpc : null;
        }
        return socket.findServer(source, sourcePort, localId);
    }

    /**
     * End a client RPC with an error for the application.
     *
     * @param rpc   the client RPC.
     * @param error what went wrong.
     */
    void failClient(final Rpc rpc, final HomaException error)
    {
        final HomaMessage message = delivery.takeMessage().prepare(HomaMessage.Kind.ERROR, rpc.id,
            rpc.peerAddress, rpc.peerPort, rpc.socket.port, rpc.cookie, 0, error);
        delivery.deliverClient(rpc, message);
        freeRpc(rpc);
    }

    /**
     * End a client RPC the application gave up on (completing its future with the reason).
     *
     * @param rpc    the client RPC.
     * @param reason why.
     */
    void abortClient(final Rpc rpc, final String reason)
    {
        if (rpc.future)
        {
            final HomaMessage error = delivery.takeMessage().prepare(HomaMessage.Kind.ERROR, rpc.id,
                rpc.peerAddress, rpc.peerPort, rpc.socket.port, rpc.cookie, 0, new HomaAbortedException(reason, false));
            if (!rpc.socket.api.completeFuture(rpc.id, error))
            {
                delivery.recycle(error);
            }
        }
        freeRpc(rpc);
    }

    /**
     * One pass over the RPCs, for an idle protocol thread deciding whether to keep polling.
     *
     * @param handOffs also count a client RPC that awaits its response and a request that is with the application.
     * @return true if an outbound message has sent all it was granted and waits for the receiver's next GRANT, or,
     * with {@code handOffs}, an RPC waits on a hand-off with the application.
     */
    boolean hasRpcAwaitingPeerOrApplication(final boolean handOffs)
    {
        for (Rpc rpc = allHead; null != rpc; rpc = rpc.allNext)
        {
            final int state = rpc.state;
            if (handOffs && (Rpc.STATE_AWAIT_RESPONSE == state || Rpc.STATE_IN_SERVICE == state))
            {
                return true;
            }
            final OutboundMessage out = rpc.out;
            if ((Rpc.STATE_OUTGOING_REQUEST == state || Rpc.STATE_RESPONDING == state) &&
                out.length > 0 && !out.fullySent() && out.nextOffset >= out.granted)
            {
                return true;
            }
        }
        return false;
    }

    int messagesWithOutstandingGrants()
    {
        int count = 0;
        for (Rpc rpc = allHead; null != rpc; rpc = rpc.allNext)
        {
            final InboundMessage in = rpc.in;
            if (in.started() && !in.complete())
            {
                final int granted = in.grantState.grantedOffset();
                if (granted > in.received && granted > in.incoming)
                {
                    count++;
                }
            }
        }
        return count;
    }
}
