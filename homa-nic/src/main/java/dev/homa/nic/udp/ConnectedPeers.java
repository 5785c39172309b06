package dev.homa.nic.udp;

import io.netty.channel.epoll.EpollDatagramChannel;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * Sockets connected to single peers ({@link UdpDriverContext#connectedPeers(int)}, native datapath): the first
 * peers sent a lone datagram get a socket of the driver's address and port connected to them, inside the reuseport
 * group. The kernel prefers it for that peer's datagrams and keeps its routes cached both ways, which an unconnected
 * socket cannot, so neither direction pays a route lookup. Each connected socket is read on every poll, so this
 * suits hosts with a few peers.
 */
final class ConnectedPeers
{
    private final LevelSockets sockets;
    private final UdpCounters counters;
    private final NativeReceiver receiver;
    private final int limit;
    private final Long2ObjectHashMap<Peer> peers = new Long2ObjectHashMap<>();
    private final SocketDrops socketDrops = new SocketDrops();

    /**
     * @param sockets  opens the sockets.
     * @param counters counts them and their sends.
     * @param receiver reads them.
     * @param limit    most peers that get one; 0 for none.
     */
    ConnectedPeers(
        final LevelSockets sockets, final UdpCounters counters, final NativeReceiver receiver, final int limit)
    {
        this.sockets = sockets;
        this.counters = counters;
        this.receiver = receiver;
        this.limit = limit;
    }

    /**
     * The socket a lone datagram to this peer at this level leaves on, opened on the first one to the peer while
     * fewer than the limit are open.
     *
     * @param destination the peer.
     * @param level       the datagram's level.
     * @return the socket's descriptor, or -1 to send on the level's unconnected socket.
     */
    int socketFor(final long destination, final int level)
    {
        if (0 == limit)
        {
            return -1;
        }
        Peer peer = peers.get(destination);
        if (null == peer)
        {
            if (peers.size() >= limit)
            {
                return -1;
            }
            final EpollDatagramChannel socket = sockets.openConnected(destination, level);
            // A refusal (logged) is not asked again for this peer, which keeps the unconnected path and its place
            // among the limit.
            peer = new Peer(socket, level);
            if (null != socket)
            {
                counters.onConnectedSocket();
                receiver.addSocket(socket.fd());
            }
            peers.put(destination, peer);
        }
        if (!peer.takes(level))
        {
            return -1;
        }
        counters.onConnectedSend();
        return peer.fd;
    }

    /**
     * Owner thread.
     *
     * @return the kernel's receive drop counts of the connected sockets, summed.
     */
    long kernelDrops()
    {
        long drops = 0;
        for (final Peer peer : peers.values())
        {
            if (peer.fd >= 0)
            {
                drops += socketDrops.read(peer.socket);
            }
        }
        return drops;
    }

    void closeAll()
    {
        for (final Peer peer : peers.values())
        {
            if (peer.fd >= 0)
            {
                LevelSockets.close(peer.socket);
            }
        }
        peers.clear();
    }

    /**
     * A peer's connected socket ({@code fd} -1 if opening one was refused) and the level its {@code IP_TOS} is set
     * to. The level follows the peer's lone datagrams with hysteresis: after {@link #RELEVEL_AFTER} in a row at
     * another level the socket moves to that level (a first request goes out before the receiver's cutoffs are
     * known, often one level off the one its successors use). Changing {@code IP_TOS} drops the socket's cached
     * route, so alternating levels must not flip it back and forth.
     */
    private final class Peer
    {
        private static final int RELEVEL_AFTER = 8;

        private final EpollDatagramChannel socket;
        private final int fd;
        private int level;
        private int misses;

        Peer(final EpollDatagramChannel socket, final int level)
        {
            this.socket = socket;
            this.fd = null == socket ? -1 : socket.fd().intValue();
            this.level = level;
        }

        /**
         * @param packetLevel a lone datagram's level.
         * @return true if it goes on this socket.
         */
        boolean takes(final int packetLevel)
        {
            if (fd < 0)
            {
                return false;
            }
            if (packetLevel == level)
            {
                misses = 0;
                return true;
            }
            if (++misses < RELEVEL_AFTER)
            {
                return false;
            }
            misses = 0;
            if (!sockets.relevel(socket, packetLevel))
            {
                return false;
            }
            counters.onConnectedRelevel();
            level = packetLevel;
            return true;
        }
    }
}
