package dev.homa.bench.load;

import dev.homa.core.HomaLimitException;
import dev.homa.core.HomaMessage;
import dev.homa.core.HomaSocket;
import dev.homa.core.HomaTransport;
import dev.homa.core.ProtocolIdleStrategy;
import dev.homa.core.ThreadingMode;
import dev.homa.nic.HostAddress;
import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.TimeUnit;

/**
 * The Homa side of a load client: one transport and one socket; a request is {@code homaSend} of the slot's buffer
 * with the slot as its cookie, the response comes back with it. The slot is not written again until its response
 * has come, so the request goes from the slot itself ({@code SEND_NO_COPY}), as the TCP clients write theirs.
 * INVOKER threading (default): the client's one thread runs the protocol between its own steps and sleeps in the
 * driver when idle, as a Netty or NIO client sleeps in epoll. DEDICATED: the transport's own protocol thread, and the
 * client thread blocks in {@code homaRecv}, as an application that sets nothing does.
 */
final class HomaClient extends PollingClient
{
    private final HomaTransport transport;
    private final HomaSocket socket;
    private final long server;
    private final int serverPort;
    private final UnsafeBuffer[] slots;
    private final UnsafeBuffer header = new UnsafeBuffer(new byte[LoadMessage.HEADER_LENGTH]);
    private final boolean dedicated;
    private final boolean full;
    private final boolean verify;
    private final ProtocolIdleStrategy idle;
    private HomaMessage waiting;

    /**
     * @param spec   the client's settings; {@code homaUri} names the driver.
     * @param driver the client logic, for its buffer sizes.
     */
    HomaClient(final LoadSpec spec, final LoadDriver driver)
    {
        dedicated = spec.dedicated();
        transport = HomaTransport.launch(new HomaTransport.Context().driverUri(spec.homaUri)
            .threadingMode(dedicated ? ThreadingMode.DEDICATED : ThreadingMode.INVOKER));
        socket = transport.openSocket(0);
        idle = dedicated ? null : transport.newIdleStrategy();
        server = HostAddress.parseIpv4(spec.server);
        serverPort = spec.homaPort;
        full = spec.verifyFull();
        verify = !spec.verifyNone();
        final int capacity = BitUtil.align(driver.maxMessageLength(), 64);
        slots = new UnsafeBuffer[driver.slots()];
        for (int i = 0; i < slots.length; i++)
        {
            slots[i] = new UnsafeBuffer(BufferUtil.allocateDirectAligned(capacity, 64));
            LoadMessage.fill(slots[i], capacity, i);
        }
    }

    @Override
    public boolean send(final int slot, final long sequence, final int requestLength, final int responseLength)
    {
        LoadMessage.writeHeader(slots[slot], 0, sequence, responseLength, slot);
        try
        {
            socket.homaSend(server, serverPort, slots[slot], 0, requestLength, slot, HomaSocket.SEND_NO_COPY);
            return true;
        }
        catch (final HomaLimitException ex)
        {
            return false;
        }
    }

    @Override
    int pollIo(final LoadDriver driver)
    {
        int work = dedicated ? 0 : transport.doWork();
        HomaMessage message = waiting;
        waiting = null;
        if (null == message)
        {
            message = socket.homaRecv(HomaSocket.RECV_RESPONSE);
        }
        while (null != message)
        {
            final int slot = (int)message.cookie();
            final int status = message.isError() ? -1 : check(message, driver, slot);
            message.release();
            driver.onResponse(slot, status, System.nanoTime());
            work++;
            message = socket.homaRecv(HomaSocket.RECV_RESPONSE);
        }
        if (0 != work && null != idle)
        {
            idle.reset();
        }
        return work;
    }

    private int check(final HomaMessage message, final LoadDriver driver, final int slot)
    {
        if (!driver.isBusy(slot) || message.length() != driver.responseLengthOf(slot))
        {
            return LoadMessage.BAD_LENGTH;
        }
        message.getBytes(0, header, 0, LoadMessage.HEADER_LENGTH);
        if (LoadMessage.sequence(header, 0) != driver.sequenceOf(slot) || LoadMessage.slot(header, 0) != slot)
        {
            return LoadMessage.BAD_HEADER;
        }
        if (!verify)
        {
            return LoadMessage.OK;
        }
        final int patternSlot = driver.patternSlotOf(slot);
        int at = 0;
        for (int i = 0; i < message.segmentCount(); i++)
        {
            final DirectBuffer segment = message.segment(i);
            final int length = Math.min(segment.capacity(), message.length() - at);
            final int status = LoadMessage.verifyPayload(
                segment, 0, length, at, patternSlot, driver.sequenceOf(slot), message.length(), full);
            if (LoadMessage.OK != status)
            {
                return status;
            }
            at += length;
        }
        return LoadMessage.OK;
    }

    @Override
    void idle(final long maxWaitNs)
    {
        if (dedicated)
        {
            waiting = socket.homaRecv(HomaSocket.RECV_RESPONSE, maxWaitNs, TimeUnit.NANOSECONDS);
        }
        else
        {
            idle.idleUpTo(maxWaitNs);
        }
    }

    @Override
    void wake()
    {
        // Commands from the runner are rare; a sleeping client sees them within IDLE_MAX_NS.
    }

    @Override
    public void close()
    {
        socket.close();
        transport.close();
    }

    /**
     * @return the transport, for its counters.
     */
    HomaTransport transport()
    {
        return transport;
    }
}
