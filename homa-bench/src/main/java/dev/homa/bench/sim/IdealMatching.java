package dev.homa.bench.sim;

import dev.homa.core.wire.DataHeaderFlyweight;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.SwitchPort;
import dev.homa.nic.loopback.Topology;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.PriorityQueue;
import java.util.TreeSet;

/**
 * The ideal of the SRPT family (transport {@code ideal}), what Homa and pFabric approximate with the decisions of
 * each host: a central scheduler that knows every message the instant it is issued and at every instant serves the
 * greedy SRPT matching of senders to receivers (the messages in order of bytes left, each taking its sender's uplink
 * and its receiver's downlink if no shorter message holds either), at the host links' rate, with no control packet,
 * queue or retransmission. Only the host links are modelled: the paper's network has as much capacity between racks
 * as in them. The requests and their times are the cluster runs' own ({@link Arrivals}); a server answers each
 * request the instant it is whole. A message's completion time is its time in this model plus what the idle network
 * adds to its transmission time (the switches' and links' latency), so on an idle network its slowdown is 1.
 * <p>
 * It is not a bound on every measure: with no share for the oldest message it starves long messages while shorter
 * ones keep coming, so a transport with such a share can deliver more of a short window's long messages; and a
 * greedy matching is not the most a network can carry (a matching that weighs backlogs carries more, at the short
 * messages' expense).
 * <p>
 * The matching changes only when a message is issued or ends: a message being served only gets shorter, so it
 * never loses its links to one that waits. Each change is repaired from the links it freed, which reaches the one
 * greedy matching of the new order.
 */
final class IdealMatching
{
    private static final class Message
    {
        final int sender;
        final int receiver;
        final long seq;
        final int bytes;
        final long wireBytes;
        final double issuedNs;
        /** For a response, its request; null for a request. */
        final Message request;
        /** What the idle network adds to this message's transmission time, ns. */
        final double latencyNs;
        boolean measured;
        boolean done;
        /** Bytes left at {@link #sinceNs} while served; bytes left while waiting. */
        double left;
        double sinceNs;
        boolean served;
        long version;

        Message(final int sender, final int receiver, final long seq, final int bytes, final long wireBytes,
            final double issuedNs, final Message request, final double latencyNs)
        {
            this.sender = sender;
            this.receiver = receiver;
            this.seq = seq;
            this.bytes = bytes;
            this.wireBytes = wireBytes;
            this.issuedNs = issuedNs;
            this.request = request;
            this.latencyNs = latencyNs;
            this.left = wireBytes;
        }
    }

    private record Completion(double atNs, Message message, long version)
    {
    }

    private final RunSpec spec;
    private final Workload workload;
    private final IdleTimes idle;
    private final int hosts;
    private final double bytesPerNs;
    private final int payloadPerPacket;
    private final int packetOverhead;
    private final long responseWireBytes;
    private final Measurements measurements;
    private final Arrivals[] arrivals;
    private final TreeSet<Message>[] waitingOut;
    private final TreeSet<Message>[] waitingIn;
    private final Message[] uplink;
    private final Message[] downlink;
    private final double[] received;
    private final double[] downlinkBusyNs;
    private final PriorityQueue<Completion> completions = new PriorityQueue<>(
        (a, b) -> 0 != Double.compare(a.atNs, b.atNs) ? Double.compare(a.atNs, b.atNs) :
            Long.compare(a.message.seq, b.message.seq));
    private final ArrayDeque<Integer> freed = new ArrayDeque<>();
    private final LinkedHashSet<Message> measuredOutstanding = new LinkedHashSet<>();
    private double nowNs;
    private long seq;
    private boolean verifying;

