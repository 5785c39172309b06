/**
 * {@code homa-ping}: a Homa RPC echo server and a client that measures round-trip times over any driver (selected
 * by URI) and prints percentiles from an HdrHistogram, with a switch that writes a pcap of the frames on the wire.
 */
package dev.homa.examples.ping;
