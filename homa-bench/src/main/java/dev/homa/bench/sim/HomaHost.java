package dev.homa.bench.sim;

import dev.homa.core.HomaLimitException;
import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ThreadingMode;
import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.loopback.FabricDriver;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A host running the Homa engine, unmodified, in INVOKER mode on the run's virtual clock: one client socket issues
 * the requests, one server socket answers them. Requests and replies go through the API's inline path, as an
 * application thread that drives its own transport would. A request is lent ({@link HomaSocket#SEND_NO_COPY}), as
 * an application sending megabytes would lend it: its bytes are never looked at, and copying a 10 MB message into
 * the send pool at once would cost more than sending it.
 * <p>
 * The run models a cluster that has been running for a while: every sender already holds every receiver's cutoffs.
 * A fresh engine sends to a peer it has not heard from at the unknown-peer level until a CUTOFFS comes back, and
 * with 144 hosts most pairs would otherwise meet for the first time in the measurement window. So at time 0 each
 * host sends a 1-byte hello to every other host's {@link #HELLO_PORT} socket; each hello and its reply draw a
 * CUTOFFS in both directions. Hellos are not workload: the run never sees them.
 */
final class HomaHost extends SimHost
{
    /** The server sockets' port on every host. */
    static final int SERVER_PORT = 1000;
    /** The port of the sockets that answer the hellos. */
    static final int HELLO_PORT = 1001;
    /** Duty cycles at one instant before the host is declared stuck. */
    private static final int MAX_ROUNDS = 1_000;

    private static final int[] COUNTERS = {
        HomaMetrics.RETRANSMITTED_PACKETS, HomaMetrics.RESENDS_REQUESTED, HomaMetrics.CLIENT_TIMEOUTS,
        HomaMetrics.SERVER_TIMEOUTS, HomaMetrics.CLIENT_RESTARTS, HomaMetrics.CUTOFF_CHANGES,
        HomaMetrics.INCAST_MARKED_REQUESTS, HomaMetrics.INCAST_LIMITED_RESPONSES, HomaMetrics.PACER_THROTTLED,
        HomaMetrics.RECEIVE_POOL_WAITS, HomaMetrics.DUPLICATE_BYTES };

    private final HomaTransport transport;
    private final FabricDriver driver;
    private final HomaSocket client;
    private final HomaSocket server;
    private final HomaSocket hello;
    private final UnsafeBuffer payload;
    private final int responseBytes;

    /**
     * @param index         host index.
     * @param run           the run.
     * @param driver        the host's NIC.
     * @param ctx           the transport's settings, driver and clock set.
     * @param payload       what requests and responses carry (its bytes are never looked at).
     * @param responseBytes length of each response.
     * @param seed          the run's seed.
     * @param meanGapNs     mean time between arrivals.
     */
    HomaHost(
        final int index,
        final ClusterRun run,
        final FabricDriver driver,
        final HomaTransport.Context ctx,
        final UnsafeBuffer payload,
        final int responseBytes,
        final long seed,
        final double meanGapNs)
    {
        super(index, run, seed, meanGapNs);
        this.driver = driver;
        this.payload = payload;
        this.responseBytes = responseBytes;
        this.transport = HomaTransport.launch(ctx.threadingMode(ThreadingMode.INVOKER));
        this.client = transport.openSocket(0);
        this.server = transport.openSocket(SERVER_PORT);
        this.hello = transport.openSocket(HELLO_PORT);
        transport.doWork();
        for (int peer = 0; peer < run.hostCount(); peer++)
        {
            if (peer != index)
            {
                client.homaSend(run.address(peer), HELLO_PORT, payload, 0, 1, 0);
            }
        }
    }

    /**
     * @param errors where duty-cycle errors go.
     * @return an error handler that counts and keeps the first.
     */
    static ErrorHandler handler(final Throwable[] errors)
    {
        return (throwable) ->
        {
            if (null == errors[0])
            {
                errors[0] = throwable;
            }
        };
    }

    @Override
    long firstDueNs()
    {
        return 0;
    }

    @Override
    long send(final int destination, final int bytes, final long nowNs)
    {
        try
        {
            return client.homaSend(run.address(destination), SERVER_PORT, payload, 0, bytes, 0,
                HomaSocket.SEND_NO_COPY);
        }
        catch (final HomaLimitException ex)
        {
            return -1;
        }
    }

    @Override
    long work(final long nowNs)
    {
        for (int round = 0; round < MAX_ROUNDS; round++)
        {
            transport.doWork();
            drain(nowNs);
            final long deadlineNs = deadlineNs(nowNs);
            if (deadlineNs > nowNs)
            {
                return deadlineNs;
            }
        }
        throw new IllegalStateException("host " + index + " still has work after " + MAX_ROUNDS +
            " duty cycles at t=" + nowNs + " ns");
    }

    private void drain(final long nowNs)
    {
        HomaMessage message;
        while (null != (message = server.homaRecv(HomaSocket.RECV_REQUEST)))
        {
            final int clientIndex = run.indexOf(message.peer());
            run.onRequestDelivered(this, clientIndex, message.id() ^ 1, nowNs);
            try
            {
                server.homaReply(message, payload, 0, responseBytes);
                run.onResponseSent(clientIndex, nowNs);
            }
            catch (final HomaLimitException ex)
            {
                run.measurements().onRefused();
            }
            message.release();
        }
        while (null != (message = hello.homaRecv(HomaSocket.RECV_REQUEST)))
        {
            hello.homaReply(message, payload, 0, 1);
            message.release();
        }
        while (null != (message = client.homaRecv(HomaSocket.RECV_RESPONSE)))
        {
            if (message.isError())
            {
                run.onFailed(this, message.id(), nowNs);
            }
            else
            {
                run.onResponseDelivered(this, message.id(), nowNs);
            }
            message.release();
        }
    }

    private long deadlineNs(final long nowNs)
    {
        return driver.receiveQueueDepth() > 0 ? nowNs : transport.nextDeadlineNs();
    }

    @Override
    long packetsSent()
    {
        return driver.txPackets();
    }

    /**
     * {@inheritDoc}
     * <p>
     * Less the hellos and their replies, all received long before any window opens.
     */
    @Override
    long receivedWireBytes()
    {
        final HomaMetrics metrics = transport.metrics();
        final long helloWireBytes = 2L * (run.hostCount() - 1) *
            (DataHeaderFlyweight.HEADER_LENGTH + 1 + driver.wireOverheadBytes());
        return metrics.bytesReceived(PacketType.DATA) - metrics.get(HomaMetrics.DUPLICATE_BYTES) +
            metrics.packetsReceived(PacketType.DATA) * driver.wireOverheadBytes() - helloWireBytes;
    }

    @Override
    void addCounters(final java.util.Map<String, Long> totals)
    {
        final HomaMetrics metrics = transport.metrics();
        final String[] names = metrics.names();
        for (int type = 0; type < PacketType.TYPE_COUNT; type++)
        {
            totals.merge(names[HomaMetrics.PACKETS_SENT + type], metrics.get(HomaMetrics.PACKETS_SENT + type),
                Long::sum);
        }
        for (final int id : COUNTERS)
        {
            totals.merge(names[id], metrics.get(id), Long::sum);
        }
    }

    @Override
    void close()
    {
        transport.close();
    }
}
