package dev.homa.core;

import dev.homa.nic.HostAddress;
import dev.homa.nic.time.VirtualClock;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.function.Consumer;

/**
 * One transport over a {@link FakeDriver} on a virtual clock, driven by the test: each {@link #cycle()} is one duty
 * cycle, each {@link #tick()} moves the clock by one timer tick first. Nothing runs unless the test says so.
 */
final class FakeHost implements AutoCloseable
{
    /** A host no packet from this one ever reaches. */
    static final long PEER = HostAddress.parseIpv4("10.0.0.2");
    static final int PEER_PORT = 99;
    /** The socket's port: bound, so that it takes requests as well as sending them. */
    static final int PORT = 1_000;

    final FakeDriver driver = new FakeDriver();
    final VirtualClock clock = new VirtualClock();
    final HomaTransport transport;
    final HomaSocket socket;
    private final long tickNs;

    /**
     * @param configure settings beyond the driver, the clock and INVOKER mode.
     */
    FakeHost(final Consumer<HomaTransport.Context> configure)
    {
        final HomaTransport.Context ctx = new HomaTransport.Context()
            .driver(driver)
            .clock(clock)
            .threadingMode(ThreadingMode.INVOKER)
            .receivePoolBytes(4 << 20)
            .sendPoolBytes(4 << 20)
            .countersEnabled(false);
        configure.accept(ctx);
        transport = HomaTransport.launch(ctx);
        tickNs = transport.context().tickNs();
        socket = transport.openSocket(PORT);
        cycle();
    }

    /**
     * Send a request of zeros to {@link #PEER}.
     *
     * @param length its length.
     * @return the RPC id.
     */
    long send(final int length)
    {
        return socket.homaSend(PEER, PEER_PORT, new UnsafeBuffer(new byte[length]), 0, length, 0);
    }

    /**
     * Run one duty cycle at the current time.
     */
    void cycle()
    {
        transport.invoker().invoke();
    }

    /**
     * Move the clock by one timer tick and run a duty cycle.
     */
    void tick()
    {
        clock.advanceBy(tickNs);
        cycle();
    }

    @Override
    public void close()
    {
        transport.close();
    }
}
