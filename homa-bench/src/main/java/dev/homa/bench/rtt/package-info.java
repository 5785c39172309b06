/**
 * Round-trip benchmarks of the real drivers on two network namespaces: {@link
 * dev.homa.bench.rtt.DriverRttBenchmark} runs every path (AF_PACKET and kernel UDP floors, the raw and UDP drivers as
 * bare echoes, Homa RPCs over each) in one run and prints percentiles and ratios to the floors; {@link
 * dev.homa.bench.rtt.RttEchoServer} is its server process.
 */
package dev.homa.bench.rtt;