    /**
     * @param spec what to run: its topology's host count and link rate, workload, load, seed and windows.
     */
    @SuppressWarnings("unchecked")
    IdealMatching(final RunSpec spec)
    {
        this.spec = spec;
        this.workload = spec.workload();
        final Topology topology = spec.topology();
        this.hosts = topology.hosts();
        this.bytesPerNs = topology.hostLinkBitsPerSecond() / 8e9;
        this.payloadPerPacket = Fabric.DEFAULT_MAX_PACKET_LENGTH - DataHeaderFlyweight.HEADER_LENGTH;
        this.packetOverhead = DataHeaderFlyweight.HEADER_LENGTH + Fabric.DEFAULT_WIRE_OVERHEAD_BYTES;
        this.idle = new IdleTimes(topology, payloadPerPacket, packetOverhead, spec.responseBytes());
        this.responseWireBytes = Workload.wireBytes(spec.responseBytes(), payloadPerPacket, packetOverhead);
        this.measurements = new Measurements(workload.bucketCount(), hosts, this::downlinkBusyPs, spec.warmupNs(),
            spec.endNs(), bytesPerNs);
        final double wirePerRpc = workload.meanWireBytes(payloadPerPacket, packetOverhead) + responseWireBytes;
        final double meanGapNs = spec.fanout() * wirePerRpc / (spec.load() * bytesPerNs);
        arrivals = new Arrivals[hosts];
        waitingOut = new TreeSet[hosts];
        waitingIn = new TreeSet[hosts];
        for (int i = 0; i < hosts; i++)
        {
            arrivals[i] = new Arrivals(i, hosts, workload, spec.seed(), meanGapNs, spec.fanout());
            waitingOut[i] = new TreeSet<>(IdealMatching::order);
            waitingIn[i] = new TreeSet<>(IdealMatching::order);
        }
        uplink = new Message[hosts];
        downlink = new Message[hosts];
        received = new double[hosts];
        downlinkBusyNs = new double[hosts];
    }

    /**
     * Check after every event that the matching is the one greedy matching, computed afresh (for tests: it costs a
     * sort of every message in flight per event).
     *
     * @return this.
     */
    IdealMatching verifying()
    {
        verifying = true;
        return this;
    }

    private static int order(final Message a, final Message b)
    {
        final int byLeft = Double.compare(a.left, b.left);
        return 0 != byLeft ? byLeft : Long.compare(a.seq, b.seq);
    }

    /**
     * Run to the end: the window, then until every RPC of the window is over or the drain limit passes.
     *
     * @return what it measured (no packets, queues or counters: the model has none).
     */
    RunResult run()
    {
        final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        final long cpuStart = threads.getCurrentThreadCpuTime();
        final long wallStart = System.nanoTime();
        final long[] checkpoints = {spec.warmupNs(), spec.warmupNs() + spec.windowNs() / 2, spec.endNs()};
        final long[] receivedAtStart = new long[hosts];
        final long[] secondHalf = new long[2];
        long windowReceived = 0;
        long windowReceivable = 0;
        int checkpoint = 0;
        final long stopNs = spec.endNs() + spec.drainNs();
        while (true)
        {
            int nextHost = -1;
            long arrivalNs = Long.MAX_VALUE;
            for (int i = 0; i < hosts; i++)
            {
                if (arrivals[i].nextNs() < arrivalNs)
                {
                    arrivalNs = arrivals[i].nextNs();
                    nextHost = i;
                }
            }
            while (!completions.isEmpty() && completions.peek().version != completions.peek().message.version)
            {
                completions.poll();
            }
            final double completionNs = completions.isEmpty() ? Double.MAX_VALUE : completions.peek().atNs;
            final double checkpointNs = checkpoint < checkpoints.length ? checkpoints[checkpoint] : Double.MAX_VALUE;
            final double next = Math.min(checkpointNs, Math.min(completionNs, arrivalNs));
            if (next > stopNs || (next > spec.endNs() && 0 == measurements.measuredOutstanding()))
            {
                break;
            }
            nowNs = next;
            if (checkpointNs == next)
            {
                settle();
                switch (checkpoint++)
                {
                    case 0 ->
                    {
                        measurements.onWindowStart(spec.warmupNs());
                        for (int i = 0; i < hosts; i++)
                        {
                            receivedAtStart[i] = (long)received[i];
                        }
                    }
                    case 1 ->
                    {
                        secondHalf[0] = -measurements.sentWireBytes();
                        secondHalf[1] = -(long)Arrays.stream(received).sum();
                    }
                    default ->
                    {
                        measurements.onWindowEnd(spec.endNs());
                        secondHalf[0] += measurements.sentWireBytes();
                        secondHalf[1] += (long)Arrays.stream(received).sum();
                        for (int i = 0; i < hosts; i++)
                        {
                            windowReceived += (long)received[i] - receivedAtStart[i];
                            windowReceivable += (long)measurements.receivableWireBytes(i, receivedAtStart[i]);
                        }
                    }
                }
            }
            else if (completionNs == next)
            {
                complete(completions.poll().message);
            }
            else
            {
                final Arrivals source = arrivals[nextHost];
                source.draw();
                for (int i = 0; i < source.fanout(); i++)
                {
                    issueRequest(nextHost, source.destination(i), source.size(i));
                }
            }
            if (verifying)
            {
                verify();
            }
        }
        for (final Message request : measuredOutstanding)
        {
            final double elapsedNs = nowNs - request.issuedNs;
            if (!request.done)
            {
                measurements.onMeasuredIncomplete(workload.bucketOf(request.bytes),
                    idle.slowdown(elapsedNs, request.bytes, request.sender, request.receiver));
            }
            measurements.onMeasuredRpc(idle.rpcSlowdown(elapsedNs, request.bytes, request.sender, request.receiver));
        }
        final double[] tierBusy = new double[2 * Tier.values().length];
        Arrays.fill(tierBusy, Double.NaN);
        return measurements.result(spec, workload, hosts, windowReceived, windowReceivable, secondHalf,
            new long[SwitchPort.LEVELS], new long[SwitchPort.LEVELS], tierBusy, 0, 0, (long)nowNs,
            System.nanoTime() - wallStart, threads.getCurrentThreadCpuTime() - cpuStart,
            new java.util.LinkedHashMap<>());
    }

