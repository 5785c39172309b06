/**
 * JMH benchmarks of the wire format: header encode and decode against a raw buffer access floor.
 */
package dev.homa.bench.wire;
