package dev.homa.core;

import dev.homa.core.wire.AckFlyweight;
import dev.homa.core.wire.CutoffsFlyweight;
import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.core.wire.GrantFlyweight;
import dev.homa.core.wire.HomaHeaderFlyweight;
import dev.homa.core.wire.PacketType;
import dev.homa.core.wire.ResendFlyweight;
import dev.homa.nic.Packet;
import dev.homa.nic.frame.PriorityMapping;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricBuilder;
import dev.homa.nic.loopback.FabricDriver;
import dev.homa.nic.loopback.FabricMode;
import dev.homa.nic.loopback.FabricTraceListener;
import dev.homa.nic.loopback.RandomFaultInjector;
import dev.homa.nic.loopback.Steppable;
import dev.homa.nic.time.VirtualClock;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agrona.collections.LongArrayList;
import org.agrona.collections.LongArrayQueue;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing of the engine against hostile peers. Each input is a script: raw hosts send well-formed
 * packets of every type to the engine under attack and to a legitimate client's host, with fields the fuzzer picks (ids
 * of RPCs that exist and of ones that do not, offsets and lengths in and out of range, any priority, acks, cutoffs),
 * and forgers send them to either in the other's name; the engine under attack starts RPCs to the raw hosts, the
 * legitimate client sends it requests (copied, lent from off-heap memory, or as {@code call()}s whose futures it may
 * cancel; its RPCs and the engine's may have deadlines and be aborted), the engine's server answers them at once or
 * later, with a copy or with the request itself, and virtual time moves on. The fabric delivers at once, or at link
 * rate (so that a hostile packet can land between a request and its response), and then may lose, duplicate and reorder
 * packets. The engine's limits are small (8 server RPCs, 2 requests under way per peer, 4 peers, 2 MiB pools), and the
 * legitimate client and the engine's own RPCs stay within what they leave them (two outstanding each). Then the attack
 * stops and, whatever came before:
 * <ul>
 * <li>no duty cycle fails (an exception out of the engine is a finding);</li>
 * <li>every legitimate RPC gets its own bytes back (ends, at least, once either address has been forged, or if it
 * had a deadline or was aborted), and every RPC to a hostile host ends, answered or failed;</li>
 * <li>the timers reclaim every RPC, receive-pool page and send-pool page, and the peer table stays in its limit.</li>
 * </ul>
 * How long it runs is set as for {@code PacketDecoderFuzzTest}: {@code -Dhoma.fuzz.seconds}, seeds only with
 * {@code -Dhoma.fuzz=0}.
 */
class HostilePeerFuzzTest
{
    private static final int PORT = 21;
    private static final int ATTACKERS = 3;
    private static final int MAX_MESSAGE = 200_000;
    private static final int MAX_PEERS = 4;
    private static final int MAX_SERVER_RPCS = 8;
    /** Requests one peer may have under way: three attackers hold at most 6 of the 8 server RPCs. */
    private static final int MAX_REQUESTS_PER_PEER = 2;
    /** RPCs each client side keeps outstanding, and their longest request: within what the limits leave it. */
    private static final int MAX_OUTSTANDING = 2;
    private static final int MAX_REQUEST = 100_000;
    private static final int MAX_ACTIONS = 96;
    private static final long QUIET_LIMIT_NS = 20_000_000_000L;
    private static final UnsafeBuffer PAYLOAD = new UnsafeBuffer(new byte[MAX_MESSAGE]);
    /** {@code -Dhoma.fuzz.trace=true}: print each input's script, to see what a finding did. */
    private static final boolean TRACE = Boolean.getBoolean("homa.fuzz.trace");

    private static long inputs;
    private static long packetsSent;
    private static long legitimateRpcs;

    @FuzzTest(maxDuration = "20s")
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void fuzzHostilePeers(final FuzzedDataProvider input)
    {
        inputs++;
        // Instant delivery runs each exchange to its end between two hostile packets; in virtual time at link rate
        // a hostile packet can land in the middle of one (between a request and its response).
        final FabricMode mode = input.consumeBoolean() ? FabricMode.TIMED : FabricMode.INSTANT;
        // Drivers that read payloads straight into the receive pool (as the UDP driver does with large datagrams) or
        // hand every packet over whole.
        final FabricBuilder builder = Fabric.builder().mode(mode).hosts(2 + ATTACKERS).packetPoolSize(64)
            .placing(input.consumeBoolean());
        if (FabricMode.TIMED == mode && input.consumeBoolean())
        {
            // Up to 5% each, on every link: the legitimate RPCs must still get their own bytes.
            builder.faultInjector(new RandomFaultInjector(input.consumeLong())
                .lossRate(input.consumeInt(0, 50) / 1000.0)
                .duplicateRate(input.consumeInt(0, 50) / 1000.0)
                .reorderRate(input.consumeInt(0, 50) / 1000.0));
        }
        final Fabric fabric = builder.build();
        if (TRACE)
        {
            final HomaHeaderFlyweight header = new HomaHeaderFlyweight();
            fabric.addTraceListener((event, detail, timeNs, source, destination, priority, buffer, length) ->
            {
                if (FabricTraceListener.DELIVERED == event || FabricTraceListener.DROPPED == event)
                {
                    header.wrap(new UnsafeBuffer(buffer, 0, length), 0);
                    System.out.println("  " + timeNs + " " + FabricTraceListener.eventName(event) + " " +
                        (source & 0xFF) + ":" + header.sourcePort() + " -> " + (destination & 0xFF) + ":" +
                        header.destinationPort() + " " + PacketType.name(header.type()) + " id " + header.senderId() +
                        " len " + length);
                }
            });
        }
        try (Cluster cluster = new Cluster(fabric, 2, ctx -> ctx
            .maxMessageLength(MAX_MESSAGE)
            .receivePoolBytes(2L << 20)
            .sendPoolBytes(2L << 20)
            .maxPeers(MAX_PEERS)
            .maxServerRpcs(MAX_SERVER_RPCS)
            .maxIncomingRequestsPerPeer(MAX_REQUESTS_PER_PEER)
            .peerIdleNs(50_000_000L)))
        {
            new Script(cluster, fabric, input).run();
        }
    }

    @AfterAll
    static void report()
    {
        System.out.println("HostilePeerFuzzTest: inputs=" + inputs + " hostile packets=" + packetsSent +
            " legitimate RPCs=" + legitimateRpcs);
    }

    /**
     * One input's run.
     */
    private static final class Script
    {
        private final Cluster cluster;
        private final Fabric fabric;
        private final FuzzedDataProvider input;
        private final HomaEngine victim;
        private final HomaSocket victimClient;
        private final HomaSocket legitimate;
        private final Drain victimResponses;
        private final Drain legitimateResponses;
        private final Calls legitimateCalls = new Calls();
        private final ArrayList<UnsafeBuffer> lent = new ArrayList<>();
        private final Echo echo;
        private final long[] victimRpcIds = new long[8];
        private int victimRpcCount;
        private int attackerIndex;
        /** The host a hostile packet goes to: 0, the engine under attack, or 1, the legitimate client's. */
        private int target;
        private boolean spoofed;
        private final DataHeaderFlyweight data = new DataHeaderFlyweight();
        private final GrantFlyweight grant = new GrantFlyweight();
        private final ResendFlyweight resend = new ResendFlyweight();
        private final AckFlyweight ack = new AckFlyweight();
        private final CutoffsFlyweight cutoffs = new CutoffsFlyweight();
        private final HomaHeaderFlyweight bare = new HomaHeaderFlyweight();

        Script(final Cluster cluster, final Fabric fabric, final FuzzedDataProvider input)
        {
            this.cluster = cluster;
            this.fabric = fabric;
            this.input = input;
            victim = cluster.engine(0);
            echo = new Echo(cluster.transport(0).openSocket(PORT), fabric.clock());
            cluster.add(echo);
            victimClient = cluster.transport(0).openSocket(0);
            legitimate = cluster.transport(1).openSocket(0);
            victimResponses = new Drain(victimClient, false);
            legitimateResponses = new Drain(legitimate, true);
            cluster.add(victimResponses).add(legitimateResponses).add(legitimateCalls).add(this::drainAttackers);
        }

        void run()
        {
            for (int action = 0; action < MAX_ACTIONS && input.remainingBytes() > 0; action++)
            {
                switch (input.consumeInt(0, 11))
                {
                    case 0, 1 -> forge(this::writeData);
                    case 2 -> forge(this::writeGrant);
                    case 3 -> forge(this::writeResend);
                    case 4 -> forge(this::writeAck);
                    case 5 -> forge(this::writeBare);
                    case 6 -> forge(this::writeCutoffs);
                    case 7 -> startVictimRpc();
                    case 8 -> startLegitimateRpc();
                    case 9 -> abortRpc();
                    case 10 -> echo.answer(input.consumeLong(0, 20_000_000L), input.consumeBoolean());
                    default -> cluster.runUntil(() -> false, input.consumeLong(1, 50_000_000L));
                }
            }

            // The attack is over: everything must end and be given back.
            final boolean quiet = cluster.runUntil(this::settled, QUIET_LIMIT_NS);
            cluster.assertNoErrors();
            // A forger of either address who guesses the client's next id (ids are sequential, as the kernel's) can
            // answer for the server or end the RPC: then every RPC must still end, if not always with its own bytes.
            Cluster.check(legitimateCalls.pending.isEmpty(), "calls not completed: " + legitimateCalls.pending.size());
            Cluster.check(spoofed || legitimateResponses.failures.isEmpty() && legitimateCalls.failures.isEmpty(),
                "legitimate RPCs failed: " + legitimateResponses.failures + legitimateCalls.failures +
                (TRACE ? "\nvictim: " + victim.metrics() +
                "\nclient: " + cluster.engine(1).metrics() : ""));
            Cluster.check(quiet, "not settled after the attack: " + state());
            Cluster.check(victim.peerCount() <= MAX_PEERS, "peer table over its limit: " + victim.peerCount());
        }

        /** The victim's live RPCs, for the failure message. */
        private String liveRpcs()
        {
            final StringBuilder text = new StringBuilder();
            try
            {
                final java.lang.reflect.Field field = HomaEngine.class.getDeclaredField("rpcs");
                field.setAccessible(true);
                for (Rpc rpc = ((RpcTable)field.get(victim)).first(); null != rpc; rpc = rpc.allNext)
                {
                    text.append("RPC ").append(rpc.id).append(rpc.client ? " client" : " server").append(" state ")
                        .append(rpc.state).append(" peer ").append(rpc.peerAddress).append(':').append(rpc.peerPort)
                        .append(" in ").append(rpc.in.received).append('/').append(rpc.in.length).append(" out ")
                        .append(rpc.out.nextOffset).append('/').append(rpc.out.length).append(" silent ")
                        .append(rpc.silentTicks).append("; ");
                }
            }
            catch (final ReflectiveOperationException ex)
            {
                text.append(ex).append("; ");
            }
            return text.toString();
        }

        private void trace(final String what)
        {
            if (TRACE)
            {
                System.out.println("t=" + fabric.clock().nanoTime() + " " + what);
            }
        }

        private boolean settled()
        {
            return legitimate.outstandingRpcs() == 0 && victimClient.outstandingRpcs() == 0 &&
                0 == victim.rpcCount() && 0 == cluster.engine(1).rpcCount() &&
                0 == victim.receivePagesInUse() && 0 == victim.sendPagesInUse() &&
                0 == cluster.engine(1).receivePagesInUse() && 0 == cluster.engine(1).sendPagesInUse();
        }

        private String state()
        {
            final HomaEngine client = cluster.engine(1);
            return liveRpcs() + "legitimate outstanding " + legitimate.outstandingRpcs() +
                ", victim's client RPCs outstanding " + victimClient.outstandingRpcs() + ", victim RPCs " +
                victim.rpcCount() + " (server " + victim.serverRpcCount() + "), receive pages " +
                victim.receivePagesInUse() + ", send pages " + victim.sendPagesInUse() + "; client host RPCs " +
                client.rpcCount();
        }

        /**
         * One packet from a hostile host: {@code writer} fills it in and gives its length.
         */
        private void forge(final ToIntFunction<Packet> writer)
        {
            final FabricDriver sender = attacker();
            final Packet packet = acquire(sender);
            if (null != packet)
            {
                send(sender, packet.length(writer.applyAsInt(packet)));
            }
        }

        private void startVictimRpc()
        {
            final int length = input.consumeInt(1, MAX_REQUEST);
            final long timeoutNs = timeoutNs();
            if (victimClient.outstandingRpcs() >= MAX_OUTSTANDING)
            {
                return;
            }
            try
            {
                final long destination = attackerAddress();
                final int port = input.consumeInt(1, 40);
                final long id = 0 == timeoutNs ? victimClient.homaSend(destination, port, PAYLOAD, 0, length, 0) :
                    victimClient.homaSend(destination, port, PAYLOAD, 0, length, 0, timeoutNs, TimeUnit.NANOSECONDS);
                victimRpcIds[victimRpcCount++ & (victimRpcIds.length - 1)] = id;
                trace("victim starts RPC " + id + ", " + length + " bytes");
            }
            catch (final HomaLimitException ex)
            {
                // The socket's RPCs or its send pool are full: a limit, counted by the engine, not a finding.
            }
        }

        private void startLegitimateRpc()
        {
            final int length = input.consumeInt(1, MAX_REQUEST);
            final long seed = input.consumeLong();
            final long timeoutNs = timeoutNs();
            if (legitimate.outstandingRpcs() >= MAX_OUTSTANDING)
            {
                return;
            }
            // Copied into the send pool, lent from off-heap memory (left alone until the RPC ends), or a call() whose
            // future takes the response.
            final int how = input.consumeInt(0, 2);
            // The deadline form of homaSend takes no flags: a request with a deadline is copied.
            final boolean lend = 1 == how && 0 == timeoutNs;
            final UnsafeBuffer request = lend ? new UnsafeBuffer(ByteBuffer.allocateDirect(length)) :
                new UnsafeBuffer(new byte[length]);
            if (lend)
            {
                // Lent memory must outlive the RPC: kept until the engine is closed with the script's cluster.
                lent.add(request);
            }
            Cluster.fill(request, length, seed);
            try
            {
                final long server = cluster.address(0);
                if (2 == how)
                {
                    final CompletableFuture<HomaMessage> future = 0 == timeoutNs ?
                        legitimate.call(server, PORT, request, 0, length) :
                        legitimate.call(server, PORT, request, 0, length, timeoutNs, TimeUnit.NANOSECONDS);
                    legitimateCalls.expect(future, length, seed, 0 != timeoutNs);
                    legitimateRpcs++;
                    trace("legitimate client calls, " + length + " bytes");
                    return;
                }
                final long id = 0 != timeoutNs ?
                    legitimate.homaSend(server, PORT, request, 0, length, 0, timeoutNs, TimeUnit.NANOSECONDS) :
                    legitimate.homaSend(server, PORT, request, 0, length, 0, lend ? HomaSocket.SEND_NO_COPY : 0);
                legitimateResponses.expect(id, length, seed);
                if (0 != timeoutNs)
                {
                    legitimateResponses.excused.add(id);
                }
                legitimateRpcs++;
                trace("legitimate client starts RPC " + id + ", " + length + " bytes" +
                    (0 == timeoutNs ? "" : ", deadline in " + timeoutNs + " ns"));
            }
            catch (final HomaLimitException ex)
            {
                // As above.
            }
        }

        /**
         * @return no deadline (0), or one of 0.1 to 50 ms.
         */
        private long timeoutNs()
        {
            return input.consumeBoolean() ? 0 : input.consumeLong(100_000L, 50_000_000L);
        }

        /**
         * An application gives up on one of its RPCs (or on one that has ended: ignored): the legitimate client, or
         * the engine under attack on one of its RPCs to hostile hosts.
         */
        private void abortRpc()
        {
            if (input.consumeBoolean())
            {
                if (0 != victimRpcCount)
                {
                    final int count = Math.min(victimRpcCount, victimRpcIds.length);
                    final long id = victimRpcIds[input.consumeInt(0, count - 1)];
                    victimClient.abort(id);
                    trace("victim aborts RPC " + id);
                }
                return;
            }
            if (input.consumeBoolean())
            {
                legitimateCalls.cancel(input);
                return;
            }
            if (legitimateResponses.ids.isEmpty())
            {
                return;
            }
            final long id = legitimateResponses.ids.getLong(input.consumeInt(0, legitimateResponses.ids.size() - 1));
            legitimateResponses.excused.add(id);
            legitimate.abort(id);
            trace("legitimate client aborts RPC " + id);
        }

        private int writeData(final Packet packet)
        {
            final int capacity = packet.capacity() - DataHeaderFlyweight.HEADER_LENGTH;
            final int messageLength = input.consumeBoolean() ? input.consumeInt(1, 3_000) :
                input.consumeInt(1, MAX_MESSAGE);
            final int offset = input.consumeBoolean() ? 0 : input.consumeInt(0, messageLength - 1);
            final int payload = Math.max(1, Math.min(input.consumeInt(1, capacity), messageLength - offset));
            data.wrap(packet.buffer(), 0).initialize(PacketType.DATA, sourcePort(), destinationPort(), rpcId());
            data.messageLength(messageLength);
            data.incoming(input.consumeInt(0, messageLength + 10_000));
            data.segmentOffset(offset);
            data.retransmit(input.consumeBoolean());
            data.cutoffVersion(input.consumeInt(0, 3));
            if (input.consumeBoolean())
            {
                data.ackClientId(rpcId() & ~1L);
                data.ackServerPort(destinationPort());
            }
            return DataHeaderFlyweight.HEADER_LENGTH + payload;
        }

        private int writeGrant(final Packet packet)
        {
            grant.wrap(packet.buffer(), 0).initialize(PacketType.GRANT, sourcePort(), destinationPort(), rpcId());
            grant.offset(input.consumeInt(0, MAX_MESSAGE));
            grant.priority(input.consumeInt(0, PriorityMapping.LEVELS - 1));
            return GrantFlyweight.LENGTH;
        }

        private int writeResend(final Packet packet)
        {
            resend.wrap(packet.buffer(), 0).initialize(PacketType.RESEND, sourcePort(), destinationPort(), rpcId());
            final int offset = input.consumeInt(0, MAX_MESSAGE - 1);
            resend.offset(offset);
            resend.length(input.consumeBoolean() ? ResendFlyweight.LENGTH_ALL :
                input.consumeInt(1, MAX_MESSAGE - offset));
            resend.priority(input.consumeInt(0, PriorityMapping.LEVELS - 1));
            return ResendFlyweight.LENGTH;
        }

        private int writeAck(final Packet packet)
        {
            ack.wrap(packet.buffer(), 0).initialize(PacketType.ACK, sourcePort(), destinationPort(), rpcId());
            final int acks = input.consumeInt(0, AckFlyweight.MAX_ACKS);
            ack.numAcks(acks);
            for (int i = 0; i < acks; i++)
            {
                ack.clientId(i, rpcId() & ~1L);
                ack.serverPort(i, destinationPort());
            }
            return AckFlyweight.LENGTH;
        }

        private int writeBare(final Packet packet)
        {
            final int[] types = {PacketType.BUSY, PacketType.RPC_UNKNOWN, PacketType.NEED_ACK, PacketType.FREEZE};
            bare.wrap(packet.buffer(), 0).initialize(types[input.consumeInt(0, types.length - 1)], sourcePort(),
                destinationPort(), rpcId());
            return HomaHeaderFlyweight.COMMON_HEADER_LENGTH;
        }

        private int writeCutoffs(final Packet packet)
        {
            cutoffs.wrap(packet.buffer(), 0).initialize(PacketType.CUTOFFS, sourcePort(), destinationPort(), rpcId());
            for (int level = 0; level < PriorityMapping.LEVELS; level++)
            {
                cutoffs.cutoff(level, input.consumeInt());
            }
            cutoffs.cutoffVersion(input.consumeInt(0, 0xFFFF));
            return CutoffsFlyweight.LENGTH;
        }

        /**
         * @return a packet of the attacker's, after dropping what the victim sent it; null if its pool is empty even
         *         so (every packet of it sits in the victim's receive queue).
         */
        private Packet acquire(final FabricDriver attacker)
        {
            drainAttackers();
            return attacker.acquire();
        }

        /**
         * Picks the sender and its target: a raw host sends to the engine under attack or to the legitimate client's
         * host; a forger sends to one of the two in the other's name, as anyone on their path can.
         *
         * @return a raw host's driver, or (indexes {@link #ATTACKERS} and one more) the legitimate client's own, to
         *         send to the engine under attack, or that engine's own, to send to the legitimate client.
         */
        private FabricDriver attacker()
        {
            attackerIndex = input.consumeInt(0, ATTACKERS + 1);
            if (attackerIndex < ATTACKERS)
            {
                target = input.consumeBoolean() ? 0 : 1;
                return fabric.driverAt(2 + attackerIndex);
            }
            spoofed = true;
            target = ATTACKERS == attackerIndex ? 0 : 1;
            return fabric.driverAt(1 - target);
        }

        private long attackerAddress()
        {
            return cluster.address(2 + input.consumeInt(0, ATTACKERS - 1));
        }

        private int sourcePort()
        {
            return switch (input.consumeInt(0, 3))
            {
                case 0 -> 40_000;
                case 1 -> legitimate.port();
                case 2 -> PORT;
                default -> input.consumeInt(0, 0xFFFF);
            };
        }

        private int destinationPort()
        {
            return switch (input.consumeInt(0, 4))
            {
                case 0, 1 -> PORT;
                case 2 -> victimClient.port();
                case 3 -> legitimate.port();
                default -> input.consumeInt(0, 0xFFFF);
            };
        }

        /**
         * An id that names something often: the attacker's own requests (even on its side, odd on the victim's),
         * the victim's RPCs to attackers (as the server would name them), or anything.
         */
        private long rpcId()
        {
            return switch (input.consumeInt(0, 4))
            {
                case 0 -> 2L * input.consumeInt(1, 4);
                case 1 -> 0 == victimRpcCount ? 2 : victimRpcIds[input.consumeInt(0, Math.min(victimRpcCount,
                    victimRpcIds.length) - 1)] ^ (input.consumeBoolean() ? 1 : 0);
                case 2 -> 2L * input.consumeInt(1, 4) + 1;
                case 3 -> legitimateResponses.ids.isEmpty() ? 2 : legitimateResponses.ids.getLong(
                    input.consumeInt(0, legitimateResponses.ids.size() - 1)) ^ (input.consumeBoolean() ? 1 : 0);
                default -> input.consumeLong();
            };
        }

        private void send(final FabricDriver driver, final Packet packet)
        {
            if (TRACE)
            {
                bare.wrap(packet.buffer(), 0);
                System.out.println("t=" + fabric.clock().nanoTime() + " attacker " + attackerIndex + " sends " +
                    PacketType.name(bare.type()) + " id " + bare.senderId() + " to host " + target + " port " +
                    bare.destinationPort() + ", " + packet.length() + " bytes");
            }
            driver.send(packet, cluster.address(target), input.consumeInt(0, PriorityMapping.LEVELS - 1));
            driver.flush();
            driver.release(packet);
            packetsSent++;
            cluster.runUntil(() -> false, input.consumeInt(0, 200_000));
        }

        /**
         * The attackers read nothing: what the victim sends them is dropped as it arrives, so their pools never run
         * dry.
         */
        private int drainAttackers()
        {
            int work = 0;
            for (int i = 0; i < ATTACKERS; i++)
            {
                final FabricDriver host = fabric.driverAt(2 + i);
                work += host.poll(host::release, Integer.MAX_VALUE);
            }
            return work;
        }
    }

    /**
     * Answers each request with its own bytes, at once or after a delay the script sets (so that hostile packets can
     * arrive while a request is with the application), copied into the send pool or forwarded (the request's own
     * receive-pool pages go out as the response). A copied reply the send pool has no room for yet waits for the next
     * turn (the victim's own RPCs to hostile hosts may hold the pool until they time out).
     */
    private static final class Echo implements Steppable
    {
        private final HomaSocket socket;
        private final VirtualClock clock;
        private final UnsafeBuffer scratch = new UnsafeBuffer(new byte[MAX_MESSAGE]);
        private final ArrayDeque<HomaMessage> held = new ArrayDeque<>();
        private final LongArrayQueue due = new LongArrayQueue();
        private long delayNs;
        private boolean forward;

        Echo(final HomaSocket socket, final VirtualClock clock)
        {
            this.socket = socket;
            this.clock = clock;
        }

        /**
         * @param delayNs how long each request from now on waits before its reply.
         * @param forward whether to answer with the request itself instead of a copy.
         */
        void answer(final long delayNs, final boolean forward)
        {
            this.delayNs = delayNs;
            this.forward = forward;
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage request;
            while (null != (request = socket.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                held.addLast(request);
                due.addLong(clock.nanoTime() + delayNs);
                work++;
            }
            while (!held.isEmpty() && clock.nanoTime() - due.peekLong() >= 0)
            {
                final HomaMessage pending = held.peekFirst();
                try
                {
                    if (forward)
                    {
                        socket.homaReply(pending, pending);
                    }
                    else
                    {
                        final int length = pending.length();
                        pending.getBytes(0, scratch, 0, length);
                        socket.homaReply(pending, scratch, 0, length);
                        pending.release();
                    }
                }
                catch (final HomaLimitException ex)
                {
                    return work;
                }
                held.removeFirst();
                due.removeLong();
                work++;
            }
            return work;
        }
    }

    /**
     * The legitimate client's {@code call()}s: checks each response's bytes as its future completes; a call that was
     * cancelled or had a deadline may end exceptionally instead.
     */
    private static final class Calls implements Steppable
    {
        private final ArrayList<Call> pending = new ArrayList<>();
        private final StringBuilder failures = new StringBuilder();

        private record Call(CompletableFuture<HomaMessage> future, int length, long seed, boolean excused)
        {
        }

        void expect(final CompletableFuture<HomaMessage> future, final int length, final long seed,
            final boolean excused)
        {
            pending.add(new Call(future, length, seed, excused));
        }

        /**
         * The application cancels one of its calls, which aborts the RPC.
         */
        void cancel(final FuzzedDataProvider input)
        {
            if (!pending.isEmpty())
            {
                final int index = input.consumeInt(0, pending.size() - 1);
                final Call call = pending.get(index);
                pending.set(index, new Call(call.future, call.length, call.seed, true));
                call.future.cancel(false);
            }
        }

        @Override
        public int doWork()
        {
            int work = 0;
            for (int i = pending.size() - 1; i >= 0; i--)
            {
                final Call call = pending.get(i);
                if (call.future.isDone())
                {
                    pending.remove(i);
                    work++;
                    verify(call);
                }
            }
            return work;
        }

        private void verify(final Call call)
        {
            final HomaMessage message;
            try
            {
                message = call.future.join();
            }
            catch (final CancellationException | CompletionException ex)
            {
                if (!call.excused)
                {
                    failures.append("call: ").append(ex).append("; ");
                }
                return;
            }
            try
            {
                Cluster.assertPayload(message, call.length, call.seed);
            }
            catch (final AssertionError ex)
            {
                failures.append("call: ").append(ex.getMessage()).append("; ");
            }
            finally
            {
                message.release();
            }
        }
    }

    /**
     * Takes a client socket's responses, and checks the legitimate ones' bytes.
     */
    private static final class Drain implements Steppable
    {
        private final HomaSocket socket;
        private final boolean check;
        private final LongArrayList ids = new LongArrayList();
        private final LongArrayList seeds = new LongArrayList();
        private final LongArrayList lengths = new LongArrayList();
        /** RPCs that may end without their response: aborted, or given a deadline. */
        private final LongHashSet excused = new LongHashSet();
        private final StringBuilder failures = new StringBuilder();

        Drain(final HomaSocket socket, final boolean check)
        {
            this.socket = socket;
            this.check = check;
        }

        void expect(final long id, final int length, final long seed)
        {
            ids.addLong(id);
            lengths.addLong(length);
            seeds.addLong(seed);
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage message;
            while (null != (message = socket.homaRecv(HomaSocket.RECV_RESPONSE)))
            {
                work++;
                if (check)
                {
                    verify(message);
                }
                message.release();
            }
            return work;
        }

        private void verify(final HomaMessage message)
        {
            final int index = ids.indexOf(message.id());
            if (message.isError() && excused.contains(message.id()))
            {
                return;
            }
            if (message.isError() || index < 0)
            {
                failures.append(message.id()).append(": ").append(message.isError() ? message.error() : "unknown")
                    .append("; ");
                return;
            }
            try
            {
                Cluster.assertPayload(message, (int)lengths.getLong(index), seeds.getLong(index));
            }
            catch (final AssertionError ex)
            {
                failures.append(message.id()).append(": ").append(ex.getMessage()).append("; ");
            }
        }
    }
}
