/**
 * The cluster simulator ({@code homa-sim}, {@link dev.homa.bench.sim.HomaSim}): the real Homa engine on every host
 * of a simulated datacenter network in virtual time, the SIGCOMM 2018 paper's workloads, its ablations and pFabric
 * as the reference, with CSV results and PNG plots. See docs/simulation.md.
 */
package dev.homa.bench.sim;
