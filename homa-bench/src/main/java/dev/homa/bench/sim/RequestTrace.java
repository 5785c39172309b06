package dev.homa.bench.sim;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.loopback.FabricTraceListener;
import dev.homa.nic.loopback.Topology;
import org.agrona.DirectBuffer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code --trace-requests}: where the measured requests of a size range spent their time in a Homa run, one CSV row
 * each, from the fabric's packet events: when the client put its first and last DATA packet on its link, when the
 * server sent its first GRANT and when that reached the client, each packet's longest time in the network beyond
 * its idle latency and at the receiver's switch port, and the retransmitted bytes its client sent and its server
 * received while it was under way (a burst of them holds a link at the highest level). A diagnostic: it keeps a
 * record per traced request and allocates.
 */
final class RequestTrace implements FabricTraceListener
{
    static final String HEADER = "client,server,bytes,same_rack,issued_us,delivered,slowdown,total_us," +
        "first_sent_us,first_grant_sent_us,first_grant_delivered_us,grants,last_sent_us,last_delivered_us," +
        "max_packet_wait_us,max_downlink_wait_us,unscheduled_level,last_level,retransmitted_packets," +
        "client_retransmitted_bytes,server_retransmitted_bytes\n";

    private final ClusterRun run;
    private final Topology topology;
    private final IdleTimes idle;
    private final Measurements measurements;
    private final int wireOverhead;
    private final int minBytes;
    private final int maxBytes;
    private final int payloadPerPacket;
    private final Map<Long, Request> requests = new HashMap<>();
    private final Map<Long, Long> firstSentBeforeIssue = new HashMap<>();
    private final List<Request> measured = new ArrayList<>();
    private final long[] retransmittedSent;
    private final long[] retransmittedReceived;

    /** One traced request; times in ns, -1 until seen. */
    static final class Request
    {
        int client;
        int server;
        int bytes;
        long issuedNs;
        long deliveredNs = -1;
        long firstSentNs = -1;
        long lastSentNs = -1;
        long lastDeliveredNs = -1;
        long firstGrantSentNs = -1;
        long firstGrantDeliveredNs = -1;
        int grants;
        long maxPacketWaitNs;
        long maxDownlinkWaitNs;
        int unscheduledLevel = -1;
        int lastLevel = -1;
        int retransmittedPackets;
        long clientRetransmittedAtIssue;
        long serverRetransmittedAtIssue;
        long clientRetransmitted = -1;
        long serverRetransmitted = -1;
        long[] sentNs;
        long[] enqueuedNs;
    }

    /**
     * @param run          the run whose fabric this listens to.
     * @param topology     its network.
     * @param measurements what it measures.
     * @param wireOverhead link bytes of each packet beyond its Homa bytes.
     * @param payload      payload bytes per DATA packet.
     * @param minBytes     shortest request traced.
     * @param maxBytes     longest request traced.
     */
    RequestTrace(final ClusterRun run, final Topology topology, final Measurements measurements,
        final int wireOverhead, final int payload, final int minBytes, final int maxBytes)
    {
        this.run = run;
        this.topology = topology;
        this.idle = run.idleTimes();
        this.measurements = measurements;
        this.wireOverhead = wireOverhead;
        this.minBytes = minBytes;
        this.maxBytes = maxBytes;
        this.payloadPerPacket = payload;
        this.retransmittedSent = new long[run.hostCount()];
        this.retransmittedReceived = new long[run.hostCount()];
    }

    /**
     * @param length a packet's Homa bytes.
     * @return its time from a ToR port to the host on an idle link: serialization and the link's delay.
     */
    private long lastHopPs(final int length)
    {
        return IdleTimes.transmitPs((length + wireOverhead) * 8L, topology.hostLinkBitsPerSecond()) +
            topology.hostLinkDelayNs() * 1000L;
    }

    private static long key(final int client, final long id)
    {
        return ((long)client << 48) ^ (id >>> 1);
    }

