package dev.homa.nic.loopback;

import dev.homa.nic.time.VirtualTimeScheduler;
import org.agrona.DirectBuffer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What a {@link Fabric} reports about its packets: each event to the trace listeners, stamped with the virtual
 * time, and the count of drops by {@link DropReason}.
 */
final class FabricEvents
{
    private final VirtualTimeScheduler scheduler;
    private final long[] drops = new long[DropReason.COUNT];
    private FabricTraceListener[] listeners = new FabricTraceListener[0];

    FabricEvents(final VirtualTimeScheduler scheduler)
    {
        this.scheduler = scheduler;
    }

    void add(final FabricTraceListener listener)
    {
        final FabricTraceListener[] grown = Arrays.copyOf(listeners, listeners.length + 1);
        grown[listeners.length] = listener;
        listeners = grown;
    }

    void remove(final FabricTraceListener listener)
    {
        final List<FabricTraceListener> kept = new ArrayList<>(Arrays.asList(listeners));
        kept.remove(listener);
        listeners = kept.toArray(new FabricTraceListener[0]);
    }

    long drops(final int reason)
    {
        return drops[reason];
    }

    long drops()
    {
        long sum = 0;
        for (final long value : drops)
        {
            sum += value;
        }
        return sum;
    }

    void drop(
        final int reason,
        final long source,
        final long destination,
        final int priority,
        final DirectBuffer buffer,
        final int length)
    {
        drops[reason]++;
        trace(FabricTraceListener.DROPPED, reason, source, destination, priority, buffer, length);
    }

    void trace(final int event, final int detail, final Frame frame)
    {
        trace(event, detail, frame.source, frame.destination, frame.priority, frame.buffer, frame.length);
    }

    void trace(
        final int event,
        final int detail,
        final long source,
        final long destination,
        final int priority,
        final DirectBuffer buffer,
        final int length)
    {
        final FabricTraceListener[] listeners = this.listeners;
        if (0 != listeners.length)
        {
            final long nowNs = scheduler.nowNs();
            for (final FabricTraceListener listener : listeners)
            {
                listener.onPacketEvent(event, detail, nowNs, source, destination, priority, buffer, length);
            }
        }
    }
}
