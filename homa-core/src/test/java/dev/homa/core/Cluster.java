package dev.homa.core;

import dev.homa.nic.NicDriver;
import dev.homa.nic.loopback.Fabric;
import dev.homa.nic.loopback.FabricSimulation;
import dev.homa.nic.loopback.Steppable;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Test support: one {@link HomaTransport} per fabric host, all in INVOKER mode on the fabric's virtual clock, driven
 * together with application agents by a {@link FabricSimulation}. Errors thrown inside any duty cycle are collected
 * and fail {@link #assertNoErrors()}.
 */
final class Cluster implements AutoCloseable
{
    final Fabric fabric;
    final FabricSimulation sim;
    final HomaTransport[] transports;
    final List<Throwable> errors = new ArrayList<>();
    final HostStep[] steps;

    Cluster(final Fabric fabric, final Consumer<HomaTransport.Context> configure)
    {
        this(fabric, fabric.hostCount(), configure);
    }

    /** Transports only on the first {@code hosts} fabric hosts; the others stay raw drivers (test traffic). */
    Cluster(final Fabric fabric, final int hosts, final Consumer<HomaTransport.Context> configure)
    {
        this(fabric, hosts, configure, (index, driver) -> driver);
    }

    /**
     * As above, each transport's driver passed through {@code wrap} (host index, fabric driver) first, e.g. to
     * inject packets or count what a host sends.
     */
    Cluster(
        final Fabric fabric,
        final int hosts,
        final Consumer<HomaTransport.Context> configure,
        final java.util.function.BiFunction<Integer, NicDriver, NicDriver> wrap)
    {
        this.fabric = fabric;
        this.sim = new FabricSimulation(fabric);
        transports = new HomaTransport[hosts];
        steps = new HostStep[hosts];
        for (int i = 0; i < transports.length; i++)
        {
            final HomaTransport.Context ctx = new HomaTransport.Context()
                .driver(wrap.apply(i, fabric.driverAt(i)))
                .clock(fabric.clock())
                .threadingMode(ThreadingMode.INVOKER)
                .receivePoolBytes(32L << 20)
                .sendPoolBytes(32L << 20)
                .errorHandler(errors::add);
            configure.accept(ctx);
            final HomaTransport transport = HomaTransport.launch(ctx);
            transports[i] = transport;
            steps[i] = new HostStep(transport, fabric.driverAt(i));
            sim.add(steps[i]);
        }
    }

    /**
     * Make a host slow: its duty cycle runs at most once per interval (a busy or descheduled host), so it answers
     * grants late.
     */
    Cluster slowHost(final int host, final long intervalNs)
    {
        steps[host].intervalNs = intervalNs;
        return this;
    }

    /** Runs one transport's duty cycle; optionally at most once per interval. */
    final class HostStep implements Steppable
    {
        final HomaTransport transport;
        final dev.homa.nic.loopback.FabricDriver driver;
        long intervalNs;
        long nextRunNs;

        HostStep(final HomaTransport transport, final dev.homa.nic.loopback.FabricDriver driver)
        {
            this.transport = transport;
            this.driver = driver;
        }

        @Override
        public int doWork()
        {
            if (transport.isClosed())
            {
                return 0;
            }
            if (0 == intervalNs)
            {
                return transport.doWork();
            }
            final long now = sim.nowNs();
            if (now < nextRunNs)
            {
                return 0;
            }
            nextRunNs = now + intervalNs;
            transport.doWork();
            return 0;
        }

        @Override
        public long nextDeadlineNs()
        {
            if (transport.isClosed())
            {
                return Long.MAX_VALUE;
            }
            final long deadline = transport.nextDeadlineNs();
            if (0 == intervalNs)
            {
                return deadline;
            }
            if (driver.receiveQueueDepth() > 0 || deadline <= nextRunNs)
            {
                return Math.max(nextRunNs, sim.nowNs());
            }
            return deadline;
        }
    }

    long address(final int host)
    {
        return Fabric.hostAddress(host);
    }

    HomaTransport transport(final int host)
    {
        return transports[host];
    }

    HomaEngine engine(final int host)
    {
        return transports[host].engine();
    }

    Cluster add(final Steppable app)
    {
        sim.add(app);
        return this;
    }

    boolean runUntil(final BooleanSupplier stop, final long limitNs)
    {
        return sim.runUntil(stop, sim.nowNs() + limitNs);
    }

    /**
     * Run until {@code server} has a request, and release it.
     *
     * @return true if one came within {@code limitNs} of virtual time.
     */
    boolean runUntilRequestReleased(final HomaSocket server, final long limitNs)
    {
        return runUntil(() ->
        {
            final HomaMessage request = server.homaRecv(HomaSocket.RECV_REQUEST);
            if (null == request)
            {
                return false;
            }
            request.release();
            return true;
        }, limitNs);
    }

    void assertNoErrors()
    {
        if (!errors.isEmpty())
        {
            final AssertionError error = new AssertionError("errors in duty cycles: " + errors.size());
            errors.forEach(error::addSuppressed);
            throw error;
        }
    }

    @Override
    public void close()
    {
        for (final HomaTransport transport : transports)
        {
            if (null != transport)
            {
                transport.close();
            }
        }
        fabric.close();
    }

    /** Fill a buffer with bytes derived from a seed so a payload can be checked byte for byte. */
    static void fill(final UnsafeBuffer buffer, final int length, final long seed)
    {
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < length; i++)
        {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            buffer.putByte(i, (byte)x);
        }
    }

    /** Assert a received message equals {@link #fill} of the seed. */
    static void assertPayload(final HomaMessage message, final int length, final long seed)
    {
        assertEquals(length, message.length(), "length");
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        int index = 0;
        for (int s = 0; s < message.segmentCount(); s++)
        {
            final org.agrona.DirectBuffer segment = message.segment(s);
            for (int i = 0; i < segment.capacity(); i++, index++)
            {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                if ((byte)x != segment.getByte(i))
                {
                    throw new AssertionError("payload differs at byte " + index + " of " + length);
                }
            }
        }
        assertEquals(length, index, "bytes covered by segments");
    }

    /** Checks a payload without the generator state, by hashing: cheap enough for 10,000 RPCs. */
    static long hash(final HomaMessage message)
    {
        long h = 0xCBF29CE484222325L;
        for (int s = 0; s < message.segmentCount(); s++)
        {
            final org.agrona.DirectBuffer segment = message.segment(s);
            final int n = segment.capacity();
            int i = 0;
            for (; i + 8 <= n; i += 8)
            {
                h = (h ^ segment.getLong(i)) * 0x100000001B3L;
            }
            for (; i < n; i++)
            {
                h = (h ^ segment.getByte(i)) * 0x100000001B3L;
            }
        }
        return h;
    }

    /**
     * An echo server: answers every request with the same bytes.
     */
    static final class EchoServer implements Steppable
    {
        final HomaSocket socket;
        final UnsafeBuffer scratch = new UnsafeBuffer(new byte[1_000_000]);
        long served;

        EchoServer(final HomaSocket socket)
        {
            this.socket = socket;
        }

        @Override
        public int doWork()
        {
            int work = 0;
            HomaMessage request;
            while (null != (request = socket.homaRecv(HomaSocket.RECV_REQUEST)))
            {
                final int length = request.length();
                request.getBytes(0, scratch, 0, length);
                socket.homaReply(request, scratch, 0, length);
                request.release();
                served++;
                work++;
            }
            return work;
        }
    }

    static void check(final boolean condition, final String message)
    {
        assertTrue(condition, message);
    }
}
