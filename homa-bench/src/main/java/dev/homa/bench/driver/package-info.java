/**
 * What the driver benchmarks stand on: two network namespaces joined by a veth pair ({@link
 * dev.homa.bench.driver.VethNamespaces}), and the floors a driver is judged against - a bare {@code AF_PACKET}
 * socket through the FFM API ({@link dev.homa.bench.driver.AfPacketSocket}). The floor calls the C library
 * through the drivers' bindings ({@code dev.homa.nic.linux}, which the benchmarks reach from the class path), one
 * downcall per system call with nothing in between, but sets up its socket, ring and loop itself, so that it shares
 * no logic with the driver under test.
 */
package dev.homa.bench.driver;
