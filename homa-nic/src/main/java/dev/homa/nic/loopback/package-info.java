/**
 * The in-memory fabric: many hosts in one JVM, instant or timed in virtual time, with strict-priority switch ports
 * and seeded faults.
 * <ul>
 * <li>{@link dev.homa.nic.loopback.Fabric} (built with {@link dev.homa.nic.loopback.Fabric#builder()}) is the
 * network: hosts, links, one output-queued switch or a {@link dev.homa.nic.loopback.Topology} of racks and spines,
 * fault injectors, trace listeners and counters.</li>
 * <li>{@link dev.homa.nic.loopback.FabricDriver} is one host's {@link dev.homa.nic.NicDriver}: a fixed packet pool,
 * a receive queue and, in timed mode, a FIFO NIC serializing at link rate with an exact
 * {@link dev.homa.nic.NicDriver#queuedBytes()}.</li>
 * <li>{@link dev.homa.nic.loopback.SwitchPort} is a switch egress port (towards a host, or between a ToR and a
 * spine): up to eight strict-priority queues with tail drop at the buffer limit, or pFabric's rank order, counters
 * per level, busy/idle time of the link.</li>
 * <li>{@link dev.homa.nic.loopback.FaultInjector} and {@link dev.homa.nic.loopback.RandomFaultInjector} inject loss,
 * corruption, duplication and reordering per directed link, seeded ({@link dev.homa.nic.loopback.Seeds}).</li>
 * <li>{@link dev.homa.nic.loopback.FabricTraceListener} sees every packet event;
 * {@link dev.homa.nic.loopback.FabricTraceRecorder} records them and digests a run for replay comparison.</li>
 * <li>{@link dev.homa.nic.loopback.FabricDriver#arrivalListener} tells an event-driven simulation which host has
 * input.</li>
 * <li>{@link dev.homa.nic.loopback.FabricSimulation} drives {@link dev.homa.nic.loopback.Steppable} agents and the
 * fabric together in virtual time.</li>
 * </ul>
 * Everything here is single-threaded: the thread that drives the scheduler owns the fabric.
 */
package dev.homa.nic.loopback;
