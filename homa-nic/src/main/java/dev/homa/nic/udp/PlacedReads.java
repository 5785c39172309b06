package dev.homa.nic.udp;

import dev.homa.nic.Packet;
import dev.homa.nic.PacketSink;
import dev.homa.nic.linux.LibC;
import dev.homa.nic.linux.MessageVector;
import dev.homa.nic.linux.PacketPool;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.homa.nic.linux.LibC.MSG_DONTWAIT;
import static dev.homa.nic.linux.LibC.MSG_PEEK;
import static dev.homa.nic.linux.LibC.MSG_TRUNC;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Large datagrams read in batches straight to where a placing sink ({@link PacketSink#placePayload}) wants their
 * payloads, so that the kernel's copy is the only one and a {@code recvmmsg} takes several. The payload's place
 * depends on the datagram's header. Where the socket takes {@code SO_PEEK_OFF} ({@link #enablePeek}), a batch first
 * peeks at the headers of the datagrams waiting (one {@code recvmmsg} with {@code MSG_PEEK}, each peeked datagram
 * moving the peek past it) and then reads exactly those, each to the places its own header names: one system call
 * more a batch instead of a user-space copy of each datagram that a guess would miss, and no slot or guess prepared
 * for a datagram that is not there. Elsewhere the header is not known before the read, so the batch guesses: the
 * datagrams after a large DATA packet most likely go on with its message, and each datagram of the batch is read
 * with its first bytes into its pool slot, the rest into the places the sink names for the next packets of that
 * message ({@link PacketSink#placeFollowing}), and anything longer into the slot after them. Once the batch is in,
 * the sink is asked where each datagram's real header puts its payload (with the peek too, where it is confirmed):
 * where that is where it landed, the datagram is handed over placed. Otherwise, where no datagram of the batch has
 * bytes in the places the header names (none landed, was confirmed or was moved there), its payload is moved there
 * and it is handed over placed: one copy, as a batched read into slots would take; else its bytes are moved back into
 * its slot and it is handed over whole, the sink copying the payload. A guessed place is always a range the message
 * has not received, so a datagram that lands there by a wrong guess overwrites nothing; and every wrong landing is
 * moved before any datagram of the batch is handed over, since handing one over may fill the places another landed
 * in. A peeked datagram whose places another of its batch is read into (a duplicate) is read whole.
 * <p>
 * Used while large datagrams come ({@link #wanted()}); with nothing to go on from (the first batch, or after a
 * message ended), a batch without the peek reads into slots and its last large datagram becomes what the next one
 * continues. Its iovecs, buffer views and remembered header are allocated once and reused: nothing is allocated per
 * read.
 */
final class PlacedReads
{
    /** Most bytes of a datagram's start the sink is shown. */
    private static final int HEADER_LIMIT = 64;
    /** Polls that keep placing after the last large datagram. */
    private static final int PLACEMENT_POLLS = 64;
    private static final int MAX_CALLS = 4;
    /** Fewest datagrams a read is prepared for. */
    private static final int MIN_READ = 2;
    /** Iovecs of one datagram: its slot's first bytes, the places, and the slot's rest. */
    private static final int IOVECS_PER_DATAGRAM = 2 + Packet.MAX_PAYLOAD_SEGMENTS;

    private final MessageVector rx;
    private final int batch;
    private final int controlLength;
    private final PacketPool pool;
    private final ReceiveQueue queue;
    private final UdpCounters counters;
    private final int maxPacketLength;
    private final MemorySegment iovecs;
    private final MemorySegment scratch;
    private final int[] slots;
    private final int[] keeps;
    private final int[] guessed;
    /** Per datagram of the batch: its payload was moved to the places its header names. */
    private final boolean[] moved;
    /** Gets the places a datagram's real header names, to compare with those it was read into. */
    private final Packet named;
    private final UnsafeBuffer headerView = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer slotView = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer placeView = new UnsafeBuffer(0, 0);
    private final UnsafeBuffer basis;
    /** Gets the first bytes and the whole length of each datagram a peek looks at. */
    private final MessageVector peek;
    private final long peekHeaders;
    private final MemorySegment optionValue;
    private final MemorySegment errno;
    private int basisHeaderLength;
    private int basisLength;
    private long basisSource;
    private int polls;
    /** Datagrams the next read is prepared for: each costs a guess and a slot, so about as many as the last read. */
    private int readSize;

    /**
     * @param arena           owns the preallocated memory.
     * @param rx              the receiver's message vector: this class points its messages elsewhere during a read
     *                        and back at their own iovec (message i at iovec i) after it.
     * @param batch           datagrams a read takes at most (at most the vector's messages).
     * @param controlLength   control bytes each message receives (the {@code IP_TOS} level), 0 for none.
     * @param pool            the driver's packets.
     * @param queue           hands the datagrams to the polling sink.
     * @param counters        counts drops by reason.
     * @param maxPacketLength the largest packet.
     * @param scratch         where a datagram for which no slot is free is read, to be dropped.
     */
    PlacedReads(
        final Arena arena,
        final MessageVector rx,
        final int batch,
        final int controlLength,
        final PacketPool pool,
        final ReceiveQueue queue,
        final UdpCounters counters,
        final int maxPacketLength,
        final MemorySegment scratch)
    {
        this.rx = rx;
        this.batch = batch;
        this.controlLength = controlLength;
        this.pool = pool;
        this.queue = queue;
        this.counters = counters;
        this.maxPacketLength = maxPacketLength;
        this.scratch = scratch;
        iovecs = arena.allocate((long)MessageVector.IOVEC_LENGTH * IOVECS_PER_DATAGRAM * batch, 64);
        readSize = Math.min(MIN_READ, batch);
        slots = new int[batch];
        keeps = new int[batch];
        guessed = new int[batch];
        moved = new boolean[batch];
        named = new Packet(new UnsafeBuffer(arena.allocate(HEADER_LIMIT, 64).address(), HEADER_LIMIT), -1);
        basis = new UnsafeBuffer(arena.allocate(HEADER_LIMIT, 64).address(), HEADER_LIMIT);
        peek = new MessageVector(arena, batch, batch, 0);
        peekHeaders = arena.allocate((long)HEADER_LIMIT * batch, 64).address();
        for (int i = 0; i < batch; i++)
        {
            peek.iovec(i, peekHeaders + (long)i * HEADER_LIMIT, HEADER_LIMIT);
            peek.iovecs(i, i, 1);
        }
        optionValue = arena.allocate(4, 4);
        errno = LibC.newErrnoState(arena);
    }

    /**
     * Let this socket's batches peek at the headers of the datagrams waiting before reading them; also puts the peek
     * back at the first datagram waiting.
     *
     * @param fd the socket.
     * @return true if the kernel took {@code SO_PEEK_OFF}: {@link #receive} may then be told to peek.
     */
    boolean enablePeek(final int fd)
    {
        optionValue.set(JAVA_INT, 0, 0);
        return 0 == LibC.setsockopt(errno, fd, LibC.SOL_SOCKET, LibC.SO_PEEK_OFF, optionValue, 4);
    }

    /**
     * {@return true if this poll should read with placement: a large datagram came within the last polls}
     */
    boolean wanted()
    {
        if (polls > 0)
        {
            polls--;
            return true;
        }
        return false;
    }

    /**
     * A large datagram came: place the next polls' ones.
     */
    void onLargeDatagram()
    {
        polls = PLACEMENT_POLLS;
    }

    /**
     * Read what one socket has, in batches, and hand each datagram to the queue's placing sink at once.
     *
     * @param fd     the socket.
     * @param level  the level of what it receives, or -1 if each datagram's {@code IP_TOS} names it.
     * @param peeked true to peek at the headers first: {@link #enablePeek} took for this socket.
     * @return datagrams handed over.
     */
    int receive(final int fd, final int level, final boolean peeked)
    {
        final PacketSink sink = queue.placingSink();
        final int headerLength = Math.min(HEADER_LIMIT, sink.placementHeaderLength());
        int total = 0;
        for (int call = 0; call < MAX_CALLS; call++)
        {
            final int wanted = Math.min(peeked ? batch : readSize, queue.budget());
            if (wanted <= 0)
            {
                return total;
            }
            final int count = peeked ? peek(fd, wanted) : wanted;
            if (count <= 0)
            {
                return total;
            }
            prepare(count, sink, headerLength, peeked);
            final int received = LibC.recvmmsgNoErrno(fd, rx.address(0), count, MSG_DONTWAIT);
            if (!peeked)
            {
                readSize = Math.min(batch, received >= count ? 2 * count : Math.max(MIN_READ, received + 1));
            }
            if (received > 0)
            {
                check(received, sink, headerLength);
                deliver(received, level);
                total += received;
            }
            release(Math.max(received, 0), count);
            if (peeked && received != count)
            {
                // The peek stays past what it saw: back to the first datagram still waiting.
                enablePeek(fd);
            }
            if (received < wanted)
            {
                return total;
            }
        }
        return total;
    }

    /**
     * {@return how many datagrams wait, up to {@code count}: the peek vector has the first bytes, the whole length
     * and the source of each}
     */
    private int peek(final int fd, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            peek.resetForReceive(i, 0);
        }
        return LibC.recvmmsgNoErrno(fd, peek.address(0), count, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    }

    private void prepare(final int count, final PacketSink sink, final int headerLength, final boolean peeked)
    {
        for (int i = 0; i < count; i++)
        {
            rx.resetForReceive(i, controlLength);
            keeps[i] = -1;
            moved[i] = false;
            final int slot = pool.take();
            slots[i] = slot;
            if (slot < 0)
            {
                rx.iovec(i, scratch.address(), scratch.byteSize());
                continue;
            }
            final Packet packet = queue.slotPacket(slot);
            final long slotAddress = pool.packetAddress(slot);
            final int keep = peeked ? named(i, sink, headerLength, packet) : basisLength > 0 ?
                sink.placeFollowing(basis, basisHeaderLength, basisLength, basisSource, i + 1, packet) : -1;
            final int places = keep < 0 ? 0 : packet.payloadSegments();
            final int placed = keep < 0 ? 0 : packet.payloadBytes();
            // The header must land whole in the slot, where the check after the read looks at it.
            if (keep < headerLength || keep + placed > maxPacketLength)
            {
                packet.clearPayload();
                rx.iovec(i, slotAddress, maxPacketLength);
                continue;
            }
            final long first = (long)i * IOVECS_PER_DATAGRAM;
            MessageVector.iovec(iovecs, (int)first, slotAddress, keep);
            for (int k = 0; k < places; k++)
            {
                MessageVector.iovec(iovecs, (int)first + 1 + k, packet.payloadAddress(k), packet.payloadLength(k));
            }
            MessageVector.iovec(iovecs, (int)first + 1 + places, slotAddress + keep + placed,
                maxPacketLength - keep - placed);
            rx.iovecs(i, iovecs.address() + first * MessageVector.IOVEC_LENGTH, places + 2);
            keeps[i] = keep;
            guessed[i] = placed;
        }
    }

    /**
     * {@return where peeked datagram i's own header puts its payload (the places in {@code packet}), or -1 to read
     * it whole: the sink names none, they hold less or more than its payload, or a datagram before it in the batch
     * (a duplicate) is read into one of them}
     */
    private int named(final int i, final PacketSink sink, final int headerLength, final Packet packet)
    {
        final int length = peek.length(i);
        headerView.wrap(peekHeaders + (long)i * HEADER_LIMIT, Math.min(headerLength, Math.max(length, 0)));
        final int keep = sink.placePayload(headerView, headerView.capacity(), length, peek.source(i), packet);
        if (keep >= 0 && (keep + packet.payloadBytes() != length || overlaps(packet, i)))
        {
            packet.clearPayload();
            return -1;
        }
        return keep;
    }

    /**
     * Before anything is handed over: keep each guess the sink confirms for the header that came; move the payload of
     * every other one to the places the sink names for it where no datagram of the batch has bytes, or else back into
     * its slot; and remember the last large datagram for the next batch to go on from.
     */
    private void check(final int received, final PacketSink sink, final int headerLength)
    {
        int last = -1;
        for (int i = 0; i < received; i++)
        {
            final int slot = slots[i];
            if (slot < 0)
            {
                continue;
            }
            final int length = rx.length(i);
            final long slotAddress = pool.packetAddress(slot);
            final int keep = keeps[i];
            if (keep >= 0)
            {
                final Packet packet = pool.packet(slot);
                final int namedKeep = ask(i, sink, headerLength, length, slotAddress);
                if (namedKeep != keep || length != keep + guessed[i] || !namedAreGuessed(packet))
                {
                    if (namedKeep == keep && length - keep <= guessed[i] && named.payloadBytes() == length - keep &&
                        !overlaps(named, received))
                    {
                        moveToNamed(packet, length - keep);
                        moved[i] = true;
                        counters.onPlaceMiss();
                        counters.onPlaceMoved();
                    }
                    else
                    {
                        // A datagram no longer than the header it was read with (a GRANT, an ACK) left the places
                        // untouched and costs nothing.
                        final int landed = Math.min(Math.max(length - keep, 0), guessed[i]);
                        if (landed > 0)
                        {
                            counters.onPlaceMiss();
                        }
                        moveBack(packet, slotAddress, keep, landed);
                        keeps[i] = -1;
                    }
                }
            }
            if (length >= ReceiveQueue.PLACEMENT_MIN_LENGTH && 0 == (rx.flags(i) & MSG_TRUNC))
            {
                last = i;
            }
        }
        if (last >= 0)
        {
            final int length = rx.length(last);
            basisHeaderLength = Math.min(headerLength, length);
            basis.putBytes(0, slotView(last), 0, basisHeaderLength);
            basisLength = length;
            basisSource = rx.source(last);
        }
    }

    /**
     * Ask the sink where datagram i's real header puts its payload: {@link #named} gets the places.
     *
     * @return the sink's answer, or -1 if the datagram holds no whole header.
     */
    private int ask(
        final int i, final PacketSink sink, final int headerLength, final int length, final long slotAddress)
    {
        named.clearPayload();
        if (0 != (rx.flags(i) & MSG_TRUNC) || length < headerLength)
        {
            return -1;
        }
        headerView.wrap(slotAddress, headerLength);
        return sink.placePayload(headerView, headerLength, length, rx.source(i), named);
    }

    private boolean namedAreGuessed(final Packet packet)
    {
        if (named.payloadSegments() != packet.payloadSegments())
        {
            return false;
        }
        for (int k = 0; k < named.payloadSegments(); k++)
        {
            if (named.payloadAddress(k) != packet.payloadAddress(k) ||
                named.payloadLength(k) != packet.payloadLength(k))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * {@return true if a datagram of the batch before {@code count} has bytes in these places: those a guess was
     * confirmed for or a payload was moved to, and every guessed place not yet checked}
     */
    private boolean overlaps(final Packet places, final int count)
    {
        for (int j = 0; j < count; j++)
        {
            if (slots[j] < 0 || keeps[j] < 0)
            {
                continue;
            }
            final Packet other = pool.packet(slots[j]);
            for (int k = 0; k < places.payloadSegments(); k++)
            {
                final long start = places.payloadAddress(k);
                final long end = start + places.payloadLength(k);
                for (int m = 0; m < other.payloadSegments(); m++)
                {
                    final long otherStart = other.payloadAddress(m);
                    if (start < otherStart + other.payloadLength(m) && otherStart < end)
                    {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * Copy a wrongly guessed datagram's payload from the places it landed in to those its header names, which then
     * become its places: one copy, where moving it back into its slot and handing it over whole would take two.
     */
    private void moveToNamed(final Packet packet, final int bytes)
    {
        int from = 0;
        int fromOffset = 0;
        int to = 0;
        int toOffset = 0;
        for (int moved = 0; moved < bytes; )
        {
            final int n = Math.min(bytes - moved,
                Math.min(packet.payloadLength(from) - fromOffset, named.payloadLength(to) - toOffset));
            slotView.wrap(packet.payloadAddress(from) + fromOffset, n);
            placeView.wrap(named.payloadAddress(to) + toOffset, n);
            placeView.putBytes(0, slotView, 0, n);
            moved += n;
            fromOffset += n;
            toOffset += n;
            if (fromOffset == packet.payloadLength(from))
            {
                from++;
                fromOffset = 0;
            }
            if (toOffset == named.payloadLength(to))
            {
                to++;
                toOffset = 0;
            }
        }
        packet.clearPayload();
        for (int k = 0; k < named.payloadSegments(); k++)
        {
            packet.appendPayload(named.payloadAddress(k), named.payloadLength(k));
        }
    }

    private void moveBack(final Packet packet, final long slotAddress, final int keep, final int landed)
    {
        slotView.wrap(slotAddress, maxPacketLength);
        int moved = 0;
        for (int k = 0; moved < landed; k++)
        {
            final int n = Math.min(packet.payloadLength(k), landed - moved);
            placeView.wrap(packet.payloadAddress(k), n);
            slotView.putBytes(keep + moved, placeView, 0, n);
            moved += n;
        }
        packet.clearPayload();
    }

    private UnsafeBuffer slotView(final int i)
    {
        slotView.wrap(pool.packetAddress(slots[i]), maxPacketLength);
        return slotView;
    }

    private void deliver(final int received, final int level)
    {
        for (int i = 0; i < received; i++)
        {
            final int slot = slots[i];
            slots[i] = -1;
            final int length = rx.length(i);
            final int flags = rx.flags(i);
            final long source = rx.source(i);
            if (slot < 0)
            {
                if (counters.accepts(flags, length, source))
                {
                    counters.onDroppedNoBuffer();
                }
                continue;
            }
            if (!counters.accepts(flags, length, source))
            {
                pool.packet(slot).clearPayload();
                pool.giveBack(slot);
                continue;
            }
            if (length >= ReceiveQueue.PLACEMENT_MIN_LENGTH)
            {
                onLargeDatagram();
            }
            final int keep = keeps[i];
            if (keep >= 0 && !moved[i])
            {
                counters.onPlaced();
            }
            queue.deliverNow(slot, keep < 0 ? length : keep, keep < 0 ? 0 : length - keep, source,
                level >= 0 ? level : NativeReceiver.tosLevel(rx, i));
        }
    }

    private void release(final int from, final int count)
    {
        for (int i = from; i < count; i++)
        {
            final int slot = slots[i];
            if (slot >= 0)
            {
                pool.packet(slot).clearPayload();
                pool.giveBack(slot);
                slots[i] = -1;
            }
        }
        for (int i = 0; i < count; i++)
        {
            rx.iovecs(i, i, 1);
        }
    }
}
