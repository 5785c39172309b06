/**
 * Native memory for the transport's pools: {@link dev.homa.nic.memory.OnDemandMemory} maps memory whose pages the
 * kernel backs only when they are first touched.
 */
package dev.homa.nic.memory;