    /**
     * A client issued a request: traced if the run measures it and its size is in the range.
     */
    void onIssued(final int client, final long id, final int bytes, final int server, final long nowNs)
    {
        final long key = key(client, id);
        final Long sentEarly = firstSentBeforeIssue.remove(key);
        if (bytes < minBytes || bytes > maxBytes || !measurements.measures(nowNs))
        {
            return;
        }
        final Request request = new Request();
        request.client = client;
        request.server = server;
        request.bytes = bytes;
        request.issuedNs = nowNs;
        final int packets = Math.max(1, (bytes + payloadPerPacket - 1) / payloadPerPacket);
        request.sentNs = new long[packets];
        request.enqueuedNs = new long[packets];
        request.clientRetransmittedAtIssue = retransmittedSent[client];
        request.serverRetransmittedAtIssue = retransmittedReceived[server];
        if (null != sentEarly)
        {
            request.firstSentNs = sentEarly;
            request.lastSentNs = sentEarly;
            request.sentNs[0] = sentEarly;
        }
        requests.put(key, request);
        measured.add(request);
    }

    /**
     * A request reached the server's application.
     */
    void onDelivered(final int client, final long id, final long nowNs)
    {
        final Request request = requests.remove(key(client, id));
        if (null != request)
        {
            request.deliveredNs = nowNs;
            request.clientRetransmitted = retransmittedSent[client] - request.clientRetransmittedAtIssue;
            request.serverRetransmitted = retransmittedReceived[request.server] - request.serverRetransmittedAtIssue;
        }
    }

    @Override
    public void onPacketEvent(
        final int event,
        final int detail,
        final long timeNs,
        final long source,
        final long destination,
        final int priority,
        final DirectBuffer buffer,
        final int length)
    {
        final int type = HomaHeaderFlyweight.typeOf(buffer, 0);
        if (PacketType.DATA == type)
        {
            onData(event, timeNs, run.indexOf(source), run.indexOf(destination), priority, buffer, length);
        }
        else if (PacketType.GRANT == type && (SENT == event || DELIVERED == event))
        {
            final Request request =
                requests.get(key(run.indexOf(destination), HomaHeaderFlyweight.senderIdOf(buffer, 0) ^ 1));
            if (null == request || request.server != run.indexOf(source))
            {
                return;
            }
            if (SENT == event)
            {
                request.grants++;
                if (request.firstGrantSentNs < 0)
                {
                    request.firstGrantSentNs = timeNs;
                }
            }
            else if (request.firstGrantDeliveredNs < 0)
            {
                request.firstGrantDeliveredNs = timeNs;
            }
        }
    }

    private void onData(final int event, final long timeNs, final int src, final int dst, final int priority,
        final DirectBuffer buffer, final int length)
    {
        final boolean retransmit = 0 != buffer.getByte(DataHeaderFlyweight.RETRANSMIT_OFFSET);
        if (retransmit)
        {
            if (SENT == event)
            {
                retransmittedSent[src] += length - DataHeaderFlyweight.HEADER_LENGTH;
            }
            else if (DELIVERED == event)
            {
                retransmittedReceived[dst] += length - DataHeaderFlyweight.HEADER_LENGTH;
            }
        }
        final int messageLength = DataHeaderFlyweight.messageLengthOf(buffer, 0);
        if (messageLength < minBytes || messageLength > maxBytes ||
            HomaHeaderFlyweight.destinationPortOf(buffer, 0) != HomaHost.SERVER_PORT)
        {
            return;
        }
        final long key = key(src, HomaHeaderFlyweight.senderIdOf(buffer, 0));
        final Request request = requests.get(key);
        final int offset = DataHeaderFlyweight.segmentOffsetOf(buffer, 0);
        if (null == request)
        {
            // The engine sends a request's first packet inside the send call, before the run records the request.
            if (SENT == event && 0 == offset)
            {
                firstSentBeforeIssue.put(key, timeNs);
            }
            return;
        }
        final int index = Math.min(request.sentNs.length - 1, offset / payloadPerPacket);
        switch (event)
        {
            case SENT ->
            {
                if (request.firstSentNs < 0)
                {
                    request.firstSentNs = timeNs;
                }
                request.lastSentNs = Math.max(request.lastSentNs, timeNs);
                request.sentNs[index] = timeNs;
                if (retransmit)
                {
                    request.retransmittedPackets++;
                }
                if (request.firstGrantDeliveredNs < 0)
                {
                    request.unscheduledLevel = priority;
                }
                request.lastLevel = priority;
            }
            case ENQUEUED -> request.enqueuedNs[index] = timeNs;
            case DELIVERED ->
            {
                request.lastDeliveredNs = Math.max(request.lastDeliveredNs, timeNs);
                final boolean sameRack = idle.sameRack(request.client, request.server);
                final long idleNs = idle.idlePs(length - DataHeaderFlyweight.HEADER_LENGTH, sameRack) / 1000;
                request.maxPacketWaitNs = Math.max(request.maxPacketWaitNs, timeNs - request.sentNs[index] - idleNs);
                final long lastHopNs = lastHopPs(length) / 1000;
                request.maxDownlinkWaitNs =
                    Math.max(request.maxDownlinkWaitNs, timeNs - request.enqueuedNs[index] - lastHopNs);
            }
            default ->
            {
            }
        }
    }

