/**
 * JMH benchmarks of the protocol engine's steady-state receive and send paths, per packet, with a memcpy floor.
 */
package dev.homa.bench.engine;
