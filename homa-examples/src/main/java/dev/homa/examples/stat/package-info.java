/**
 * {@code homa-stat}: the counters of running Homa transports, read from another process.
 */
package dev.homa.examples.stat;
