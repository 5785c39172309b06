package dev.homa.core;

import dev.homa.core.metrics.HomaMetrics;
import dev.homa.core.wire.PacketType;
import dev.homa.nic.HostAddress;
import dev.homa.nic.NicDriver;
import dev.homa.nic.Packet;
import dev.homa.nic.UnreachableNotice;
import org.agrona.concurrent.CachedNanoClock;

/**
 * "Nothing listens there", both ways, as a kernel host does it. A packet for a port without a socket is answered
 * (homa_dispatch_pkts: ICMP port unreachable), by the driver's medium where it has such a message ({@link
 * NicDriver#sendPortUnreachable}: raw Ethernet) or else with an {@link UnreachableNotice} in band (UDP); at most
 * {@value #ANSWERS_PER_SECOND} a second after a burst of {@value #ANSWER_BURST}, the kernel's default ICMP rate limit
 * (icmp_msgs_per_sec, icmp_msgs_burst). A notice received (the driver turns ICMP into one) ends every RPC with that
 * host and port at once, or with the whole host when it runs no Homa or cannot be reached (homa_err_handler_v4,
 * homa_abort_rpcs): clients get a {@link HomaUnreachableException}, server RPCs end.
 */
final class Unreachable
{
    static final int ANSWERS_PER_SECOND = 1000;
    static final int ANSWER_BURST = 50;
    private static final long NS_PER_ANSWER = 1_000_000_000L / ANSWERS_PER_SECOND;

    private final NicDriver driver;
    private final PacketTransmitter transmitter;
    private final RpcTable rpcs;
    private final HomaMetrics metrics;
    private final CachedNanoClock clock;
    private final int highestPriority;
    private long tokensAtNs;
    private int tokens = ANSWER_BURST;

    /**
     * @param driver      answers in its medium where it can.
     * @param transmitter sends the in-band notice otherwise.
     * @param rpcs        the live RPCs.
     * @param metrics     counters.
     * @param clock       the duty cycle's cached time.
     */
    Unreachable(
        final NicDriver driver,
        final PacketTransmitter transmitter,
        final RpcTable rpcs,
        final HomaMetrics metrics,
        final CachedNanoClock clock)
    {
        this.driver = driver;
        this.transmitter = transmitter;
        this.rpcs = rpcs;
        this.metrics = metrics;
        this.clock = clock;
        this.highestPriority = transmitter.highestPriority();
        this.tokensAtNs = clock.nanoTime();
    }

    /**
     * A packet reached a port without a socket: tell its sender, within the rate limit. Never for a notice.
     *
     * @param packet          the packet (still owned by the caller).
     * @param sourcePort      its source port.
     * @param destinationPort the port nothing listens on.
     * @param senderId        its sender id.
     */
    void answer(final Packet packet, final int sourcePort, final int destinationPort, final long senderId)
    {
        if (UnreachableNotice.isNotice(packet.buffer(), packet.length()) || !takeToken())
        {
            return;
        }
        metrics.increment(HomaMetrics.UNREACHABLE_ANSWERS);
        if (driver.sendPortUnreachable(packet))
        {
            return;
        }
        final long source = packet.source();
        final Packet notice = transmitter.acquire();
        if (null == notice)
        {
            return;
        }
        UnreachableNotice.write(notice.buffer(), destinationPort, sourcePort, senderId ^ 1, UnreachableNotice.PORT);
        notice.length(UnreachableNotice.LENGTH);
        transmitter.transmit(notice, source, highestPriority, PacketType.RPC_UNKNOWN);
    }

    /**
     * A host said nothing listens on a port of it (or on the whole host): end every RPC with it there.
     *
     * @param host host address.
     * @param port the unreachable port (for a host-level code, 0: every port of the host).
     * @param code the ICMP code.
     */
    void onNotice(final long host, final int port, final int code)
    {
        // Port unreachable names one port, 0 included (a packet sent to port 0 draws it); only the host-level
        // codes name the whole host.
        final boolean wholeHost = UnreachableNotice.PORT != code;
        for (Rpc rpc = rpcs.first(); null != rpc; )
        {
            final Rpc next = rpc.allNext;
            if (rpc.peerAddress == host && (wholeHost || rpc.peerPort == port))
            {
                metrics.increment(HomaMetrics.RPCS_UNREACHABLE);
                if (rpc.client)
                {
                    rpcs.failClient(rpc, new HomaUnreachableException(rpc.id, "RPC " + rpc.id + " to " +
                        HostAddress.toString(rpc.peerAddress) + " port " + rpc.peerPort + " failed: " +
                        reason(code, port), false));
                }
                else
                {
                    rpcs.freeRpc(rpc);
                }
            }
            rpc = next;
        }
    }

    private static String reason(final int code, final int port)
    {
        return switch (code)
        {
            case UnreachableNotice.PORT -> "nothing listens on port " + port + " there (port unreachable)";
            case UnreachableNotice.PROTOCOL -> "the host runs no Homa (protocol unreachable)";
            default -> "the host cannot be reached (ICMP destination unreachable, code " + code + ")";
        };
    }

    private boolean takeToken()
    {
        final long nowNs = clock.nanoTime();
        final long earned = (nowNs - tokensAtNs) / NS_PER_ANSWER;
        if (earned > 0)
        {
            tokens = (int)Math.min(ANSWER_BURST, tokens + earned);
            tokensAtNs += earned * NS_PER_ANSWER;
        }
        if (0 == tokens)
        {
            return false;
        }
        tokens--;
        return true;
    }
}
