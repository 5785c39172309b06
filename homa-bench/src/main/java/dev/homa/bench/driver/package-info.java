/**
 * What the driver benchmarks stand on: two network namespaces joined by a veth pair ({@link
 * dev.homa.bench.driver.VethNamespaces}), and the floors a driver is judged against - a bare {@code AF_PACKET}
 * socket through the FFM API ({@link dev.homa.bench.driver.AfPacketSocket}) with its own minimal system-call
 * bindings ({@link dev.homa.bench.driver.LinuxNet}), kept apart from homa-nic's so the floor shares no code with the
 * driver under test.
 */
package dev.homa.bench.driver;
