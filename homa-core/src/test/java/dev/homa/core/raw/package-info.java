/**
 * Tests of the protocol engine over the raw Ethernet driver between network namespaces, in one JVM: its frames
 * against a kernel's wire format, and ICMP "unreachable" from a real stack. Those with two JVMs are in
 * homa-system-tests.
 */
package dev.homa.core.raw;
