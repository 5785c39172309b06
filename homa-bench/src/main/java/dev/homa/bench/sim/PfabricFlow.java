package dev.homa.bench.sim;

import java.util.Arrays;

/**
 * One message a pFabric host sends: which packets are acknowledged, which must go again after a timeout, how many
 * are on their way, and the window that limits them. Pooled by its host.
 */
final class PfabricFlow
{
    long flowId;
    long rpcId;
    boolean response;
    int destination;
    long destinationAddress;
    int length;
    int packets;
    int acked;
    int ackedBytes;
    int inFlight;
    int nextNew;
    int resendCount;
    int resendCursor;
    int window;
    long lastProgressNs;
    long rtoNs;
    int sendSlot = -1;
    int timeoutSlot = -1;
    long[] ackedBits = new long[1];
    long[] resendBits = new long[1];

    void reset(
        final long flowId,
        final long rpcId,
        final boolean response,
        final int destination,
        final long destinationAddress,
        final int length,
        final int payloadPerPacket,
        final int window,
        final long rtoNs,
        final long nowNs)
    {
        this.rtoNs = rtoNs;
        this.flowId = flowId;
        this.rpcId = rpcId;
        this.response = response;
        this.destination = destination;
        this.destinationAddress = destinationAddress;
        this.length = length;
        this.packets = Math.max(1, (length + payloadPerPacket - 1) / payloadPerPacket);
        this.acked = 0;
        this.ackedBytes = 0;
        this.inFlight = 0;
        this.nextNew = 0;
        this.resendCount = 0;
        this.resendCursor = 0;
        this.window = window;
        this.lastProgressNs = nowNs;
        final int words = (packets + 63) >>> 6;
        if (ackedBits.length < words)
        {
            ackedBits = new long[words];
            resendBits = new long[words];
        }
        else
        {
            Arrays.fill(ackedBits, 0, words, 0L);
            Arrays.fill(resendBits, 0, words, 0L);
        }
    }

    /**
     * @return bytes not yet acknowledged: the rank of its next packet (pFabric: remaining flow size).
     */
    long remaining()
    {
        return length - ackedBytes;
    }

    /**
     * @return when the packets on their way time out if nothing is acknowledged before.
     */
    long timeoutNs()
    {
        return lastProgressNs + rtoNs;
    }

    /**
     * @return true if the window lets a packet go and there is one to send.
     */
    boolean canSend()
    {
        return inFlight < window && (resendCount > 0 || nextNew < packets);
    }

    /**
     * @param nowNs now.
     * @return the packet to send next (a timed-out one first), marked as on its way.
     */
    int takeNext(final long nowNs)
    {
        if (0 == inFlight++)
        {
            // The timeout runs from the first packet on its way, not from when the message was queued.
            lastProgressNs = nowNs;
        }
        if (resendCount > 0)
        {
            int index = resendCursor;
            while (0 == (resendBits[index >>> 6] & (1L << index)))
            {
                index++;
            }
            resendBits[index >>> 6] &= ~(1L << index);
            resendCount--;
            resendCursor = index + 1;
            return index;
        }
        return nextNew++;
    }

    /**
     * @param index    a packet.
     * @param bytes    its payload.
     * @param nowNs    now.
     * @return true if this acknowledgement completes the flow.
     */
    boolean onAck(final int index, final int bytes, final long nowNs)
    {
        final long bit = 1L << index;
        final int word = index >>> 6;
        if (0 != (ackedBits[word] & bit))
        {
            return false;
        }
        ackedBits[word] |= bit;
        acked++;
        ackedBytes += bytes;
        lastProgressNs = nowNs;
        if (0 != (resendBits[word] & bit))
        {
            // It was due to go again after a timeout but the first copy got through.
            resendBits[word] &= ~bit;
            resendCount--;
        }
        else
        {
            inFlight--;
        }
        return acked == packets;
    }

    /**
     * No acknowledgement for a timeout: everything on its way goes again, one packet at a time (pFabric's probe
     * after a timeout), the window growing back with each acknowledgement.
     *
     * @param nowNs now.
     */
    void onTimeout(final long nowNs)
    {
        for (int index = 0; index < nextNew; index++)
        {
            final long bit = 1L << index;
            final int word = index >>> 6;
            if (0 == (ackedBits[word] & bit) && 0 == (resendBits[word] & bit))
            {
                resendBits[word] |= bit;
                resendCount++;
            }
        }
        resendCursor = 0;
        inFlight = 0;
        window = 1;
        lastProgressNs = nowNs;
    }
}
