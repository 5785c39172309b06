package dev.homa.nic.udp;

import dev.homa.nic.linux.TransmitQueue;
import io.netty.channel.IoEventLoop;

/**
 * How a {@link UdpDriver} moves datagrams between its packet pool and its sockets. Both datapaths batch the same
 * way: a flush forms GSO runs (two or more consecutive packets to one destination and level, all as long as the
 * first except the last, within 64 segments and the UDP payload limit) and hands each level's datagrams to the
 * kernel in one {@code sendmmsg} on that level's socket, highest level first; a run becomes one {@code UDP_SEGMENT}
 * super-datagram that the kernel segments once, late. A send returns only when the kernel has taken every
 * datagram, so the caller may reuse its packets right away. Received packets go to the driver's
 * {@link ReceiveQueue}. Everything runs on the driver's owner thread.
 */
interface UdpDatapath
{
    /**
     * The driver's owner thread is known: join the loop.
     *
     * @param eventLoop the driver's loop, owned by the calling thread.
     */
    void attach(IoEventLoop eventLoop);

    /**
     * Hand every queued packet to the kernel.
     *
     * @param queue the driver's transmit queue, not empty; the caller clears it.
     * @return wire bytes of the packets, Ethernet and IP overhead included.
     */
    long send(TransmitQueue queue);

    /**
     * @return true if a poll reads the sockets itself ({@link #receiveNow}) rather than through the event loop.
     */
    boolean readsDirectly();

    /**
     * Read the receive sockets now, within the queue's budget (when {@link #readsDirectly()}).
     */
    void receiveNow();

    /**
     * Before the driver blocks in the event loop: make the receive sockets wake it.
     */
    void armForWait();

    /**
     * After the driver's blocking wait.
     */
    void disarmAfterWait();

    /**
     * @return true if a packet's gathered payload goes on the wire from where it lies, with no copy into the packet's
     *         slot (a GSO run's packets are copied together into one staging buffer instead).
     */
    boolean gathersPayload();

    /**
     * @return true if runs to one destination leave as GSO super-datagrams (wanted, supported, not refused so far).
     */
    boolean gsoEnabled();

    /**
     * @return the kernel's receive drops on sockets of the datapath's own (connected ones), owner thread.
     */
    long ownSocketDrops();

    /**
     * Release what the datapath holds beyond the driver's level sockets.
     *
     * @param onOwner true on the loop's owner thread, which may close channels through the loop.
     */
    void close(boolean onOwner);
}
