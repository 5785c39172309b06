package dev.homa.nic.udp;

import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.linux.PacketPool;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Where a datapath puts what it receives during a poll: into a ring of pool packets that {@link #deliver} hands to
 * the sink in arrival order, or straight to the polling sink when the poll allows it (a GRO segment lent in place,
 * a large packet whose payload the sink placed). It also keeps the poll's receive budget, so that a datapath reads
 * no more than the caller takes and the rest waits in the socket buffer, not in the pool, and stamps arrivals with
 * one clock read per poll that receives anything.
 */
final class ReceiveQueue
{
    /**
     * Packets of at least this length may have their payload placed by the sink ({@link PlacedReads}): below it the
     * copy a placement saves is worth less than the guess and its check.
     */
    static final int PLACEMENT_MIN_LENGTH = 16 * 1024;
    /** The driver offers placement only where packets can be that large. */
    static final int PLACEMENT_MIN_PACKET_LENGTH = 2 * PLACEMENT_MIN_LENGTH;
    /** Handle of the packet that lends staged segments in place. */
    private static final long LENT_HANDLE = -2;

    private final PacketPool pool;
    private final NanoClock clock;
    private final UdpCounters counters;
    private final boolean levelKnown;
    private final Packet[] ring;
    private int head;
    private int count;
    private long timestampNs;
    private boolean timestampStale = true;
    private int budget;
    /** During a poll, the sink that is lent staged GRO segments in place (it releases before returning), or null. */
    private PacketSink lendingSink;
    /** During a poll, the sink that places large packets' payloads ({@link PacketSink#placePayload}), or null. */
    private PacketSink placingSink;
    private int directDelivered;
    private final Packet lentView = new Packet(new UnsafeBuffer(0, 0), LENT_HANDLE);

    /**
     * @param pool       the driver's packets; the ring holds at most all of them.
     * @param clock      stamps arrivals.
     * @param counters   counts received packets.
     * @param levelKnown whether the datapath learns each packet's level; otherwise packets report -1.
     */
    ReceiveQueue(final PacketPool pool, final NanoClock clock, final UdpCounters counters, final boolean levelKnown)
    {
        this.pool = pool;
        this.clock = clock;
        this.counters = counters;
        this.levelKnown = levelKnown;
        ring = new Packet[pool.size()];
    }

    /**
     * @return packets waiting for {@link #deliver}.
     */
    int count()
    {
        return count;
    }

    /**
     * Start a poll that may take up to {@code limit} packets.
     *
     * @param limit the caller's limit.
     * @param stamp whether the sink wants arrival times.
     */
    void startPoll(final int limit, final boolean stamp)
    {
        budget = limit - count;
        if (!stamp)
        {
            timestampNs = 0;
        }
        timestampStale = stamp;
    }

    /**
     * Start a blocking wait that reads up to {@code batch} packets into the ring for the next poll.
     *
     * @param batch the wait's budget.
     */
    void startWait(final int batch)
    {
        timestampStale = true;
        budget = batch;
    }

    /**
     * Read the clock again for the next arrival (an event loop run outside a poll).
     *
     * @param stamp whether arrivals get a time.
     */
    void restamp(final boolean stamp)
    {
        timestampStale = stamp;
    }

    /**
     * Let what this poll reads go to the sink at once, in order, where nothing queued from before would overtake:
     * lent in place (GRO staging), or with its payload placed where the sink says (large packets, no GRO).
     *
     * @param sink           the polling sink.
     * @param gro            whether the datapath receives through GRO staging buffers.
     * @param maxPacketLength the driver's largest packet.
     */
    void startDirect(final PacketSink sink, final boolean gro, final int maxPacketLength)
    {
        final boolean direct = 0 == count && sink.releasesBeforeReturn();
        lendingSink = direct && gro ? sink : null;
        placingSink = direct && !gro && maxPacketLength >= PLACEMENT_MIN_PACKET_LENGTH &&
            sink.placementHeaderLength() > 0 ? sink : null;
        directDelivered = 0;
    }

    void endDirect()
    {
        lendingSink = null;
        placingSink = null;
    }

    /**
     * @return what the datapath may still read in this poll.
     */
    int budget()
    {
        return budget;
    }

    /**
     * @return the polling sink if it places large packets' payloads itself, else null.
     */
    PacketSink placingSink()
    {
        return placingSink;
    }

    /**
     * @return true if staged segments go to the polling sink in place ({@link #lend}) rather than into slots.
     */
    boolean lending()
    {
        return null != lendingSink;
    }

    /**
     * @param packet a packet a sink releases.
     * @return true if it is the view of a lent segment, which holds no pool slot.
     */
    boolean isLent(final Packet packet)
    {
        return packet == lentView;
    }

    /**
     * Queue a packet just read into its pool slot.
     *
     * @param slot   the slot.
     * @param length bytes in it.
     * @param source sender.
     * @param level  its level on the wire, -1 if unknown.
     */
    void add(final int slot, final int length, final long source, final int level)
    {
        final Packet packet = pool.packet(slot).length(length).placedBytes(0).source(source)
            .priority(levelKnown ? level : -1).timestampNs(arrivalNs());
        int tail = head + count;
        if (tail >= ring.length)
        {
            tail -= ring.length;
        }
        ring[tail] = packet;
        count++;
        counters.onReceived();
    }

    /**
     * @param slot a pool slot.
     * @return its packet, payload places cleared, for the placing sink to fill.
     */
    Packet slotPacket(final int slot)
    {
        return pool.packet(slot).clearPayload();
    }

    /**
     * Hand a packet just read into its slot (its payload perhaps placed where the sink said) to the polling sink at
     * once; the slot stays the sink's until it releases the packet.
     *
     * @param slot   the slot.
     * @param length bytes in the slot.
     * @param placed bytes written to the sink's places.
     * @param source sender.
     * @param level  its level.
     */
    void deliverNow(final int slot, final int length, final int placed, final long source, final int level)
    {
        final Packet packet = pool.packet(slot).length(length).placedBytes(placed).source(source)
            .priority(levelKnown ? level : -1).timestampNs(arrivalNs());
        counters.onReceived();
        directDelivered++;
        placingSink.onPacket(packet);
    }

    /**
     * Hand one received segment to the polling sink as a view of the memory it was received into, without a copy:
     * the sink releases it before it returns, so the memory may be read into again afterwards.
     *
     * @param address first byte of the segment.
     * @param length  its length.
     * @param source  sender.
     * @param level   its level.
     */
    void lend(final long address, final int length, final long source, final int level)
    {
        final long arrivalNs = arrivalNs();
        lentView.buffer().wrap(address, length);
        lentView.length(length).clearPayload().source(source).priority(levelKnown ? level : -1)
            .timestampNs(arrivalNs);
        counters.onReceived();
        directDelivered++;
        lendingSink.onPacket(lentView);
    }

    /**
     * Hand queued packets to the sink, counting those the poll already delivered directly.
     *
     * @param sink  the polling sink.
     * @param limit most packets in this poll.
     * @return packets delivered in this poll.
     */
    int deliver(final PacketSink sink, final int limit)
    {
        final Packet[] ring = this.ring;
        final int capacity = ring.length;
        int delivered = directDelivered;
        directDelivered = 0;
        while (delivered < limit && count > 0)
        {
            final Packet packet = ring[head];
            ring[head] = null;
            head = head + 1 == capacity ? 0 : head + 1;
            count--;
            delivered++;
            sink.onPacket(packet);
        }
        return delivered;
    }

    private long arrivalNs()
    {
        // Arrival time is read once per loop run, and only if something arrives (and the sink wants it).
        if (timestampStale)
        {
            timestampStale = false;
            timestampNs = clock.nanoTime();
        }
        budget--;
        return timestampNs;
    }
}