    /**
     * Write one row per traced request of the measurement window, in the order they were issued.
     *
     * @param file  where.
     * @param endNs when the run stopped: a request not delivered by then counts with the time it waited.
     */
    void write(final Path file, final long endNs)
    {
        final StringBuilder csv = new StringBuilder(HEADER);
        for (final Request r : measured)
        {
            final boolean delivered = r.deliveredNs >= 0;
            final long totalNs = (delivered ? r.deliveredNs : endNs) - r.issuedNs;
            csv.append(String.format(Locale.ROOT,
                "%d,%d,%d,%b,%.3f,%b,%.3f,%.3f,%.3f,%.3f,%.3f,%d,%.3f,%.3f,%.3f,%.3f,%d,%d,%d,%d,%d%n",
                r.client, r.server, r.bytes, idle.sameRack(r.client, r.server), r.issuedNs / 1000.0, delivered,
                idle.slowdown(totalNs, r.bytes, r.client, r.server), totalNs / 1000.0, since(r.firstSentNs, r),
                since(r.firstGrantSentNs, r), since(r.firstGrantDeliveredNs, r), r.grants, since(r.lastSentNs, r),
                since(r.lastDeliveredNs, r), r.maxPacketWaitNs / 1000.0, r.maxDownlinkWaitNs / 1000.0,
                r.unscheduledLevel, r.lastLevel, r.retransmittedPackets, r.clientRetransmitted,
                r.serverRetransmitted));
        }
        ResultFiles.write(file, csv);
    }

    private static double since(final long timeNs, final Request request)
    {
        return timeNs < 0 ? -1 : (timeNs - request.issuedNs) / 1000.0;
    }

    /**
     * @return the traced requests, in the order they were issued (for tests).
     */
    List<Request> requests()
    {
        return measured;
    }

    /**
     * Parse a size range, e.g. {@code 19k-72k}.
     *
     * @param range MIN-MAX, sizes as {@link SimOptions#parseSize(String)} takes them.
     * @return {min, max}.
     */
    static int[] parseRange(final String range)
    {
        final int dash = range.indexOf('-');
        if (dash <= 0 || dash == range.length() - 1)
        {
            throw new IllegalArgumentException("--trace-requests takes MIN-MAX, e.g. 19k-72k: " + range);
        }
        final long min = SimOptions.parseSize(range.substring(0, dash));
        final long max = SimOptions.parseSize(range.substring(dash + 1));
        if (min < 1 || max < min || max > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("--trace-requests takes MIN-MAX with 1 <= MIN <= MAX: " + range);
        }
        return new int[] {(int)min, (int)max};
    }
}
