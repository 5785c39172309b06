/**
 * Internal: the single-threaded Homa protocol engine (not exported). {@link dev.homa.core.engine.HomaEngine} is an
 * Agrona agent whose duty cycle drains application commands, polls the driver, runs the 1 ms timer and paces
 * DATA out in SRPT order; the other classes are its pooled state: RPCs, outbound and inbound messages, peers and
 * the off-heap page pools.
 */
package dev.homa.core.engine;
