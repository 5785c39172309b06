package dev.homa.nic.udp;

import dev.homa.nic.HostAddress;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollDatagramChannelConfig;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.Socket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * The sockets of one UDP driver: eight bound to the same address and port with {@code SO_REUSEPORT}, one per
 * priority level ({@code IP_TOS = level << 5}, {@code SO_PRIORITY = level}, 6 for level 7 without
 * {@code CAP_NET_ADMIN}), with a classic BPF reuseport program ({@link PrioritySteering}) that chooses which of them
 * receives a datagram: the first one for all (its {@code IP_RECVTOS} control message names the level), or the one
 * of the datagram's level. Also opens the sockets connected to one peer that join the same group.
 */
final class LevelSockets
{
    private static final int SO_PRIORITY = 12;
    private static final int GRO_RECEIVE_BUFFER_LENGTH = 65_536 + 4096;
    private static final Logger LOGGER = LoggerFactory.getLogger(UdpDriver.class);

    private final EpollDatagramChannel[] channels = new EpollDatagramChannel[UdpDriver.PRIORITY_LEVELS];
    private final UdpDriverContext context;
    private final int maxPacketLength;
    private final long localAddress;
    private final boolean gro;
    private final boolean singleReceiver;
    private final boolean steered;
    /** Smallest receive buffer the kernel gave any of the sockets, as it reports it. */
    private int receiveBufferBytes = Integer.MAX_VALUE;
    private final SocketDrops socketDrops = new SocketDrops();

    /**
     * Open and bind the eight sockets and attach the steering program.
     *
     * @param context         the driver's settings.
     * @param maxPacketLength largest packet.
     * @param groWanted       whether to receive with UDP GRO where the kernel has it.
     * @param singleWanted    whether one socket should receive everything (it then needs the level per datagram).
     * @throws IllegalStateException if the port is taken or a socket cannot be opened or bound (nothing stays open).
     */
    LevelSockets(
        final UdpDriverContext context, final int maxPacketLength, final boolean groWanted, final boolean singleWanted)
    {
        this.context = context;
        this.maxPacketLength = maxPacketLength;
        final long bind = context.bindAddress();
        int port = HostAddress.portOf(bind);
        if (0 == port || !context.sharePort())
        {
            try
            {
                port = claimPort(new InetSocketAddress(inet(HostAddress.ipv4Of(bind)), port));
            }
            catch (final IOException | ChannelException ex)
            {
                throw new IllegalStateException("cannot bind UDP port " + HostAddress.toString(bind), ex);
            }
        }
        boolean groActive = groWanted;
        boolean single = false;
        boolean attached = false;
        try
        {
            final InetAddress bindIp = inet(HostAddress.ipv4Of(bind));
            for (int level = 0; level < channels.length; level++)
            {
                final EpollDatagramChannel channel = new EpollDatagramChannel(SocketProtocolFamily.INET);
                channels[level] = channel;
                groActive = configure(channel, level, groActive);
                final Socket socket = (Socket)channel.fd();
                socket.bind(new InetSocketAddress(bindIp, port));
            }
            if (groActive != groWanted)
            {
                for (final EpollDatagramChannel channel : channels)
                {
                    channel.config().setUdpGro(false);
                    channel.config().setMaxDatagramPayloadSize(maxPacketLength + 1);
                    channel.config().setRecvByteBufAllocator(recvAllocator(false));
                }
            }
            final Socket first = (Socket)channels[0].fd();
            if (singleWanted)
            {
                try
                {
                    PrioritySteering.attachFirstSocketOnly(first);
                    if (context.receiveTos())
                    {
                        first.setIntOpt(PrioritySteering.IPPROTO_IP, PrioritySteering.IP_RECVTOS, 1);
                    }
                    single = true;
                    attached = true;
                }
                catch (final IOException | ChannelException ex)
                {
                    LOGGER.info("single receive socket unavailable, reading all eight: {}", ex.toString());
                }
            }
            if (!single)
            {
                try
                {
                    PrioritySteering.attach(first);
                    attached = true;
                }
                catch (final IOException | ChannelException ex)
                {
                    LOGGER.warn("priority steering unavailable, received packets report priority -1: {}",
                        ex.toString());
                }
            }
        }
        catch (final IOException | ChannelException ex)
        {
            closeAll();
            throw new IllegalStateException("cannot open UDP sockets on " + HostAddress.toString(bind), ex);
        }
        gro = groActive;
        singleReceiver = single;
        steered = attached;
        localAddress = HostAddress.ipv4(HostAddress.ipv4Of(bind), port);
    }