    private long downlinkBusyPs(final int host)
    {
        final Message m = downlink[host];
        return (long)((downlinkBusyNs[host] + (null == m ? 0 : nowNs - m.sinceNs)) * 1000);
    }

    private double latencyNs(final int bytes, final long wireBytes, final int sender, final int receiver)
    {
        return idle.idlePs(bytes, idle.sameRack(sender, receiver)) / 1000.0 - wireBytes / bytesPerNs;
    }

    private void issueRequest(final int client, final int server, final int bytes)
    {
        final long wireBytes = Workload.wireBytes(bytes, payloadPerPacket, packetOverhead);
        final Message m = new Message(client, server, seq++, bytes, wireBytes, nowNs, null,
            latencyNs(bytes, wireBytes, client, server));
        measurements.onSent(server, wireBytes, (long)nowNs);
        if (measurements.measures((long)nowNs))
        {
            m.measured = true;
            measuredOutstanding.add(m);
            measurements.onMeasuredRequest(wireBytes + responseWireBytes);
        }
        issue(m);
    }

    private void issue(final Message m)
    {
        waitingOut[m.sender].add(m);
        waitingIn[m.receiver].add(m);
        if (before(m, uplink[m.sender]) && before(m, downlink[m.receiver]))
        {
            serve(m);
        }
        repair();
    }

    /** @return true if waiting message {@code m} goes before {@code current}, or there is none. */
    private boolean before(final Message m, final Message current)
    {
        if (null == current)
        {
            return true;
        }
        final double left = leftNow(current);
        return m.left < left || (m.left == left && m.seq < current.seq);
    }

    private void complete(final Message m)
    {
        account(m);
        m.served = false;
        m.done = true;
        m.version++;
        uplink[m.sender] = null;
        downlink[m.receiver] = null;
        freed.add(m.sender);
        freed.add(hosts + m.receiver);
        final long atNs = (long)nowNs;
        measurements.onDelivered(m.receiver, atNs);
        if (null == m.request)
        {
            if (m.measured)
            {
                measurements.onMeasuredBytes(m.wireBytes);
                measurements.onMeasuredDone(workload.bucketOf(m.bytes),
                    idle.slowdown(nowNs - m.issuedNs + m.latencyNs, m.bytes, m.sender, m.receiver));
            }
            measurements.onSent(m.sender, responseWireBytes, atNs);
            issue(new Message(m.receiver, m.sender, seq++, spec.responseBytes(), responseWireBytes, nowNs, m,
                latencyNs(spec.responseBytes(), responseWireBytes, m.receiver, m.sender)));
        }
        else if (m.request.measured)
        {
            final Message request = m.request;
            measuredOutstanding.remove(request);
            measurements.onMeasuredBytes(responseWireBytes);
            measurements.onMeasuredRpcEnded();
            measurements.onMeasuredRpc(idle.rpcSlowdown(nowNs - request.issuedNs + request.latencyNs + m.latencyNs,
                request.bytes, request.sender, request.receiver));
        }
        repair();
    }

