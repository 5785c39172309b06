/**
 * {@code homa-load}: request/response load over Homa and over TCP (Java NIO and Netty) with one process layout and
 * one framing, closed or open loop, fixed sizes or the paper's workloads, on loopback or between two network
 * namespaces; {@link dev.homa.bench.load.LoadGenerator} is the command, {@link dev.homa.bench.load.LoadRunner} its
 * {@code run}.
 * <p>
 * Every client thread that sleeps until an open-loop arrival first sets its timer slack to 1 ns, whatever its
 * transport, so that no transport is measured from arrivals the kernel woke it late for.
 */
package dev.homa.bench.load;