    /**
     * Bind the port once without {@code SO_REUSEPORT} (and without {@code SO_REUSEADDR}), which the kernel refuses
     * if any socket holds the address and port already, and release it again for the driver's reuseport group.
     * Without this a second driver on the same port would join the first one's group and silently take part of
     * its traffic. Port 0 needs it as much: the kernel picks an automatic port for a socket with {@code SO_REUSEPORT}
     * among those free and those held by other reuseport sockets of the same user, so a driver could land in
     * another process's group (each then receiving part of the other's traffic); for a socket without it, only
     * among the free ones.
     *
     * @param address the address and port, 0 for any free one.
     * @return the port claimed.
     */
    private static int claimPort(final InetSocketAddress address) throws IOException
    {
        final Socket probe = Socket.newSocketDgram();
        try
        {
            probe.bind(address);
            return probe.localAddress().getPort();
        }
        catch (final IOException | ChannelException ex)
        {
            if (String.valueOf(ex.getMessage()).contains("in use"))
            {
                throw new IllegalStateException(0 == address.getPort() ?
                    "no free UDP port on " + address.getAddress().getHostAddress() + ": every port of the range " +
                    "for automatic ports (net.ipv4.ip_local_port_range) is in use" :
                    "UDP port " + address.getAddress().getHostAddress() + ":" + address.getPort() +
                    " is already in use by another socket; choose another port, or pass share=true " +
                    "(UdpDriverContext.sharePort) to serve it together with that socket");
            }
            throw ex;
        }
        finally
        {
            probe.close();
        }
    }

    private boolean configure(final EpollDatagramChannel channel, final int level, final boolean groWanted)
        throws IOException
    {
        final EpollDatagramChannelConfig config = channel.config();
        config.setReusePort(true);
        config.setOption(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, Boolean.TRUE);
        applyLevel(channel, level);
        noteReceiveBuffer(SocketBuffers.apply((Socket)channel.fd(), context.socketReceiveBufferBytes(),
            context.socketSendBufferBytes()));
        config.setAllocator(PooledByteBufAllocator.DEFAULT);
        config.setWriteBufferWaterMark(new WriteBufferWaterMark(Integer.MAX_VALUE - 1, Integer.MAX_VALUE));
        config.setAutoRead(true);

        boolean groActive = groWanted;
        if (groActive)
        {
            try
            {
                config.setUdpGro(true);
            }
            catch (final ChannelException ex)
            {
                LOGGER.info("UDP_GRO unavailable, receiving without it: {}", ex.toString());
                groActive = false;
            }
        }
        // Netty reports GRO segment sizes only on its single-datagram recvmsg path: with GRO one read is one
        // coalesced super-datagram; without it recvmmsg fills a batch of datagrams one byte larger than the
        // largest packet so that an oversize datagram shows up as such instead of silently truncated.
        config.setMaxDatagramPayloadSize(groActive ? 0 : maxPacketLength + 1);
        config.setRecvByteBufAllocator(recvAllocator(groActive));
        return groActive;
    }

    private void noteReceiveBuffer(final int bytes)
    {
        receiveBufferBytes = Math.min(receiveBufferBytes, bytes);
    }

    /**
     * {@return the smallest receive buffer of the driver's sockets, as the kernel reports it: twice the bytes it
     * took, less than twice {@link UdpDriverContext#socketReceiveBufferBytes()} where {@code net.core.rmem_max} capped
     * it}
     */
    int receiveBufferBytes()
    {
        return receiveBufferBytes;
    }

    private FixedRecvByteBufAllocator recvAllocator(final boolean groActive)
    {
        final int bufferLength = groActive ? GRO_RECEIVE_BUFFER_LENGTH :
            (maxPacketLength + 1) * context.receiveBatch();
        final FixedRecvByteBufAllocator allocator = new FixedRecvByteBufAllocator(bufferLength);
        allocator.maxMessagesPerRead(Math.max(16, context.receiveBatch() * 4));
        return allocator;
    }