    /** Bring every message being served up to now, so that the bytes received so far are exact. */
    private void settle()
    {
        for (final Message m : downlink)
        {
            if (null != m)
            {
                account(m);
            }
        }
    }

    private void account(final Message m)
    {
        final double bytes = (nowNs - m.sinceNs) * bytesPerNs;
        received[m.receiver] += bytes;
        downlinkBusyNs[m.receiver] += nowNs - m.sinceNs;
        m.left -= bytes;
        m.sinceNs = nowNs;
    }

    private void serve(final Message m)
    {
        waitingOut[m.sender].remove(m);
        waitingIn[m.receiver].remove(m);
        displace(uplink[m.sender], true);
        displace(downlink[m.receiver], false);
        uplink[m.sender] = m;
        downlink[m.receiver] = m;
        m.served = true;
        m.sinceNs = nowNs;
        m.version++;
        completions.add(new Completion(nowNs + m.left / bytesPerNs, m, m.version));
    }

    private void displace(final Message current, final boolean atSender)
    {
        if (null == current)
        {
            return;
        }
        account(current);
        current.served = false;
        current.version++;
        if (atSender)
        {
            downlink[current.receiver] = null;
            freed.add(hosts + current.receiver);
        }
        else
        {
            uplink[current.sender] = null;
            freed.add(current.sender);
        }
        waitingOut[current.sender].add(current);
        waitingIn[current.receiver].add(current);
    }

    /**
     * Serve, at each link whose holder changed for the worse (none, or displaced) since it was last looked at, the
     * best waiting message that beats the holders of both its links, until no link is left to look at. A link freed
     * may be taken again, by a message found from its other end, before its own turn: it is looked at all the same,
     * as a shorter message may still want it.
     */
    private void repair()
    {
        while (!freed.isEmpty())
        {
            final int link = freed.poll();
            final boolean isUplink = link < hosts;
            final int host = isUplink ? link : link - hosts;
            final Message holder = isUplink ? uplink[host] : downlink[host];
            for (final Message m : isUplink ? waitingOut[host] : waitingIn[host])
            {
                if (!before(m, holder))
                {
                    break;
                }
                if (before(m, isUplink ? downlink[m.receiver] : uplink[m.sender]))
                {
                    serve(m);
                    break;
                }
            }
        }
    }

    private void verify()
    {
        final java.util.List<Message> all = new java.util.ArrayList<>();
        for (int i = 0; i < hosts; i++)
        {
            all.addAll(waitingOut[i]);
            if (null != uplink[i])
            {
                all.add(uplink[i]);
            }
        }
        all.sort((a, b) ->
        {
            final int byLeft = Double.compare(leftNow(a), leftNow(b));
            return 0 != byLeft ? byLeft : Long.compare(a.seq, b.seq);
        });
        final Message[] up = new Message[hosts];
        final Message[] down = new Message[hosts];
        for (final Message m : all)
        {
            if (null == up[m.sender] && null == down[m.receiver])
            {
                up[m.sender] = m;
                down[m.receiver] = m;
            }
        }
        if (!Arrays.equals(up, uplink) || !Arrays.equals(down, downlink))
        {
            final StringBuilder why = new StringBuilder();
            for (int i = 0; i < hosts; i++)
            {
                if (up[i] != uplink[i] || down[i] != downlink[i])
                {
                    why.append(" host ").append(i).append(" up ").append(describe(up[i])).append(" vs ")
                        .append(describe(uplink[i])).append(" down ").append(describe(down[i])).append(" vs ")
                        .append(describe(downlink[i]));
                }
            }
            throw new IllegalStateException("not the greedy SRPT matching at " + nowNs + " ns:" + why);
        }
    }

    private String describe(final Message m)
    {
        return null == m ? "-" : m.seq + "(" + m.sender + "->" + m.receiver + " left " + leftNow(m) + ")";
    }

    private double leftNow(final Message m)
    {
        return m.served ? m.left - (nowNs - m.sinceNs) * bytesPerNs : m.left;
    }
}