    /**
     * A socket of the driver's address and port connected to one peer, configured like the level's socket (and
     * like the receive socket: IP_RECVTOS, GRO as active); it joins the port's reuseport group, where the kernel
     * prefers it for that peer's datagrams.
     *
     * @param destination the peer.
     * @param level       the level it sends at.
     * @return the socket, or null (logged) if the kernel refused it.
     */
    EpollDatagramChannel openConnected(final long destination, final int level)
    {
        EpollDatagramChannel channel = null;
        try
        {
            channel = new EpollDatagramChannel(SocketProtocolFamily.INET);
            final EpollDatagramChannelConfig config = channel.config();
            config.setReusePort(true);
            applyLevel(channel, level);
            final Socket socket = (Socket)channel.fd();
            noteReceiveBuffer(SocketBuffers.apply(socket, context.socketReceiveBufferBytes(),
                context.socketSendBufferBytes()));
            if (gro)
            {
                config.setUdpGro(true);
            }
            if (context.receiveTos())
            {
                socket.setIntOpt(PrioritySteering.IPPROTO_IP, PrioritySteering.IP_RECVTOS, 1);
            }
            socket.bind(new InetSocketAddress(inet(HostAddress.ipv4Of(localAddress)),
                HostAddress.portOf(localAddress)));
            socket.connect(new InetSocketAddress(inet(HostAddress.ipv4Of(destination)),
                HostAddress.portOf(destination)));
            LOGGER.debug("udp driver {}: connected socket to {} at level {}", HostAddress.toString(localAddress),
                HostAddress.toString(destination), level);
            return channel;
        }
        catch (final IOException | ChannelException ex)
        {
            LOGGER.warn("udp driver {}: no connected socket to {}, sending unconnected: {}",
                HostAddress.toString(localAddress), HostAddress.toString(destination), ex.toString());
            if (null != channel)
            {
                close(channel);
            }
            return null;
        }
    }

    /**
     * Move a connected socket to another level.
     *
     * @return false (logged) if the kernel refused.
     */
    boolean relevel(final EpollDatagramChannel channel, final int level)
    {
        try
        {
            applyLevel(channel, level);
            LOGGER.debug("udp driver {}: connected socket {} moved to level {}", HostAddress.toString(localAddress),
                channel.fd().intValue(), level);
            return true;
        }
        catch (final IOException | ChannelException ex)
        {
            LOGGER.warn("udp driver {}: connected socket stays at its level: {}", HostAddress.toString(localAddress),
                ex.toString());
            return false;
        }
    }

    private static void applyLevel(final EpollDatagramChannel channel, final int level) throws IOException
    {
        // IP_TOS also resets the socket's skb priority, so SO_PRIORITY must come after it.
        channel.config().setTrafficClass(level << 5);
        final Socket socket = (Socket)channel.fd();
        try
        {
            socket.setIntOpt(PrioritySteering.SOL_SOCKET, SO_PRIORITY, level);
        }
        catch (final IOException | ChannelException ex)
        {
            // Priorities above 6 need CAP_NET_ADMIN; the DSCP still carries the full level. (Netty reports the
            // refusal as an unchecked ChannelException despite the declared IOException.)
            socket.setIntOpt(PrioritySteering.SOL_SOCKET, SO_PRIORITY, Math.min(level, 6));
        }
    }

    /**
     * The kernel's receive drops, summed over the sockets that receive: the first one alone when it receives
     * everything ({@link #singleReceiver()}), else all eight; a socket that is never sent to drops nothing. Any
     * thread.
     *
     * @return datagrams the kernel dropped for full receive buffers.
     */
    synchronized long kernelDrops()
    {
        final int receivers = singleReceiver ? 1 : channels.length;
        long drops = 0;
        for (int level = 0; level < receivers; level++)
        {
            drops += socketDrops.read(channels[level]);
        }
        return drops;
    }

    /**
     * Close the level sockets' descriptors; those closed already are skipped.
     */
    void closeAll()
    {
        for (final EpollDatagramChannel channel : channels)
        {
            if (null != channel)
            {
                close(channel);
            }
        }
    }

    static void close(final EpollDatagramChannel channel)
    {
        try
        {
            channel.fd().close();
        }
        catch (final IOException ignore)
        {
            // closing a socket that is already closed
        }
    }

    static InetAddress inet(final int ipv4) throws UnknownHostException
    {
        return InetAddress.getByAddress(new byte[] {
            (byte)(ipv4 >>> 24), (byte)(ipv4 >>> 16), (byte)(ipv4 >>> 8), (byte)ipv4 });
    }

    EpollDatagramChannel channel(final int level)
    {
        return channels[level];
    }

    EpollDatagramChannel[] channels()
    {
        return channels;
    }

    long localAddress()
    {
        return localAddress;
    }

    boolean gro()
    {
        return gro;
    }

    boolean singleReceiver()
    {
        return singleReceiver;
    }

    boolean steered()
    {
        return steered;
    }

    int socketPriority(final int level) throws IOException
    {
        return ((Socket)channels[level].fd()).getIntOpt(PrioritySteering.SOL_SOCKET, SO_PRIORITY);
    }

    int socketTos(final int level) throws IOException
    {
        return ((Socket)channels[level].fd()).getTrafficClass();
    }
}
